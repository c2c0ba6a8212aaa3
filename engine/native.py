"""The native-LAMMPS engine: a segment of a run directory run by a LAMMPS executable built with
DeePMD-kit and PLUMED (`lmp`, `srun lmp`, `mpirun -np 4 lmp -k on g 1 -sf kk`), under nucleate's watch.

This is what a cluster with its own LAMMPS (MPI, GPU or KOKKOS builds, `fix plumed`) runs instead of the
in-process engine.  nucleate keeps the in-process engine's guarantees around it:

* before LAMMPS: the run directory's lock; the segment starts at step 0 or at the last checkpoint,
  whatever a killed segment wrote after that checkpoint set aside as `<file>.after-step-N` (never
  deleted); the exact input is written first (`native.in[.from-step-N].lammps`), with PLUMED's
  RESTART for a continuation (`native.plumed.from-step-N.dat`);
* in LAMMPS: `run TARGET upto`, `timer timeout` to end cleanly before the job's walltime, then
  `write_restart` and the step it ended at;
* after LAMMPS: a continuation's setup writes the restart step's records again (its dump frame, thermo
  row and COLVAR row, and the files' headers); they are dropped, so every step is in each file once;
  then the checkpoint (file sizes, restart file and its hash) and the segment's record.

A segment killed before its end (scancel, node failure, out of memory) records no checkpoint: the next
one continues from the previous segment's end and sets aside what the killed one wrote.  That costs the
killed segment's steps, not a row of output; `--steps-per-job` bounds the loss.  (The in-process engine
checkpoints every `output.checkpoint` steps instead, because it can flush PLUMED's files at will.)
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

from nucleate.errors import NucleateError
from nucleate.units import TIME_TO_PS

from . import rundir as rd

log = logging.getLogger(__name__)

PREFIX = rd.NATIVE_PREFIX                # every file of this engine's own (inputs, logs, restarts, end step)
STEP_FILE = "native.step"           # the step a segment ended at, written by LAMMPS after write_restart
RESTART_TMP = "native.restart.tmp"  # write_restart's target, renamed into place once LAMMPS has exited
RESTARTS = ("native.restart.a", "native.restart.b")  # alternate: the one resumed from is never overwritten
_SHELL_SPECIALS = set(";&|<>`$(){}\n\\\"'*?!#")


def parse_command(command: str | list[str], *, where: str = "the LAMMPS command") -> list[str]:
    """The LAMMPS command as words ("srun lmp", "mpirun -np 4 lmp -sf kk"): plain words, no shell syntax."""
    words = command.split() if isinstance(command, str) else [str(w) for w in command]
    bad = [w for w in words if set(w) & _SHELL_SPECIALS]
    if not words or bad:
        raise NucleateError(f"{where}: {command!r} must be plain words such as 'srun lmp' or 'mpirun -np 4 lmp' "
                            f"(no quotes, variables, redirections or ';'){': ' + ' '.join(bad) if bad else ''}")
    if any(w in ("-in", "-i", "-log", "-l") for w in words):
        raise NucleateError(f"{where}: {command!r}: leave out -in and -log; nucleate gives the input and the log")
    return words


def run_segment(run: rd.RunDirectory, *, until_step: int, checkpoint: dict | None, time_limit_s: float | None,
                command: list[str]) -> tuple[str, int, float]:
    """Run one native segment of a locked run directory up to `until_step` (from `checkpoint`, or from step 0
    when None); returns (status, end step, MD steps/s).  A failed LAMMPS is a NucleateError naming its log."""
    from .plumed_input import run_outputs
    from .render import lammps_input, spec_from_rundir

    spec = spec_from_rundir(run)
    has_plumed = (run / rd.PLUMED).exists()
    external = run_outputs(run.path)
    start = int(checkpoint["step"]) if checkpoint else 0
    if checkpoint is None and run.has_run():
        aside = run.set_aside_attempt(external)
        if aside is not None:
            log.warning("%s: its earlier attempt ended before any checkpoint; its files are kept in %s", run.path, aside)
    if checkpoint is not None:
        for path in run.set_aside_after(checkpoint["file_sizes"], start):
            log.warning("output written after the step-%d checkpoint kept in %s", start, path)
    for leftover in (STEP_FILE, RESTART_TMP):
        (run / leftover).unlink(missing_ok=True)

    name, settings = _inputs(run, spec, checkpoint, until_step=until_step, time_limit_s=time_limit_s,
                             has_plumed=has_plumed)
    resumed = checkpoint["restart_file"] if checkpoint else None
    script = lammps_input(spec, mode="hpc", has_plumed=has_plumed, continuation=checkpoint is not None,
                          start_step=start, restart_file=resumed or rd.RESTART_END, input_name=name, native=settings)
    rd.write_text_atomic(run / name, script)

    argv = [*command, "-in", name, "-nocite", "-log", "none" if checkpoint else rd.LOG]
    t0 = time.perf_counter()
    status, step = "failed", start
    try:
        returncode = _run_lammps(argv, run.path)
        if returncode != 0 or not (run / STEP_FILE).is_file():
            raise NucleateError(f"{run.path}: LAMMPS ({' '.join(command)}) stopped with exit status {returncode} "
                                f"before the end of its input {name}{_lammps_error(run)}; see {run / rd.LOG}. "
                                f"Nothing after step {start} is kept as a checkpoint; the next segment continues "
                                "from there")
        step = _ended_at(run)
        restart = RESTARTS[1] if resumed == RESTARTS[0] else RESTARTS[0]
        os.replace(run / RESTART_TMP, run / restart)
        if checkpoint is not None:
            drop_restart_step_records(run, checkpoint["file_sizes"], start, spec.md.timestep_ps,
                                      (run.manifest().get("plumed_units") or {}).get("time", "ps"))
        run.record_checkpoint(step, restart, external)
        status = "completed" if step >= until_step else "time-limit"
    finally:
        wall = time.perf_counter() - t0
        rate = (step - start) / wall if wall > 0 else 0.0
        segment = {"kind": "continue" if checkpoint else "run", "engine": "lammps", "command": " ".join(command),
                   "start_step": start, "end_step": step, "target_step": until_step, "status": status,
                   "wall_s": round(wall, 3), "steps_per_s": round(rate, 3),
                   "input": name, "input_sha256": rd.sha256(run / name),
                   "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        with contextlib.suppress(NucleateError, OSError):
            run.add_segment(segment)
    return status, step, rate


def _inputs(run: rd.RunDirectory, spec, checkpoint: dict | None, *, until_step: int, time_limit_s: float | None,
            has_plumed: bool) -> tuple[str, dict]:
    """The input's name and its native settings; a continuation's PLUMED input gets RESTART."""
    start = int(checkpoint["step"]) if checkpoint else 0
    suffix = f".from-step-{start}" if checkpoint else ""
    settings = {"target_step": until_step, "end_restart": RESTART_TMP, "step_file": STEP_FILE,
                "log_file": rd.LOG if checkpoint else None,
                # LAMMPS checks the clock every 10 steps; a few seconds are left for write_restart
                "timeout_s": max(1, int(time_limit_s - 5)) if time_limit_s else None}
    if has_plumed:
        settings["plumed_log"] = f"{PREFIX}plumed{suffix}.log"
        if checkpoint:
            text = (run / rd.PLUMED).read_text()
            if not any(line.split()[:1] == ["RESTART"] for line in text.splitlines()):
                text = ("# continuation of the run from its step-%d checkpoint: PLUMED appends to its files and "
                        "reads its hills back\nRESTART\n" % start) + text
            plumed_name = f"{PREFIX}plumed{suffix}.dat"
            rd.write_text_atomic(run / plumed_name, text)
            settings["plumed_file"] = plumed_name
    return f"{PREFIX}in{suffix}.lammps", settings


def _run_lammps(argv: list[str], cwd: Path) -> int:
    """Run LAMMPS in the run directory; a SIGTERM/SIGINT to this process (a scheduler ending the job) is
    passed on, and LAMMPS is never left running after us."""
    try:
        process = subprocess.Popen(argv, cwd=cwd, start_new_session=True)
    except OSError as exc:
        raise NucleateError(f"cannot start LAMMPS: {argv[0]!r}: {exc.strerror or exc}; give the command of a LAMMPS "
                            "built with DeePMD-kit and PLUMED (on the PATH, or its full path)") from None

    def forward(signum, _frame):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)

    previous = {}
    with contextlib.suppress(ValueError):  # not the main thread
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, forward)
    try:
        return process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _lammps_error(run: rd.RunDirectory) -> str:
    """LAMMPS's own ERROR line from the end of its log, with what it means for a missing `fix plumed`."""
    try:
        with open(run / rd.LOG, "rb") as handle:
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - 20000))
            lines = handle.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    errors = [ln.strip() for ln in lines if ln.startswith("ERROR")]
    if not errors:
        return ""
    hint = (" (this LAMMPS was built without the PLUMED package: use one with `fix plumed`, or the in-process "
            "engine)") if "fix style" in errors[-1] and "plumed" in errors[-1] else ""
    return f": {errors[-1]}{hint}"


def _ended_at(run: rd.RunDirectory) -> int:
    text = (run / STEP_FILE).read_text().strip()
    try:
        return int(float(text))
    except ValueError:
        raise NucleateError(f"{run / STEP_FILE}: {text!r} is not the step LAMMPS ended at") from None


# ------------------------------------------------------------------------------------ the restart step's records
def drop_restart_step_records(run: rd.RunDirectory, sizes: dict[str, int], step: int, timestep_ps: float,
                              plumed_time_unit: str) -> None:
    """Remove what a continuation wrote again for its restart step, right after the checkpoint's size of each
    file: headers and the step's own records (dump frame, thermo row, PLUMED row at that time)."""
    plumed_time = step * timestep_ps / TIME_TO_PS[plumed_time_unit.lower()]
    for key, size in sizes.items():
        if os.path.isabs(key):
            continue  # a walker's hills in the shared folder: kept whole (RunDirectory.set_aside_after says why)
        path = run.path / key
        if not path.is_file() or path.stat().st_size <= size:
            continue
        if path.name == rd.DUMP:
            length = _leading_dump_frames(path, size, step)
        elif path.name == rd.THERMO:
            length = _leading_lines(path, size, lambda first: _is_int(first, step))
        elif _plumed_table(path):
            length = _leading_lines(path, size, lambda first: _is_time(first, plumed_time))
        else:
            continue
        if length:
            _cut(path, size, length)


def _leading_lines(path: Path, offset: int, is_repeat) -> int:
    """Bytes from `offset` taken by header lines ('#') and rows whose first field `is_repeat`."""
    length = 0
    with open(path, "rb") as handle:
        handle.seek(offset)
        for line in handle:
            words = line.split()
            if not line.endswith(b"\n") or not (line.startswith(b"#") or (words and is_repeat(words[0]))):
                break
            length += len(line)
    return length


def _leading_dump_frames(path: Path, offset: int, step: int) -> int:
    """Bytes from `offset` taken by dump frames of `step` (each starts with 'ITEM: TIMESTEP')."""
    length, frame, in_repeat = 0, 0, False
    with open(path, "rb") as handle:
        handle.seek(offset)
        lines = iter(handle)
        for line in lines:
            if line.startswith(b"ITEM: TIMESTEP"):
                length += frame
                frame = len(line)
                number = next(lines, b"")
                frame += len(number)
                in_repeat = _is_int(number.strip(), step)
                if not in_repeat:
                    return length
                continue
            if not in_repeat:
                return length
            frame += len(line)
    return length + frame if in_repeat else length


def _plumed_table(path: Path) -> bool:
    with open(path, "rb") as handle:
        first = handle.readline()
    return first.startswith(b"#! FIELDS time")


def _is_int(word: bytes, value: int) -> bool:
    try:
        return int(word) == value
    except ValueError:
        return False


def _is_time(word: bytes, value: float) -> bool:
    try:
        return abs(float(word) - value) <= 1e-6 * max(abs(value), 1.0)
    except ValueError:
        return False


def _cut(path: Path, offset: int, length: int, block: int = 1 << 20) -> None:
    """Remove bytes [offset, offset + length) in place, moving the rest back (the file keeps its inode)."""
    with open(path, "r+b") as handle:
        source, target = offset + length, offset
        while True:
            handle.seek(source)
            chunk = handle.read(block)
            if not chunk:
                break
            handle.seek(target)
            handle.write(chunk)
            source += len(chunk)
            target += len(chunk)
        handle.truncate(target)

