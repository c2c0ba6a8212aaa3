"""`nucleate render`: a self-contained run directory whose in.lammps is standard LAMMPS."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from nucleate.engine.render import lammps_input, render_run
from nucleate.engine.spec import RunSpec
from nucleate.errors import NucleateError
from nucleate.templates import render

from conftest import toy_spec, write_data

PLUMED = "UNITS LENGTH=A ENERGY=kcal/mol TIME=fs\nd: DISTANCE ATOMS=1,2\nPRINT ARG=d FILE=COLVAR STRIDE=1\n"


@pytest.fixture
def spec(tmp_path):
    data = write_data(tmp_path / "two.data", [np.array([5.0, 5.0, 5.0]), np.array([8.0, 5.5, 5.0])], [1, 1])
    return RunSpec.from_dict(toy_spec(tmp_path, data, plumed=PLUMED, steps=7, thermostat="nose-hoover",
                                      initial_temperature=None))


def test_run_directory_is_self_contained(spec, tmp_path):
    run = render_run(spec, tmp_path / "run", command_line=["nucleate", "render", "x"])
    names = {p.name for p in run.path.iterdir()}
    assert {"in.lammps", "plumed.dat", "system.data", "groups.json", "manifest.json"} <= names
    manifest = json.loads((run.path / "manifest.json").read_text())
    assert manifest["plumed_units"] == {"energy": "kcal/mol", "length": "a", "time": "fs"}
    assert manifest["seeds"] == {"velocity": 4242, "thermostat": 4242}
    assert manifest["command_line"] == ["nucleate", "render", "x"]
    for name, digest in manifest["input_hashes"].items():
        assert hashlib.sha256((run.path / name).read_bytes()).hexdigest() == digest
    for key in ("lammps", "deepmd-kit", "plumed", "nucleate", "MDAnalysis"):
        assert key in manifest["versions"]
    assert (run.path / "plumed.dat").read_text() == PLUMED  # a user's file is used verbatim


def test_hpc_input_uses_fix_plumed_and_differs_from_local_only_there(spec, tmp_path):
    hpc = lammps_input(spec, mode="hpc", has_plumed=True)
    local = lammps_input(spec, mode="local", has_plumed=True)
    assert "fix             plumed all plumed plumedfile plumed.dat outfile plumed.log" in hpc
    assert "run             7" in hpc
    assert "velocity        all create 300 4242 dist gaussian mom yes" in hpc
    assert "fix             integrate all nvt temp 300 300 0.05" in hpc  # tdamp 50 fs in ps
    assert "timestep        0.001" in hpc
    only_hpc = [l for l in hpc.splitlines() if l not in local.splitlines() and not l.startswith("#")]
    assert only_hpc == ["fix             plumed all plumed plumedfile plumed.dat outfile plumed.log",
                        "run             7"]


def test_hpc_input_is_valid_lammps_apart_from_fix_plumed(spec, tmp_path):
    """Swap only the fix plumed line for fix external and let LAMMPS itself run the HPC file."""
    from nucleate.runtime import lammps_class

    run = render_run(spec, tmp_path / "run")
    text = (run.path / "in.lammps").read_text().replace(
        "fix             plumed all plumed plumedfile plumed.dat outfile plumed.log",
        "fix             plumed all external pf/callback 1 1")
    lmp = lammps_class()(cmdargs=["-log", "none", "-screen", "none"])
    import os

    cwd = os.getcwd()
    os.chdir(run.path)
    try:
        setup, run_line = text.rsplit("run ", 1)
        lmp.commands_string(setup)
        lmp.set_fix_external_callback("plumed", lambda *args: args[-1].fill(0.0))
        lmp.command("run " + run_line)
        assert lmp.extract_global("ntimestep") == 7
    finally:
        lmp.close()
        os.chdir(cwd)


def test_templates_are_strict():
    with pytest.raises(NucleateError, match="required value"):
        render("lammps/in.lammps.j2", version="x")


@pytest.mark.parametrize("thermostat,needle", [
    ("langevin", "fix             thermostat all langevin 300 300 0.05 4242 zero yes"),
    ("csvr", "fix             thermostat all temp/csvr 300 300 0.05 4242"),
    ("nve", "fix             integrate all nve"),
])
def test_thermostats(tmp_path, thermostat, needle):
    data = write_data(tmp_path / "two.data", [np.array([5.0, 5.0, 5.0]), np.array([8.0, 5.5, 5.0])], [1, 1])
    spec = RunSpec.from_dict(toy_spec(tmp_path, data, plumed=None, thermostat=thermostat))
    assert needle in lammps_input(spec, mode="hpc", has_plumed=False)


def test_model_deviation_line(tmp_path):
    data = write_data(tmp_path / "two.data", [np.array([5.0, 5.0, 5.0]), np.array([8.0, 5.5, 5.0])], [1, 1],
                      masses=[107.8682])
    m1, m2 = tmp_path / "a.pb", tmp_path / "b.pb"
    m1.write_bytes(b"x")
    m2.write_bytes(b"y")
    spec = RunSpec.from_dict(toy_spec(tmp_path, data, plumed=None, type_map=["Ag"], potential={
        "deepmd": [str(m1), str(m2)], "model_deviation": {"out_freq": 10, "out_file": "md.out"}}))
    text = lammps_input(spec, mode="hpc", has_plumed=False)
    assert "pair_style      deepmd model.pb model_1.pb out_freq 10 out_file md.out" in text
    assert "pair_coeff      * * Ag" in text
    spec.potential.model_deviation["atomic"] = True
    assert "out_file md.out atomic\n" in lammps_input(spec, mode="hpc", has_plumed=False)
    with pytest.raises(NucleateError, match=r"potential.model_deviation: unknown key\(s\) per_atom"):
        RunSpec.from_dict(toy_spec(tmp_path, data, plumed=None, type_map=["Ag"], potential={
            "deepmd": [str(m1), str(m2)], "model_deviation": {"per_atom": True}}))
