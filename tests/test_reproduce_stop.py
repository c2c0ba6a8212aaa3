"""`nucleate reproduce` stops as a whole on SIGTERM/Ctrl-C: the running simulation keeps a checkpoint
at the step it stopped, the next one does not start, no report is written, and it says how to resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import read_table

pytestmark = pytest.mark.slow


def test_sigterm_stops_the_whole_reproduction(tmp_path):
    out = tmp_path / "ag6"
    proc = subprocess.Popen([sys.executable, "-m", "nucleate.cli", "reproduce", "ag6", "--scale", "smoke", "-o", out,
                             "--only", "monomer_dimer", "--only", "dimer_octahedral"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    first = out / "runs" / "monomer_dimer"
    deadline = time.time() + 300
    while time.time() < deadline and not (first / "checkpoint.json").exists():
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "Resume with:" in err and "nucleate reproduce ag6" in err
    status = json.loads((first / "status.json").read_text())
    checkpoint = json.loads((first / "checkpoint.json").read_text())
    assert status["state"] == "interrupted" and status["end_step"] == checkpoint["step"] < 200
    assert read_table(first / "thermo.csv")[-1, 0] <= checkpoint["step"]
    assert not (out / "runs" / "dimer_octahedral").exists()  # the next simulation never started
    assert not (out / "report").exists()
