"""The single-node Slurm cluster of .ci/slurm-up.sh works: a batch job runs and writes its file; a
cancelled job ends CANCELLED and its processes are gone."""

from __future__ import annotations

import os
import socket
import subprocess
import time

from slurm_support import FINAL_JOB_STATES, slurm_cluster  # noqa: F401  (pytest fixture)


def _sbatch(tmp_path, *args: str, timeout: float = 180.0) -> str:
    result = subprocess.run(["sbatch", "--parsable", "--time=2", "-D", str(tmp_path),
                             "-o", str(tmp_path / "slurm-%j.out"), *args],
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"sbatch failed ({result.returncode}): {result.stderr.strip()}"
    job_id = result.stdout.strip().split(";")[0]
    assert job_id.isdigit(), f"sbatch --parsable printed {result.stdout!r}"
    return job_id


def test_batch_job_runs_and_writes_its_file(slurm_cluster, tmp_path):
    out = tmp_path / "hello.txt"
    _sbatch(tmp_path, "--wait", "--wrap", f"echo hello > {out}")
    assert out.read_text() == "hello\n"


def test_scancel_leaves_a_sleeping_job_cancelled(slurm_cluster, tmp_path):
    pid_file = tmp_path / "pid"
    job_id = _sbatch(tmp_path, "--wrap", f"echo $$ $(hostname) > {pid_file}; sleep 300", timeout=30)
    try:
        state = slurm_cluster.wait_for_state(job_id, {"RUNNING"} | FINAL_JOB_STATES, timeout=120)
        assert state == "RUNNING", f"job {job_id} did not start (state {state})"
        deadline = time.monotonic() + 10
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        subprocess.run(["scancel", job_id], check=True, timeout=30)
    # scontrol, not sacct: there is no accounting.  The controller may forget the job MinJobAge
    # (5 s) after it ended; only a job that was seen in another final state is a failure.
    state = slurm_cluster.wait_for_state(job_id, FINAL_JOB_STATES, timeout=30)
    assert state in ("CANCELLED", None), f"job {job_id} ended {state}, not CANCELLED"

    # When the job ran on this host, its batch shell is gone within KillWait (5 s) and a margin.
    assert pid_file.exists(), f"job {job_id} ran but never wrote {pid_file}"
    pid, host = pid_file.read_text().split()
    if host == socket.gethostname():
        deadline = time.monotonic() + 15
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not os.path.exists(f"/proc/{pid}"), f"job {job_id}'s shell (pid {pid}) survived scancel"
