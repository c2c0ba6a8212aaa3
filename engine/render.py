"""`nucleate render`: a spec becomes a self-contained run directory.

The directory holds everything needed to reproduce the run: `in.lammps` (standard LAMMPS with
`fix plumed`, so it runs unchanged on an HPC build), `plumed.dat`, `system.data`,
`groups.json`, the model file(s), and `manifest.json` (spec, seeds, versions, input hashes,
command line).
"""

from __future__ import annotations

import datetime as _dt
import errno
import importlib.metadata as md
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from nucleate import __version__
from nucleate import validate as check
from nucleate.systems.elements import MASSES
from nucleate.errors import NucleateError
from nucleate.systems import Groups, read_data
from nucleate.templates import render

from . import rundir as rd
from .manifest import new_manifest, spec_of_rendered_run
from .plumed_input import check_plumed_input, plumed_units
from .spec import RunSpec


log = logging.getLogger(__name__)


def component_versions() -> dict[str, str]:
    """Versions of every component, without importing the heavy ones."""
    versions = {"nucleate": __version__, "python": platform.python_version()}
    for dist in ("lammps", "deepmd-kit", "tensorflow-cpu", "tensorflow", "numpy", "MDAnalysis", "hillclimber",
                 "jinja2", "mpich"):
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            continue
    versions["plumed"] = plumed_version()
    return versions


def plumed_version() -> str:
    try:
        from nucleate.runtime import plumed_cli

        cmd, env = plumed_cli()
        out = subprocess.run(cmd + ["info", "--long-version"], env=env, capture_output=True, text=True, timeout=30)
        return out.stdout.strip().splitlines()[-1] if out.returncode == 0 and out.stdout.strip() else "unknown"
    except (NucleateError, OSError, subprocess.SubprocessError):
        return "not installed"


def model_names(spec: RunSpec) -> list[str]:
    """File names the models get inside the run directory."""
    names = []
    for k, model in enumerate(spec.potential.deepmd):
        stem = "model" if k == 0 else f"model_{k}"
        names.append(stem + model.suffix)
    return names


def masses_for(spec: RunSpec, data) -> list[dict]:
    rows = []
    for t, element in enumerate(spec.system.type_map, start=1):
        mass = data.masses.get(t) or MASSES.get(element)
        if mass is None:
            raise NucleateError(f"no mass for type {t} ({element}): give it in the data file's Masses section")
        rows.append({"type": t, "mass": mass, "element": element})
    return rows


def model_deviation_file(spec: RunSpec, start_step: int = 0) -> str:
    """DeePMD truncates its out_file when LAMMPS starts, so each continued segment gets its own."""
    name = str(spec.potential.model_deviation.get("out_file", "model_devi.out"))
    if start_step == 0:
        return name
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.from-step-{start_step}.{suffix}" if dot else f"{name}.from-step-{start_step}"


def pair_lines(spec: RunSpec, start_step: int = 0) -> tuple[str, list[str]]:
    pot = spec.potential
    if pot.is_deepmd:
        names = model_names(spec)
        line = "pair_style      deepmd " + " ".join(names)
        if pot.model_deviation:
            out_freq = int(pot.model_deviation.get("out_freq", spec.output.thermo))
            line += f" out_freq {out_freq} out_file {model_deviation_file(spec, start_step)}"
            if pot.model_deviation.get("atomic"):
                line += " atomic"  # per-atom force deviations after the 7 standard columns
        return line, ["pair_coeff      * * " + " ".join(spec.system.type_map)]
    return "pair_style      " + pot.pair_style, ["pair_coeff      " + c for c in pot.pair_coeff]


def lammps_input(spec: RunSpec, *, mode: str, has_plumed: bool, continuation: bool = False,
                 start_step: int = 0, restart_file: str = rd.RESTART_END, input_name: str = rd.INPUT,
                 data=None, restart_toggle: tuple[str, str] = rd.RESTART_TOGGLE, native: dict | None = None) -> str:
    """Render in.lammps; mode "hpc" uses `fix plumed`, "local" the in-process coupling.  `native` (hpc
    mode, a segment of nucleate's native-LAMMPS engine, engine/native.py) gives plumed_file, plumed_log,
    log_file (appended to), target_step (`run N upto`), timeout_s (`timer timeout`), end_restart and
    step_file (the state and step where the segment ended)."""
    data = data or read_data(spec.system.data)
    pair_style_line, pair_coeff_lines = pair_lines(spec, start_step if continuation else 0)
    md_ = spec.md
    context = dict(
        version=__version__, name=spec.name, spec_source=check.printable(spec.source or "a Python RunSpec"), mode=mode,
        input_name=input_name, continuation=continuation, start_step=start_step,
        restart_file=restart_file, restart_toggle=restart_toggle, data_file=rd.DATA, masses=masses_for(spec, data),
        pair_style_line=pair_style_line, pair_coeff_lines=pair_coeff_lines,
        timestep_ps=md_.timestep_ps, timestep_fs=md_.timestep_fs,
        plumed=has_plumed, plumed_file=rd.PLUMED, plumed_log="plumed.log", log_file=None, target_step=None,
        timeout_s=None, end_restart=None, step_file=None,
        initial_temperature_K=md_.temperature_K if md_.initial_temperature_K is None else md_.initial_temperature_K,
        velocity_seed=spec.velocity_seed, thermostat=md_.thermostat, thermostat_seed=md_.seed,
        temperature_K=md_.temperature_K, tdamp_ps=md_.tdamp_ps,
        minimize=md_.minimize and not continuation, minimize_force=md_.minimize_force_eV_per_A,
        minimize_iterations=md_.minimize_max_iterations,
        minimize_hold=_held_ids(spec, data) if md_.minimize and not continuation else None,
        thermo=spec.output.thermo, thermo_file=rd.THERMO, dump=spec.output.dump, dump_file=rd.DUMP,
        checkpoint=spec.output.checkpoint, steps=md_.steps,
    )
    unknown = set(native or {}) - {"plumed_file", "plumed_log", "log_file", "target_step", "timeout_s", "end_restart",
                                   "step_file"}
    if unknown or (native and mode != "hpc"):
        raise ValueError(f"lammps_input: native settings {sorted(unknown)} (mode {mode!r})")
    context.update(native or {})
    text = render("lammps/in.lammps.j2", **context)
    check_lammps_commands(text)
    return text


def _held_ids(spec: RunSpec, data) -> str | None:
    """LAMMPS id ranges ("1:12 20") of md.minimize_hold's group, or None."""
    name = spec.md.minimize_hold
    if name is None:
        return None
    groups = load_groups(spec, data)
    if name not in groups.groups or groups.groups[name].size == 0:
        raise NucleateError(f"md.minimize_hold: group {name!r} is not in {spec.system.groups or 'the groups'} "
                            f"(or is empty); known: {', '.join(groups.names)}")
    ids = np.unique(groups.groups[name].astype(np.int64))
    breaks = np.flatnonzero(np.diff(ids) != 1)
    starts, ends = np.r_[ids[0], ids[breaks + 1]], np.r_[ids[breaks], ids[-1]]
    return " ".join(f"{a}:{b}" if b > a else f"{a}" for a, b in zip(starts, ends))


# Every command in.lammps.j2 writes. Spec values are validated before rendering; this is the
# second line of defence: a value that still smuggled in a line would show up here as a command
# of its own (`shell`, `include`, `python`, ...) and is refused instead of written.
LAMMPS_COMMANDS = frozenset({
    "units", "boundary", "atom_style", "atom_modify", "neighbor", "neigh_modify", "read_restart", "read_data",
    "mass", "pair_style", "pair_coeff", "compute", "timestep", "min_style", "minimize", "reset_timestep", "fix",
    "group", "unfix",
    "fix_modify", "velocity", "thermo", "thermo_style", "thermo_modify", "variable", "dump", "dump_modify",
    "restart", "run",
    "log", "timer", "write_restart", "print",  # a native-LAMMPS segment's log, time limit and end (engine/native.py)
})


def check_lammps_commands(text: str) -> None:
    """Each line of a generated in.lammps is blank, a comment, or one expected command."""
    for lineno, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        # LAMMPS joins a line ending in '&' with the next one before it looks for comments
        if stripped.endswith("&"):
            raise NucleateError(f"generated in.lammps line {lineno} ends in a '&' continuation: {line!r}; "
                                "a spec value must have changed the input (please report this)")
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.split()[0] not in LAMMPS_COMMANDS:
            raise NucleateError(f"generated in.lammps line {lineno} is not one expected command: {line!r}; "
                                "a spec value must have changed the input (please report this)")


def load_groups(spec: RunSpec, data) -> Groups:
    if spec.system.groups is not None:
        groups = Groups.read(spec.system.groups)
        if groups.natoms != data.natoms:
            raise NucleateError(f"groups file {spec.system.groups} describes {groups.natoms} atoms, "
                                f"but the data file {spec.system.data} has {data.natoms}")
        return groups
    from nucleate.systems import import_data

    return import_data(spec.system.data, spec.system.type_map)[1]


def check_system(spec: RunSpec, data) -> None:
    n_map = len(spec.system.type_map)
    if data.ntypes != n_map:
        raise NucleateError(
            f"data file {spec.system.data} declares {data.ntypes} atom types, but the type map "
            f"{spec.system.type_map} has {n_map} entries; they must match one to one (type 1 = {spec.system.type_map[0]}, ...)")


def plumed_text(spec: RunSpec, groups: Groups, data, *, restart: bool = False) -> str | None:
    if not spec.plumed:
        return None
    if "file" in spec.plumed:
        path = Path(spec.plumed["file"])
        try:
            return path.read_text()
        except UnicodeDecodeError as exc:
            raise NucleateError(f"plumed.file {path} is not a text file (byte {exc.start} is not UTF-8); "
                                "give the PLUMED input file") from None
    try:
        from nucleate.plumed_cvs import render_plumed
    except ImportError as exc:
        raise NucleateError(f"the PLUMED CV library is not available ({exc}); give plumed.file instead") from None
    return render_plumed(spec.plumed, groups, data, temperature_K=spec.md.temperature_K, restart=restart)


START_BIAS_WARN_KT = 5.0  # walls + restraints at t = 0 above this many kT: the start is outside its walls


def start_bias(spec: RunSpec, groups: Groups, data):
    """Walls, restraints and guards of a generated plumed: section on the start configuration, evaluated
    by PLUMED (nucleate.plumed_cvs.static_bias); warns, naming the walls, when the start is outside them.
    None for runs without a generated PLUMED input (no plumed:, or a verbatim file)."""
    if not spec.plumed or "file" in spec.plumed:
        return None
    from nucleate.plumed_cvs.static_bias import start_bias as evaluate

    start = evaluate(spec.plumed, groups, data, temperature_K=spec.md.temperature_K)
    if start.total_kT > START_BIAS_WARN_KT:
        worst = ", ".join(f"{label} {value:.3g}" for label, value in start.largest())
        log.warning("%s starts outside its walls: %.3g %s of walls and restraints at t = 0 (%.0f kT), most in %s; "
                    "the first steps will be pulled into place by large forces. Build the box with plumed_preset "
                    "set (nucleate build ... --plumed-preset NAME) or prepare it first (nucleate prepare)",
                    spec.system.data, start.total, start.energy_unit, start.total_kT, worst)
    return start


def render_run(spec: RunSpec, outdir: str | Path, *, overwrite: bool = False,
               command_line: list[str] | None = None) -> rd.RunDirectory:
    run = rd.RunDirectory(outdir)
    if run.path.exists() and any(run.path.iterdir()):
        if not overwrite:
            what = "a run" if run.exists else "files"
            raise NucleateError(
                f"{run.path} already holds {what}; use `nucleate run {run.path} --continue` to extend it, "
                "--overwrite to replace it (the old directory is kept beside it), or another -o")
        if run.is_locked():
            raise NucleateError(f"{run.path} is in use by a running process; it cannot be replaced now")
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        kept = run.path.with_name(f"{run.path.name}.replaced-{stamp}")
        run.path.rename(kept)
        log.warning("previous contents of %s moved to %s", run.path, kept)

    data = read_data(spec.system.data)
    check_system(spec, data)
    groups = load_groups(spec, data)
    plumed = plumed_text(spec, groups, data)
    start = start_bias(spec, groups, data)

    # Build in a temporary sibling of this process's own and move into place: no half-written run
    # directory, and two renders of one target never share a folder (the second finds the target taken).
    run.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{run.path.name}.rendering-", dir=run.path.parent))
    tmp.chmod(0o755)  # mkdtemp's 0700 would hide the run from the group on a shared cluster
    try:
        shutil.copyfile(spec.system.data, tmp / rd.DATA)
        groups.write(tmp / rd.GROUPS)
        for model, name in zip(spec.potential.deepmd, model_names(spec)):
            shutil.copyfile(model, tmp / name)
        if plumed is not None:
            (tmp / rd.PLUMED).write_text(plumed)
            check_plumed_input(tmp / rd.PLUMED)
        (tmp / rd.INPUT).write_text(lammps_input(spec, mode="hpc", has_plumed=plumed is not None, data=data))
        hashes = {p.name: rd.sha256(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        manifest = new_manifest(spec, natoms=data.natoms, models=model_names(spec),
                                plumed_units=plumed_units(plumed) if plumed is not None else None,
                                start_bias=start.to_dict() if start is not None else None,
                                versions=component_versions(), input_hashes=hashes, command_line=command_line)
        rd.write_json_atomic(tmp / rd.MANIFEST, manifest)
        _move_into_place(tmp, run.path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return run


def _move_into_place(tmp: Path, target: Path) -> None:
    """rename() replaces an empty directory atomically and fails on a non-empty one: a render that
    lost the race to another process is refused instead of mixing two runs."""
    try:
        os.rename(tmp, target)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise NucleateError(f"{target} was created by another process meanwhile; nothing was written "
                                "(use another -o, or continue that run)") from None
        raise NucleateError(f"cannot create {target}: {exc.strerror or exc}") from None


def spec_from_rundir(run: rd.RunDirectory) -> RunSpec:
    """The spec of a rendered run, pointing at the copies inside the run directory (the run runs its
    own copies): engine.manifest.spec_of_rendered_run."""
    return spec_of_rendered_run(run)
