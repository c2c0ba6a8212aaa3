"""Continuing a run: after a normal end, and after `kill -9` mid-run.

Reference: one uninterrupted run of the same length with the same seeds.  Nose-Hoover NVT is
deterministic and its chain state is in the restart file; the only change a continuation
makes is the force evaluation LAMMPS repeats at the restart step, whose bias now includes the
hill deposited at that very step -- a Gaussian centred on the current CV value, whose gradient
there is exactly zero.  So the continued trajectory equals the uninterrupted one up to
floating-point round-off (neighbour lists are rebuilt), bounded here by 1e-7 over 60 steps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from nucleate.engine.render import render_run
from nucleate.engine.runner import execute
from nucleate.engine.spec import RunSpec

from conftest import read_table, toy_spec, write_data

PLUMED = """
UNITS LENGTH=A ENERGY=kcal/mol TIME=fs
d: DISTANCE ATOMS=1,2
cn: COORDINATION GROUPA=1-8 R_0=4.0 NN=6 MM=12
metad: METAD ARG=d,cn PACE=5 HEIGHT=0.5 SIGMA=0.2,0.1 BIASFACTOR=10 TEMP=120 FILE=HILLS
PRINT ARG=d,cn,metad.bias STRIDE=1 FILE=COLVAR
"""


def _argon_cluster(tmp_path):
    grid = np.array([[i, j, k] for i in range(2) for j in range(2) for k in range(2)], dtype=float)
    positions = 8.0 + 3.8 * grid + 0.05 * np.sin(np.arange(24)).reshape(8, 3)
    return write_data(tmp_path / "ar8.data", positions, [1] * 8, box=(24.0, 24.0, 24.0))


def _spec(tmp_path, steps):
    data = _argon_cluster(tmp_path)
    return toy_spec(tmp_path, data, plumed=PLUMED, steps=steps, thermostat="nose-hoover", temperature=120.0,
                    initial_temperature=120.0, timestep_fs=2.0, pair_style="lj/cut 8.5",
                    pair_coeff=["1 1 0.0103 3.405"], output={"thermo": 5, "dump": 10, "checkpoint": 10})


def _data_rows(path):
    return read_table(path)


def test_continue_after_normal_end_equals_uninterrupted(tmp_path):
    whole = render_run(RunSpec.from_dict(_spec(tmp_path, 60)), tmp_path / "whole")
    execute(whole.path)
    split = render_run(RunSpec.from_dict(_spec(tmp_path, 30)), tmp_path / "split")
    execute(split.path)
    result = execute(split.path, steps=30, continue_run=True)
    assert (result.start_step, result.end_step) == (30, 60)

    for name in ("COLVAR", "HILLS", "thermo.csv"):
        a, b = _data_rows(whole.path / name), _data_rows(split.path / name)
        assert a.shape == b.shape, name
        np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-9, err_msg=name)
    colvar = _data_rows(split.path / "COLVAR")
    np.testing.assert_allclose(colvar[:, 0], np.arange(61) * 2.0)  # every step once, in fs
    frames = [int(l) for l in _frame_steps(split.path / "traj.lammpstrj")]
    assert frames == list(range(0, 61, 10))
    segments = json.loads((split.path / "manifest.json").read_text())["segments"]
    assert [(s["start_step"], s["end_step"], s["status"]) for s in segments] == [(0, 30, "completed"), (30, 60, "completed")]


def _start_long_run(tmp_path, name, min_checkpoint_step, **popen):
    """Start `nucleate run` on a 400k-step spec in a subprocess; return it once a checkpoint at or
    past `min_checkpoint_step` is on disk."""
    spec = _spec(tmp_path, 400_000)
    spec["output"] = {"thermo": 10, "dump": 100, "checkpoint": 200}
    spec_path = tmp_path / f"{name}.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    rundir = tmp_path / name
    proc = subprocess.Popen([sys.executable, "-m", "nucleate.cli", "run", str(spec_path), "-o", str(rundir)],
                            env=dict(os.environ, PYTHONUNBUFFERED="1"), stderr=subprocess.PIPE, text=True, **popen)
    state = rundir / "checkpoint.json"
    deadline = time.time() + 240
    while time.time() < deadline:
        if state.exists() and json.loads(state.read_text())["step"] >= min_checkpoint_step:
            return spec, rundir, proc
        if proc.poll() is not None:
            pytest.fail(f"run ended early: {proc.stderr.read()[-2000:]}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("no checkpoint within 240 s")


def _written_past_checkpoint(rundir) -> bool:
    """Whether any output file is longer than the last checkpoint recorded it."""
    try:
        sizes = json.loads((rundir / "checkpoint.json").read_text())["file_sizes"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return False
    return any((rundir / name).is_file() and (rundir / name).stat().st_size > size for name, size in sizes.items())


def _frame_steps(path):
    lines = path.read_text().splitlines()
    return [lines[i + 1] for i, line in enumerate(lines) if line.startswith("ITEM: TIMESTEP")]


@pytest.mark.slow
def test_continue_after_kill_minus_9(tmp_path):
    spec, rundir, proc = _start_long_run(tmp_path, "killed", 1000, stdout=subprocess.DEVNULL)
    deadline = time.time() + 60  # kill once it has written past its checkpoint (a fixed sleep fails under load)
    while time.time() < deadline and not _written_past_checkpoint(rundir):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written_past = _written_past_checkpoint(rundir)  # False only if a checkpoint landed just before the kill
    state = rundir / "checkpoint.json"
    checkpoint = json.loads(state.read_text())["step"]
    result = execute(rundir, steps=600, continue_run=True)
    total = checkpoint + 600
    assert result.end_step == total

    colvar = _data_rows(rundir / "COLVAR")
    np.testing.assert_allclose(colvar[:, 0], np.arange(total + 1) * 2.0)  # no lost, no duplicated rows
    thermo = _data_rows(rundir / "thermo.csv")
    np.testing.assert_array_equal(thermo[:, 0], np.arange(0, total + 1, 10))
    assert [int(s) for s in _frame_steps(rundir / "traj.lammpstrj")] == list(range(0, total + 1, 100))
    hills_t = _data_rows(rundir / "HILLS")[:, 0]
    np.testing.assert_allclose(hills_t, np.arange(5, total + 1, 5) * 2.0)
    # what the killed process wrote after its last checkpoint is kept aside, not lost
    assert any(".after-step-" in p.name for p in rundir.iterdir()) == written_past

    whole_spec = _spec(tmp_path, total)
    whole_spec["output"] = spec["output"]
    whole = render_run(RunSpec.from_dict(whole_spec), tmp_path / "whole")
    execute(whole.path)
    np.testing.assert_allclose(colvar, _data_rows(whole.path / "COLVAR"), rtol=1e-7, atol=1e-9)


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_a_checkpoint_and_continues(tmp_path):
    _, rundir, proc = _start_long_run(tmp_path, "interrupted", 400, stdout=subprocess.PIPE)
    state = rundir / "checkpoint.json"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "--continue" in err and "Traceback" not in err
    checkpoint = json.loads(state.read_text())
    segment = json.loads((rundir / "manifest.json").read_text())["segments"][-1]
    assert segment["status"] == "interrupted" and segment["end_step"] == checkpoint["step"]
    assert checkpoint["restart_file"] == "restart.end"  # written at the interruption step itself
    execute(rundir, steps=100, continue_run=True)
    colvar = _data_rows(rundir / "COLVAR")
    np.testing.assert_allclose(colvar[:, 0], np.arange(checkpoint["step"] + 101) * 2.0)
    assert not any(".after-step-" in p.name for p in rundir.iterdir())  # a clean stop leaves nothing aside
