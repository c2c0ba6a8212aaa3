"""`nucleate run DIR --until STEP [--time-limit T]`: the one command a batch job runs, right for the
first job of a chain, each continuation, and a job resubmitted after a failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

from nucleate.engine.render import render_run
from nucleate.engine.spec import RunSpec

from conftest import read_table
from test_engine_continue import _spec


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "nucleate.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONUNBUFFERED="1"))


def test_time_limit_stops_cleanly_and_until_continues_to_the_exact_step(tmp_path):
    spec = _spec(tmp_path, 400_000)
    spec["output"] = {"thermo": 10, "dump": 100, "checkpoint": 200}
    run = render_run(RunSpec.from_dict(spec), tmp_path / "run")
    began = time.perf_counter()
    first = _cli("run", run.path, "--until", 400_000, "--time-limit", "0:12")
    elapsed = time.perf_counter() - began
    assert first.returncode == 0, first.stderr
    assert "stopped at the time limit" in first.stderr and elapsed < 60
    state = json.loads((run.path / "checkpoint.json").read_text())
    stopped = state["step"]
    assert 0 < stopped < 400_000 and state["restart_file"] == "restart.end"
    assert json.loads((run.path / "manifest.json").read_text())["segments"][-1]["status"] == "time-limit"
    assert len(read_table(run.path / "COLVAR")) == stopped + 1

    target = stopped + 37
    second = _cli("run", run.path, "--until", target)
    assert second.returncode == 0, second.stderr
    third = _cli("run", run.path, "--until", target)  # already there: nothing to do
    assert third.returncode == 0, third.stderr
    colvar = read_table(run.path / "COLVAR")
    np.testing.assert_allclose(colvar[:, 0], np.arange(target + 1) * 2.0)
    segments = json.loads((run.path / "manifest.json").read_text())["segments"]
    assert [(s["start_step"], s["end_step"]) for s in segments] == [(0, stopped), (stopped, target)]


def test_until_starts_a_fresh_directory_and_refuses_contradictions(tmp_path):
    run = render_run(RunSpec.from_dict(_spec(tmp_path, 10)), tmp_path / "run")
    result = _cli("run", run.path, "--until", 25)
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(read_table(run.path / "COLVAR")[:, 0], np.arange(26) * 2.0)
    for extra in (["--continue"], ["--steps", "5"], ["--overwrite"]):
        refused = _cli("run", run.path, "--until", 30, *extra)
        assert refused.returncode == 2 and "--until takes a run directory alone" in refused.stderr
    bad = _cli("run", run.path, "--until", 30, "--time-limit", "soon")
    assert bad.returncode == 2 and "not a duration" in bad.stderr


HOLD_LOCK = """
import fcntl, sys, time
handle = open(sys.argv[1], "a+")
fcntl.flock(handle, fcntl.LOCK_EX)
handle.seek(0); handle.truncate(); handle.write("process 1 on host elsewhere (an earlier job)\\n"); handle.flush()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold_lock(rundir, seconds):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(rundir / ".nucleate.lock"), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_job_waits_for_another_process_of_its_run_directory(tmp_path):
    """A resubmitted job whose run directory is still held (a job the scheduler reported lost, or one a
    killed submitter never recorded) waits for it within its time limit, then goes on from its state."""
    run = render_run(RunSpec.from_dict(_spec(tmp_path, 60)), tmp_path / "run")
    holder = _hold_lock(run.path, 3)
    began = time.perf_counter()
    done = _cli("run", run.path, "--until", 60, "--time-limit", 120)
    holder.wait()
    assert done.returncode == 0, done.stderr
    assert time.perf_counter() - began >= 2.5                       # it waited for the holder
    assert json.loads((run.path / "checkpoint.json").read_text())["step"] == 60
    assert len(read_table(run.path / "COLVAR")) == 61


def test_a_job_held_off_for_its_whole_time_runs_nothing_and_exits_cleanly(tmp_path):
    run = render_run(RunSpec.from_dict(_spec(tmp_path, 60)), tmp_path / "run")
    holder = _hold_lock(run.path, 8)
    try:
        done = _cli("run", run.path, "--until", 60, "--time-limit", 2)
        assert done.returncode == 0, done.stderr
        assert "stayed in use" in done.stderr and "Traceback" not in done.stderr
        assert not (run.path / "checkpoint.json").exists()
        # without a time limit (an interactive run) it is refused at once, naming the holder
        refused = _cli("run", run.path, "--until", 60)
        assert refused.returncode == 2 and "in use by process 1 on host elsewhere" in refused.stderr
    finally:
        holder.kill()
        holder.wait()
