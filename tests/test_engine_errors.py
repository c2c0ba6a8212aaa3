"""Every error a user can cause: a clear message naming the file/line/value, a non-zero exit,
nothing already written lost."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import yaml

from nucleate.engine.render import render_run
from nucleate.engine.runner import execute
from nucleate.engine.spec import RunSpec, load_spec
from nucleate.errors import NucleateError

from conftest import read_table, toy_spec, write_data

TWO = [np.array([5.0, 5.0, 5.0]), np.array([8.0, 5.5, 5.0])]


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "nucleate.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_missing_model_file(tmp_path):
    data = write_data(tmp_path / "a.data", TWO, [1, 1])
    spec = toy_spec(tmp_path, data, plumed=None, potential={"deepmd": str(tmp_path / "nope.pb")})
    with pytest.raises(NucleateError, match=r"DeePMD model .*nope\.pb does not exist"):
        RunSpec.from_dict(spec)


def test_unreadable_model_file(tmp_path):
    data = write_data(tmp_path / "a.data", TWO, [1, 1], masses=[107.8682])
    bad = tmp_path / "garbage.pb"
    bad.write_bytes(b"this is not a frozen graph")
    spec = RunSpec.from_dict(toy_spec(tmp_path, data, plumed=None, potential={"deepmd": str(bad)}, type_map=["Ag"]))
    run = render_run(spec, tmp_path / "run")
    with pytest.raises(NucleateError, match="DeePMD-kit cannot load the model") as error:
        execute(run.path)
    assert f"{bad} (copied into the run directory as model.pb)" in str(error.value)  # the user's file, named


def test_data_file_with_wrong_number_of_types(tmp_path):
    data = write_data(tmp_path / "a.data", TWO, [1, 2], masses=[1.0, 2.0])
    spec = RunSpec.from_dict(toy_spec(tmp_path, data, plumed=None, type_map=["Ar"]))
    with pytest.raises(NucleateError, match=r"declares 2 atom types, but the type map \['Ar'\] has 1"):
        render_run(spec, tmp_path / "run")


def test_data_file_errors_name_the_line(tmp_path):
    bad = tmp_path / "bad.data"
    write_data(bad, TWO, [1, 1])
    text = re.sub(r"^2 1 \S+", "2 1 eight", bad.read_text(), count=1, flags=re.MULTILINE)  # atom 2's x
    assert "2 1 eight" in text
    bad.write_text(text)
    spec = toy_spec(tmp_path, bad, plumed=None)
    with pytest.raises(NucleateError, match=r"bad\.data, line \d+: cannot read atom line"):
        render_run(RunSpec.from_dict(spec), tmp_path / "run")


def test_plumed_input_error_shows_plumed_message_and_line(tmp_path):
    data = write_data(tmp_path / "a.data", TWO, [1, 1])
    plumed = "d: DISTANCE ATOMS=1,2\nr: RESTRAINT ARG=d AT=0.3 KAPPA=10 NOT_A_KEYWORD=3\nPRINT ARG=d FILE=COLVAR\n"
    run = render_run(RunSpec.from_dict(toy_spec(tmp_path, data, plumed=plumed)), tmp_path / "run")
    with pytest.raises(NucleateError) as err:
        execute(run.path)
    message = str(err.value)
    assert "line 2" in message and "NOT_A_KEYWORD" in message


def test_bias_without_temp_is_refused_before_running(tmp_path):
    data = write_data(tmp_path / "a.data", TWO, [1, 1])
    plumed = "d: DISTANCE ATOMS=1,2\nMETAD ARG=d PACE=10 HEIGHT=1 SIGMA=0.1 BIASFACTOR=5\n"
    with pytest.raises(NucleateError, match=r"line 2: METAD has no TEMP="):
        render_run(RunSpec.from_dict(toy_spec(tmp_path, data, plumed=plumed)), tmp_path / "run")
    assert not (tmp_path / "run").exists()  # nothing half-written


def test_existing_run_directory_is_refused_then_kept_on_overwrite(tmp_path):
    data = write_data(tmp_path / "a.data", TWO, [1, 1])
    spec = RunSpec.from_dict(toy_spec(tmp_path, data, plumed="d: DISTANCE ATOMS=1,2\nPRINT ARG=d FILE=COLVAR\n", steps=5))
    run = render_run(spec, tmp_path / "run")
    execute(run.path)
    colvar = (run.path / "COLVAR").read_text()
    with pytest.raises(NucleateError, match="already holds a run"):
        render_run(spec, tmp_path / "run")
    with pytest.raises(NucleateError, match="already holds a run"):
        execute(run.path)
    render_run(spec, tmp_path / "run", overwrite=True)
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("run.replaced-")]
    assert len(kept) == 1 and (kept[0] / "COLVAR").read_text() == colvar


def test_blow_up_stops_with_step_and_keeps_output(tmp_path):
    """Two LJ atoms 0.4 A apart: the repulsion sends them flying; the run stops and says when."""
    data = write_data(tmp_path / "a.data", [np.array([5.0, 5.0, 5.0]), np.array([5.4, 5.0, 5.0])], [1, 1])
    plumed = "d: DISTANCE ATOMS=1,2\nPRINT ARG=d STRIDE=1 FILE=COLVAR\n"
    spec = RunSpec.from_dict(toy_spec(tmp_path, data, plumed=plumed, steps=200, pair_style="lj/cut 8.0",
                                      pair_coeff=["1 1 0.0103 3.405"], timestep_fs=2.0,
                                      output={"thermo": 1, "dump": 1, "checkpoint": 100}))
    run = render_run(spec, tmp_path / "run")
    with pytest.raises(NucleateError, match=r"(Lost atoms|non-finite|Out of range).*|LAMMPS stopped at step \d+"):
        execute(run.path)
    assert len(read_table(run.path / "COLVAR")) >= 1  # what was written is still there
    manifest = yaml.safe_load((run.path / "manifest.json").read_text())
    assert manifest["segments"][-1]["status"] == "failed"


def test_cli_errors_are_one_line_and_exit_2(tmp_path):
    result = _cli("run", tmp_path / "missing.yaml", "-o", tmp_path / "r")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "missing.yaml does not exist" in result.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("system: {data: x.data\npotential: [")
    result = _cli("render", bad, "-o", tmp_path / "r")
    assert result.returncode == 2 and "not valid YAML" in result.stderr and "line" in result.stderr


def test_spec_value_errors(tmp_path):
    data = write_data(tmp_path / "a.data", TWO, [1, 1])
    for key, value, pattern in [("thermostat", "berendsen", "md.thermostat"), ("timestep_fs", 500, "far too large"),
                                ("steps", -1, "md.steps"), ("seed", 0, "md.seed")]:
        spec = toy_spec(tmp_path, data, plumed=None)
        spec["md"][key] = value
        with pytest.raises(NucleateError, match=pattern):
            RunSpec.from_dict(spec)
    spec = toy_spec(tmp_path, data, plumed=None)
    spec["md"]["temprature_K"] = 300
    with pytest.raises(NucleateError, match="unknown key"):
        RunSpec.from_dict(spec)
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(yaml.safe_dump(toy_spec(tmp_path, data, plumed=None)))
    assert load_spec(spec_file).md.steps == 20
