"""Helpers for tests that need a real Slurm cluster (started by ``bash .ci/slurm-up.sh``).

Use in a test module::

    from slurm_support import slurm_cluster  # noqa: F401  (a pytest fixture)

    def test_something(slurm_cluster, tmp_path):
        ...

Without a responding cluster the fixture skips the test with the reason, unless the environment
sets ``NUCLEATE_REQUIRE_SLURM=1`` (CI does, in ``.ci/run``): then the test fails instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass

import pytest

#: Node states (sinfo %T, long form) in which the node answers and can run or is running jobs.
USABLE_STATES = frozenset({"idle", "mixed", "allocated", "completing"})
#: Job states after which a job will not run again (scontrol's JobState).
FINAL_JOB_STATES = frozenset({"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED",
                              "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY"})
START_HINT = "start one with: bash .ci/slurm-up.sh (as root; stop it with bash .ci/slurm-down.sh)"


def slurm_available(timeout: float = 5.0) -> tuple[bool, str]:
    """Whether a Slurm cluster answers here, with a reason: sinfo and sbatch on PATH, and at least
    one node idle, mixed, allocated or completing (not marked non-responding) within `timeout` s."""
    conf = os.environ.get("SLURM_CONF")
    if conf and not os.path.isfile(conf):  # sinfo would retry for 60 s
        return False, f"SLURM_CONF={conf} is not a file; {START_HINT}"
    sinfo = shutil.which("sinfo")
    if sinfo is None or shutil.which("sbatch") is None:
        return False, f"Slurm client commands (sinfo, sbatch) are not on PATH; {START_HINT}"
    try:
        result = subprocess.run([sinfo, "-h", "-o", "%N %T"], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"sinfo did not answer within {timeout:g} s; {START_HINT}"
    except OSError as exc:
        return False, f"sinfo could not run ({exc}); {START_HINT}"
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        return False, f"sinfo failed ({detail}); {START_HINT}"
    nodes = [line.split() for line in result.stdout.splitlines() if line.strip()]
    usable = [f"{n[0]}:{n[1]}" for n in nodes if len(n) == 2 and n[1] in USABLE_STATES]
    if not usable:
        seen = ", ".join(" ".join(n) for n in nodes) or "no nodes"
        return False, f"no Slurm node is idle/mixed/allocated ({seen}); {START_HINT}"
    return True, "Slurm nodes answering: " + ", ".join(usable)


def job_state(job_id: str | int, timeout: float = 10.0) -> str | None:
    """The job's JobState from ``scontrol show job`` (works without accounting), or None once the
    controller has forgotten the job (MinJobAge after it ended)."""
    result = subprocess.run(["scontrol", "-o", "show", "job", str(job_id)], capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode != 0:
        if "Invalid job id" in result.stderr:
            return None
        raise RuntimeError(f"scontrol show job {job_id} failed: {result.stderr.strip()}")
    for field in result.stdout.split():
        if field.startswith("JobState="):
            return field.split("=", 1)[1]
    raise RuntimeError(f"no JobState in scontrol's answer: {result.stdout.strip()}")


@dataclass(frozen=True)
class SlurmCluster:
    """What the `slurm_cluster` fixture hands to a test."""

    description: str

    @staticmethod
    def job_state(job_id: str | int) -> str | None:
        return job_state(job_id)

    @staticmethod
    def wait_for_state(job_id: str | int, states: set[str] | frozenset[str], timeout: float = 30.0,
                       poll: float = 0.2) -> str | None:
        """Poll until the job's state is one of `states` (returned) or the job is forgotten (None).
        Raises TimeoutError, naming the last state seen."""
        deadline = time.monotonic() + timeout
        state = job_state(job_id)
        while state is not None and state not in states:
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {state} after {timeout:g} s (waited for {sorted(states)})")
            time.sleep(poll)
            state = job_state(job_id)
        return state


_absent: str | None = None  # why Slurm was found absent in this session (not asked again)


@pytest.fixture
def slurm_cluster() -> SlurmCluster:
    """A responding Slurm cluster, or a skip (a failure when NUCLEATE_REQUIRE_SLURM=1)."""
    global _absent
    ok, reason = (False, _absent) if _absent is not None else slurm_available()
    if not ok:
        _absent = reason
        if os.environ.get("NUCLEATE_REQUIRE_SLURM") == "1":
            pytest.fail(f"NUCLEATE_REQUIRE_SLURM=1 but no Slurm cluster: {reason}", pytrace=False)
        pytest.skip(reason)
    return SlurmCluster(description=reason)
