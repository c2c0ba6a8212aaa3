"""The engine under hostile timing: kills at the worst moment, two processes on one directory,
shared walker hills outside the run directory, repeated Ctrl-C, failed and damaged starts.

Every test checks the outputs against what an uninterrupted run writes: each step's COLVAR row
once, each hill once, thermo rows and dump frames at their strides, nothing lost (what a killed
process wrote past its checkpoint is kept in `*.after-step-N`)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from nucleate.engine.render import render_run
from nucleate.engine.runner import execute, lammps_lines
from nucleate.engine.spec import RunSpec

from conftest import read_table, toy_spec
from test_engine_continue import _argon_cluster, _spec, _start_long_run

DT_FS = 2.0  # the argon spec's timestep


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "nucleate.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, PYTHONUNBUFFERED="1"))


def _python(code: str, *args, timeout=300):
    """Run engine code in a child process (for kills that must not take the test with them)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def _assert_every_step_once(rundir: Path, last: int, *, hills: Path | None = None, pace: int = 5):
    colvar = read_table(rundir / "COLVAR")
    np.testing.assert_allclose(colvar[:, 0], np.arange(last + 1) * DT_FS)
    thermo = read_table(rundir / "thermo.csv")
    stride = int(thermo[1, 0] - thermo[0, 0])
    np.testing.assert_array_equal(thermo[:, 0], np.arange(0, last + 1, stride))
    hills_t = read_table(hills or rundir / "HILLS")[:, 0]
    np.testing.assert_allclose(hills_t, np.arange(pace, last + 1, pace) * DT_FS)


# ---------------------------------------------------------------------------------------------- checkpoints
_KILL_AFTER_TOGGLE = """
    import os, signal, sys
    from nucleate.engine import runner
    original = runner._record_toggle_checkpoint
    def kill_{when}(run, step, external):
        {before}
        original(run, step, external)
        os.kill(os.getpid(), signal.SIGKILL)
    runner._record_toggle_checkpoint = kill_{when}
    runner.execute(sys.argv[1], steps=int(sys.argv[2]), continue_run=sys.argv[3] == "continue")
"""


def _kill_at_toggle(rundir, steps, mode, *, before_recording):
    """kill -9 at the first restart.a/b write of a segment: right after LAMMPS wrote the file, before
    (or after) nucleate recorded it as the checkpoint."""
    before = "os.kill(os.getpid(), signal.SIGKILL)" if before_recording else "pass"
    code = _KILL_AFTER_TOGGLE.format(when="before" if before_recording else "after", before=before)
    result = _python(code, rundir, steps, mode)
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]


def test_kill_right_after_the_first_restart_write_of_a_segment_resumed_from_restart_a(tmp_path):
    """LAMMPS's `restart N a b` writes `a` first in every new process.  Resumed from restart.a, that first
    write used to destroy the only checkpoint; every later --continue failed."""
    run = render_run(RunSpec.from_dict(_spec(tmp_path, 60)), tmp_path / "run")
    _kill_at_toggle(run.path, 60, "run", before_recording=False)  # dies right after recording step 10
    state = json.loads((run.path / "checkpoint.json").read_text())
    assert (state["step"], state["restart_file"]) == (10, "restart.a")

    _kill_at_toggle(run.path, 30, "continue", before_recording=True)  # LAMMPS wrote step 20, nucleate died
    state = json.loads((run.path / "checkpoint.json").read_text())
    assert (state["step"], state["restart_file"]) == (10, "restart.a")  # still the checkpoint on record...
    script = (run.path / "in.local.from-step-10.lammps").read_text()
    assert "restart         10 restart.b restart.a" in script  # ...because the resumed file is written second

    result = execute(run.path, steps=50, continue_run=True)
    assert (result.start_step, result.end_step, result.status) == (10, 60, "completed")
    _assert_every_step_once(run.path, 60)
    assert any(p.name.startswith("COLVAR.after-step-10") for p in run.path.iterdir())  # the killed rows, kept

    whole = render_run(RunSpec.from_dict(_spec(tmp_path, 60)), tmp_path / "whole")
    execute(whole.path)
    np.testing.assert_allclose(read_table(run.path / "COLVAR"), read_table(whole.path / "COLVAR"), rtol=1e-7, atol=1e-9)


def test_missing_or_overwritten_latest_restart_falls_back_to_the_previous_checkpoint(tmp_path, caplog):
    run = render_run(RunSpec.from_dict(_spec(tmp_path, 30)), tmp_path / "run")
    execute(run.path)  # restart.a at 10, restart.b at 20, restart.a again and restart.end at 30
    state = json.loads((run.path / "checkpoint.json").read_text())
    assert [(s["step"], s["restart_file"]) for s in [state, *state["previous"]]] == [
        (30, "restart.end"), (30, "restart.a"), (20, "restart.b")]

    (run.path / "restart.end").unlink()
    (run.path / "restart.a").write_bytes((run.path / "restart.a").read_bytes()[:-100])  # a truncated copy
    with caplog.at_level("WARNING"):
        result = execute(run.path, steps=10, continue_run=True)
    assert (result.start_step, result.end_step) == (20, 30)
    notes = " ".join(caplog.messages)
    assert "step 30 skipped: restart.end is missing" in notes
    assert "step 30 skipped: restart.a was overwritten" in notes
    assert "output written after the step-20 checkpoint kept in" in notes
    _assert_every_step_once(run.path, 30)


def test_damaged_checkpoint_record_is_one_clear_error_and_overwrite_starts_again(tmp_path):
    run = render_run(RunSpec.from_dict(_spec(tmp_path, 20)), tmp_path / "run")
    execute(run.path)
    (run.path / "checkpoint.json").write_text('{"step": 2')
    result = _cli("run", run.path, "--continue")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "checkpoint.json is damaged" in result.stderr
    assert "--overwrite" in result.stderr

    result = _cli("run", run.path, "--overwrite")
    assert result.returncode == 0, result.stderr
    aside = [p for p in run.path.iterdir() if p.name.startswith("replaced-")]
    assert len(aside) == 1 and (aside[0] / "COLVAR").exists() and (aside[0] / "checkpoint.json").exists()
    _assert_every_step_once(run.path, 20)
    np.testing.assert_array_equal(read_table(run.path / "COLVAR"), read_table(aside[0] / "COLVAR"))
    manifest = json.loads((run.path / "manifest.json").read_text())
    assert [s["status"] for s in manifest["segments"]] == ["completed"]
    assert manifest["earlier_attempts"][0]["kept_in"] == aside[0].name


def test_each_segment_runs_the_input_written_on_disk(tmp_path):
    run = render_run(RunSpec.from_dict(_spec(tmp_path, 20)), tmp_path / "run")
    execute(run.path)
    execute(run.path, steps=10, continue_run=True)
    segments = json.loads((run.path / "manifest.json").read_text())["segments"]
    assert [s["input"] for s in segments] == ["in.local.lammps", "in.local.from-step-20.lammps"]
    for segment in segments:
        from nucleate.engine.rundir import sha256

        assert segment["input_sha256"] == sha256(run.path / segment["input"])
    assert "read_restart    restart.end" in (run.path / "in.local.from-step-20.lammps").read_text()


def test_input_lines_are_split_as_lammps_splits_them():
    script = "a 1\fshell x\nb 2\u2028c\n# note\nd 1 &\n  2\n"
    assert lammps_lines(script) == [(1, "a 1\fshell x"), (2, "b 2\u2028c"), (3, "# note"), (4, "d 1    2"), (6, "")]


# ---------------------------------------------------------------------------------------------- one process
@pytest.mark.slow
def test_a_second_process_is_refused_while_a_run_holds_the_directory(tmp_path):
    _, rundir, proc = _start_long_run(tmp_path, "held", 400, stdout=subprocess.DEVNULL)
    try:
        second = _cli("run", rundir, "--continue", "--steps", "50")
        assert second.returncode == 2 and "Traceback" not in second.stderr
        assert f"in use by process {proc.pid} on host" in second.stderr
        overwrite = _cli("run", rundir, "--overwrite")
        assert overwrite.returncode == 2 and f"process {proc.pid}" in overwrite.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
    assert proc.returncode == 130
    last = json.loads((rundir / "checkpoint.json").read_text())["step"]
    colvar = read_table(rundir / "COLVAR")
    np.testing.assert_allclose(colvar[:, 0], np.arange(last + 1) * DT_FS)  # no duplicated rows
    assert not any(".after-step-" in p.name for p in rundir.iterdir())


# ---------------------------------------------------------------------------------------------- walkers' hills
_WALKER = """
UNITS LENGTH=A ENERGY=kcal/mol TIME=fs
d: DISTANCE ATOMS=1,2
cn: COORDINATION GROUPA=1-8 R_0=4.0 NN=6 MM=12
metad: METAD ARG=d,cn PACE=5 HEIGHT=0.5 SIGMA=0.2,0.1 BIASFACTOR=10 TEMP=120 FILE=HILLS WALKERS_N=2 WALKERS_ID=0 WALKERS_DIR={shared} WALKERS_RSTRIDE=10
PRINT ARG=d,cn,metad.bias STRIDE=1 FILE=COLVAR
"""


@pytest.mark.slow
def test_kill_minus_9_keeps_a_walkers_shared_hills_whole_and_appends_after_them(tmp_path):
    """A walker killed after its checkpoint: its own rows go back to the checkpoint, but the hills it wrote to
    the shared folder stay, byte for byte: other walkers have read them and biased their runs with them (and
    a live reader's file position must never fall beyond the end of a cut file).  The continuation reads
    them back (PLUMED RESTART) and appends its own hills after them."""
    shared = tmp_path / "shared"
    shared.mkdir()
    data = _argon_cluster(tmp_path)
    spec = toy_spec(tmp_path, data, plumed=_WALKER.format(shared=shared), steps=400_000, thermostat="nose-hoover",
                    temperature=120.0, initial_temperature=120.0, timestep_fs=DT_FS, pair_style="lj/cut 8.5",
                    pair_coeff=["1 1 0.0103 3.405"], output={"thermo": 10, "dump": 100, "checkpoint": 200})
    spec_path = tmp_path / "walker.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    rundir = tmp_path / "walker0"
    proc = subprocess.Popen([sys.executable, "-m", "nucleate.cli", "run", spec_path, "-o", rundir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    hills = shared / "HILLS.0"
    deadline = time.time() + 240
    while time.time() < deadline:  # kill once hills were written past a checkpoint
        state = rundir / "checkpoint.json"
        if state.exists():
            sizes = json.loads(state.read_text())["file_sizes"]
            if str(hills) in sizes and hills.stat().st_size > sizes[str(hills)] and sizes[str(hills)] > 0:
                break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (rundir / "HILLS").exists()
    checkpoint = json.loads((rundir / "checkpoint.json").read_text())["step"]
    killed = hills.read_bytes()
    killed_t = read_table(hills)[:, 0]
    assert killed_t[-1] > checkpoint * DT_FS  # hills past the checkpoint, already in the shared folder
    # the other walker, yet to deposit: a restarting METAD reads every walker's file
    header = [line for line in hills.read_text().splitlines() if line.startswith("#!")]
    (shared / "HILLS.1").write_text("\n".join(header) + "\n")
    execute(rundir, steps=200, continue_run=True)
    colvar = read_table(rundir / "COLVAR")
    np.testing.assert_allclose(colvar[:, 0], np.arange(checkpoint + 201) * DT_FS)  # the walker's own rows: once
    assert hills.read_bytes().startswith(killed)  # nothing of the shared file cut or changed
    appended = read_table(hills)[len(killed_t):, 0]
    np.testing.assert_allclose(appended, np.arange(checkpoint + 5, checkpoint + 201, 5) * DT_FS)
    assert not any(".after-step-" in p.name for p in shared.iterdir())
    # what the continuation printed as its bias holds the killed hills too, the bias every walker felt
    # (to 1 %: PLUMED's Gaussians are cut off at 2.5 sigma and stretched to reach zero there)
    table = read_table(hills)

    def bias(s, rows):
        centres, sigmas, height = rows[:, 1:3], rows[:, 3:5], rows[:, 5] * (rows[:, 6] - 1) / rows[:, 6]
        return float(np.sum(height * np.exp(-0.5 * np.sum(((s - centres) / sigmas) ** 2, axis=1))))

    row = colvar[checkpoint + 1]
    before_kill, before_checkpoint = table[: len(killed_t)], table[table[:, 0] <= checkpoint * DT_FS]
    assert row[3] == pytest.approx(bias(row[1:3], before_kill), rel=1e-2)
    assert abs(row[3] - bias(row[1:3], before_checkpoint)) > 0.1 * row[3]  # without them: clearly another bias


# ---------------------------------------------------------------------------------------------- signals
@pytest.mark.slow
def test_double_ctrl_c_loses_no_row(tmp_path):
    _, rundir, proc = _start_long_run(tmp_path, "twice", 400, stdout=subprocess.PIPE)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err and "PLUMED failed" not in err and "PLUMED input" not in err, err
    state = json.loads((rundir / "checkpoint.json").read_text())
    assert state["restart_file"] == "restart.end"
    stopped = state["step"]
    assert len(read_table(rundir / "COLVAR")) == stopped + 1
    execute(rundir, steps=50, continue_run=True)
    colvar = read_table(rundir / "COLVAR")
    np.testing.assert_allclose(colvar[:, 0], np.arange(stopped + 51) * DT_FS)
    hills_t = read_table(rundir / "HILLS")[:, 0]
    np.testing.assert_allclose(hills_t, np.arange(5, stopped + 51, 5) * DT_FS)
    assert not any(".after-step-" in p.name for p in rundir.iterdir())


# ---------------------------------------------------------------------------------------------- no dead ends
def test_failed_first_segment_is_recognised_and_run_again(tmp_path):
    bad = "UNITS TIME=fs\nd: DISTANCE ATOMS=1,99\nPRINT ARG=d STRIDE=1 FILE=COLVAR\n"
    spec = toy_spec(tmp_path, _argon_cluster(tmp_path), plumed=bad, steps=20, pair_style="lj/cut 8.5",
                    pair_coeff=["1 1 0.0103 3.405"], timestep_fs=DT_FS)
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    rundir = tmp_path / "run"
    first = _cli("run", spec_path, "-o", rundir)
    assert first.returncode == 2 and "Traceback" not in first.stderr and "plumed.dat" in first.stderr
    (rundir / "plumed.dat").write_text("UNITS TIME=fs\nd: DISTANCE ATOMS=1,2\nPRINT ARG=d STRIDE=1 FILE=COLVAR\n")
    again = _cli("run", rundir)
    assert again.returncode == 0, again.stderr
    assert "earlier attempt" in again.stderr
    colvar = read_table(rundir / "COLVAR")
    np.testing.assert_allclose(colvar[:, 0], np.arange(21) * DT_FS)
    manifest = json.loads((rundir / "manifest.json").read_text())
    assert [s["status"] for s in manifest["earlier_attempts"][0]["segments"]] == ["failed"]
    assert [s["status"] for s in manifest["segments"]] == ["completed"]


@pytest.mark.parametrize("args, message", [
    (["--steps", "-5"], "--steps must be a positive number"),
    (["--steps", "0"], "--steps must be a positive number"),
    (["--continue", "--overwrite"], "contradict"),
])
def test_bad_run_arguments_are_refused(tmp_path, args, message):
    run = render_run(RunSpec.from_dict(_spec(tmp_path, 20)), tmp_path / "run")
    result = _cli("run", run.path, *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not (run.path / "checkpoint.json").exists()


def test_zero_step_spec_and_deleted_checkpoint_are_not_dead_ends(tmp_path):
    run = render_run(RunSpec.from_dict(_spec(tmp_path, 0)), tmp_path / "zero")
    result = _cli("run", run.path)
    assert result.returncode == 2 and "nothing to run; give --steps N" in result.stderr
    result = _cli("run", run.path, "--steps", "10")
    assert result.returncode == 0, result.stderr

    (run.path / "checkpoint.json").unlink()
    result = _cli("run", run.path, "--continue")
    assert result.returncode == 2 and f"start it with `nucleate run {run.path}`" in result.stderr
    result = _cli("run", run.path, "--steps", "10")
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(read_table(run.path / "COLVAR")[:, 0], np.arange(11) * DT_FS)


def test_render_hint_names_a_command_that_works(tmp_path):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(_spec(tmp_path, 10)))
    result = _cli("render", spec_path, "-o", tmp_path / "run")
    hint = next(line for line in result.stdout.splitlines() if line.startswith("run it with:"))
    command = hint.split(":", 1)[1].split("(locally)")[0].split()
    assert command[:2] == ["nucleate", "run"]
    followed = _cli(*command[1:])
    assert followed.returncode == 0, followed.stderr


# ---------------------------------------------------------------------------------------------- the world changes
@pytest.mark.slow
def test_run_directory_deleted_mid_run_is_a_clear_error(tmp_path):
    _, rundir, proc = _start_long_run(tmp_path, "deleted", 200, stdout=subprocess.DEVNULL)
    gone = tmp_path / "gone"
    os.rename(rundir, gone)  # atomic: rmtree alone races with the files the run keeps writing
    shutil.rmtree(gone, ignore_errors=True)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "Traceback" not in err
    assert "was deleted or moved during the run" in err.splitlines()[-1]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 400 kB tmpfs (root only; skipped elsewhere)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.slow
def test_full_disk_keeps_lammps_message_and_the_checkpoint_and_leaves_no_temporary_file(tmp_path, tiny_disk):
    spec = _spec(tmp_path, 400_000)
    spec["output"] = {"thermo": 1, "dump": 5, "checkpoint": 200}
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    rundir = tiny_disk / "run"
    result = _cli("run", spec_path, "-o", rundir)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(error) == 1 and "No space left on device" in error[0] and "LAMMPS stopped at step" in error[0]
    assert not [p.name for p in rundir.iterdir() if p.name.endswith(".tmp")]
    checkpoint = json.loads((rundir / "checkpoint.json").read_text())["step"]
    assert checkpoint >= 200

    subprocess.run(["mount", "-o", "remount,size=4m", str(tiny_disk)], check=True)  # space again
    result = _cli("run", rundir, "--continue", "--steps", "100")
    assert result.returncode == 0, result.stderr
    colvar = read_table(rundir / "COLVAR")
    np.testing.assert_allclose(colvar[:, 0], np.arange(checkpoint + 101) * DT_FS)


def test_two_renders_of_one_target_at_once_one_clear_refusal(tmp_path):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(_spec(tmp_path, 20)))
    target = tmp_path / "same"
    command = [sys.executable, "-m", "nucleate.cli", "run", str(spec_path), "-o", str(target)]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in results).count(0) == 1, results
    for code, err in results:
        assert "Traceback" not in err
        if code:
            assert code == 2 and len([l for l in err.splitlines() if "error:" in l]) == 1
    _assert_every_step_once(target, 20)
    assert not [p for p in tmp_path.iterdir() if ".rendering" in p.name]


def test_binary_plumed_file_is_one_clear_error(tmp_path):
    spec = _spec(tmp_path, 20)
    Path(spec["plumed"]["file"]).write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff")
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    result = _cli("render", spec_path, "-o", tmp_path / "run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is not a text file" in result.stderr and not (tmp_path / "run").exists()


@pytest.mark.parametrize("first", [14, 15, 16])
def test_continuing_from_any_step_keeps_every_hill_and_row(tmp_path, first):
    """Time limits and stop requests end segments at any step, not at checkpoint multiples: the hill due
    right after (or at) the restart step must be deposited exactly once."""
    run = render_run(RunSpec.from_dict(_spec(tmp_path, first)), tmp_path / "run")
    execute(run.path)
    execute(run.path, steps=30 - first, continue_run=True)
    _assert_every_step_once(run.path, 30)
    whole = render_run(RunSpec.from_dict(_spec(tmp_path, 30)), tmp_path / "whole")
    execute(whole.path)
    for name in ("COLVAR", "HILLS"):
        np.testing.assert_allclose(read_table(run.path / name), read_table(whole.path / name), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n\xff\xfe", None])
def test_binary_or_directory_groups_file_is_one_clear_error(tmp_path, content):
    spec = _spec(tmp_path, 20)
    groups = tmp_path / "groups.json"
    if content is None:
        groups.mkdir()
    else:
        groups.write_bytes(content)
    spec["system"]["groups"] = str(groups)
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    result = _cli("render", spec_path, "-o", tmp_path / "run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "groups" in result.stderr and result.stderr.count("\n") == 1 and not (tmp_path / "run").exists()
