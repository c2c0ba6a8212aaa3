"""Execute a run directory in-process: LAMMPS through its Python module, DeePMD through its
plugin, PLUMED through `PlumedCoupling`.

The run advances in chunks (`run N pre no post no`) so that progress is reported, Ctrl-C and
SIGTERM stop cleanly at the next chunk boundary, and checkpoints (LAMMPS restart file + PLUMED
flush + recorded output sizes) are written at fixed step multiples.  `continue_run` resumes
from the last checkpoint after a normal end, an interrupt or a kill.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nucleate.errors import NucleateError
from nucleate.runtime import captured_stderr, lammps_class
from nucleate.systems import read_data

from . import rundir as rd
from .plumed_coupling import PlumedCoupling
from .plumed_input import run_outputs
from .progress import Progress
from .render import lammps_input, masses_for, spec_from_rundir
from .spec import RunSpec

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    status: str          # "completed" | "interrupted"
    start_step: int
    end_step: int
    wall_s: float        # whole segment, start-up included
    steps_per_s: float   # wall-clock rate of the run loop (set-up of the first chunk included)
    rundir: Path
    plumed_ms_per_step: float | None = None  # wall time inside PLUMED per MD step (set-up evaluation excluded)
    plumed_share: float | None = None        # that time over the run loop's time per step (0..1)


def check_models(spec: RunSpec, origins: dict[str, str] | None = None) -> None:
    """Load each DeePMD model once (about 1 s) to check it and its type map before LAMMPS starts.

    `origins` maps a run directory's model copies to the user's files, which the messages name."""
    if not spec.potential.is_deepmd:
        return
    from nucleate.runtime import quiet_environment

    quiet_environment()
    try:
        with captured_stderr():
            from deepmd.infer import DeepPot
    except ImportError as exc:
        raise NucleateError(f"DeePMD-kit cannot be imported ({exc}); run `make setup`") from None
    for model in spec.potential.deepmd:
        origin = (origins or {}).get(str(model))
        shown = f"{origin} (copied into the run directory as {model.name})" if origin else str(model)
        try:
            with captured_stderr(fds=(1,)):  # the model summary; stderr kept for real errors
                type_map = list(DeepPot(str(model)).get_type_map())
        except Exception as exc:  # noqa: BLE001 - DeePMD raises many types for unreadable models
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise NucleateError(f"DeePMD-kit cannot load the model {shown}: {first}") from None
        missing = [e for e in spec.system.type_map if e not in type_map]
        if missing:
            raise NucleateError(
                f"the model {shown} has type map {type_map}, which lacks {missing} used by the system's "
                f"type map {spec.system.type_map}; use a model trained on these elements")


class _StopRequest:
    """SIGINT/SIGTERM ask for a clean stop: the run ends after the current step with a checkpoint.

    The handler never raises: a Python exception raised while LAMMPS is inside the PLUMED callback
    would cut that step's COLVAR row or hill.  The first request makes LAMMPS end its `run` after
    the step in progress (`force_timeout`, checked every step); later ones are only acknowledged,
    the stop already under way finishes its checkpoint.  `kill -9` remains safe: the last checkpoint
    on disk is always intact."""

    def __init__(self, time_limit_s: float | None = None):
        self.signal: int | None = None
        self.reason: str | None = None  # "signal" | "time-limit"
        self.lmp = None  # set once LAMMPS exists, so that a request can end a run mid-chunk
        self._previous: dict[int, object] = {}
        self._timer = threading.Timer(time_limit_s, self.request, args=("time-limit",)) if time_limit_s else None

    def __enter__(self):
        with contextlib.suppress(ValueError):  # not in the main thread: no handlers
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        if self._timer is not None:
            self._timer.daemon = True
            self._timer.start()
        return self

    def _handle(self, signum, _frame):
        if self.reason is not None:
            os.write(2, b"nucleate: already stopping; writing the checkpoint\n")
            return
        self.signal = signum
        os.write(2, b"nucleate: stopping after this step; writing a checkpoint (a kill -9 is safe too)\n")
        self.request("signal")

    def request(self, reason: str) -> None:
        """Ask the run to end after the step in progress (from a signal handler or the time-limit timer;
        `force_timeout` only sets a flag that LAMMPS checks every step, so either thread may call it)."""
        if self.reason is None:
            self.reason = reason
        if self.lmp is not None:
            self.lmp.force_timeout()

    def attach(self, lmp) -> None:
        self.lmp = lmp
        if self.reason is not None:  # asked before LAMMPS existed
            lmp.force_timeout()

    @property
    def requested(self) -> bool:
        return self.reason is not None

    def __exit__(self, *exc):
        if self._timer is not None:
            self._timer.cancel()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


def _boundaries(start: int, target: int, every: int, checkpoint: int) -> list[int]:
    marks = {target}
    for stride in (every, checkpoint):
        first = (start // stride + 1) * stride
        marks.update(range(first, target, stride))
    return sorted(m for m in marks if start < m <= target)


class _Lammps:
    """A LAMMPS instance whose commands raise NucleateError naming the input line."""

    def __init__(self, run: rd.RunDirectory, continuation: bool):
        self.run = run
        self.lmp = lammps_class()(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        self.command(f"log {rd.LOG}{' append' if continuation else ''}", source="(log)")

    def command(self, line: str, *, source: str) -> None:
        try:
            self.lmp.command(line)
        except Exception as exc:  # noqa: BLE001 - the lammps module raises plain Exceptions with LAMMPS's message
            step = self.step
            _check_still_there(self.run)  # LAMMPS's own message would only say it cannot open a file
            raise NucleateError(f"{source}: LAMMPS stopped at step {step} on `{line.strip()}`: {_lammps_message(exc)}") from None

    def execute(self, script: str, name: str) -> None:
        for lineno, line in lammps_lines(script):
            if line and not line.startswith("#"):  # LAMMPS strips trailing comments itself, respecting quotes
                self.command(line, source=f"{name} line {lineno}")

    @property
    def step(self) -> int:
        try:
            return int(self.lmp.extract_global("ntimestep"))
        except Exception:  # noqa: BLE001 - before the box exists
            return 0


def lammps_lines(script: str) -> list[tuple[int, str]]:
    """Split an input as LAMMPS's own reader does: on "\\n" only (str.splitlines would also split on
    form feed, U+2028 and others, which LAMMPS keeps inside a line), joining a line that ends in `&`
    with the next.  Returns (first line number, stripped text)."""
    out: list[tuple[int, str]] = []
    pending, first = "", 0
    for lineno, raw in enumerate(script.split("\n"), start=1):
        text = raw.rstrip()
        if not pending:
            first = lineno
        if text.endswith("&"):
            pending += text[:-1] + " "
            continue
        out.append((first, (pending + text).strip()))
        pending = ""
    if pending:
        out.append((first, pending.strip()))
    return out


def _lammps_message(exc: Exception) -> str:
    text = str(exc).strip()
    for prefix in ("ERROR:", "ERROR on proc 0:"):
        if prefix in text:
            text = text.split(prefix, 1)[1].strip()
    text = text.splitlines()[0] if text else type(exc).__name__
    if "Lost atoms" in text or "Out of range atoms" in text:
        text += (" -- atoms moved further than the neighbour skin in one step: the potential or the bias gave "
                 "huge forces (check the model's domain and walls) or the timestep is too large. Everything "
                 "written so far is kept; the last checkpoint is intact")
    return text


def execute(rundir: str | Path, *, steps: int | None = None, continue_run: bool = False,
            overwrite: bool = False, time_limit_s: float | None = None, progress_stream=None) -> RunResult:
    """Run a rendered run directory in this process, or continue it from its last checkpoint.

    `steps` is the segment's length (default: the spec's `md.steps`; with `continue_run`, the steps
    to add).  `overwrite` starts again from step 0, keeping the earlier attempt's files in
    `replaced-<time>/`; a directory whose first segment failed before any checkpoint is started
    again the same way without it.  One process at a time: a second one is refused.  `time_limit_s`
    ends the segment cleanly, with a checkpoint, after that many seconds (status "time-limit"): a batch
    job gives its walltime less a margin, and the next job continues.

        >>> from nucleate.engine.render import render_run
        >>> run = render_run(load_spec("spec.yaml"), "run/")          # doctest: +SKIP
        >>> execute(run.path).status                                  # doctest: +SKIP
        'completed'
    """
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise NucleateError(f"the number of steps must be a positive integer, got {steps!r}")
    if time_limit_s is not None and not (isinstance(time_limit_s, (int, float)) and 0 < time_limit_s < float("inf")):
        raise NucleateError(f"the time limit must be a positive number of seconds, got {time_limit_s!r}")
    run = rd.RunDirectory(rundir)
    run.manifest()  # a clear message if this is not a run directory
    with run.lock():
        return _execute_locked(run, steps=steps, continue_run=continue_run, overwrite=overwrite,
                               time_limit_s=time_limit_s, progress_stream=progress_stream)


def advance(rundir: str | Path, until_step: int, *, time_limit_s: float | None = None,
            progress_stream=None, lammps: list[str] | None = None) -> RunResult:
    """Bring a run directory to step `until_step`, whatever its state: start it if no step of it was
    checkpointed yet, continue it from its last checkpoint otherwise, do nothing once it is there.
    This is what a batch job runs: the same command is right for the first job of a chain, for each
    continuation and for a job resubmitted after a node failure.  `lammps` (a command such as
    ["srun", "lmp"]) runs the segment with that LAMMPS executable instead of in this process
    (engine/native.py)."""
    if isinstance(until_step, bool) or not isinstance(until_step, int) or until_step < 1:
        raise NucleateError(f"the target step must be a positive integer, got {until_step!r}")
    if time_limit_s is not None and not (isinstance(time_limit_s, (int, float)) and 0 < time_limit_s < float("inf")):
        raise NucleateError(f"the time limit must be a positive number of seconds, got {time_limit_s!r}")
    run = rd.RunDirectory(rundir)
    run.manifest()
    # A batch job waits (within its time limit) for another process of the same run directory to finish:
    # a job the scheduler reported lost, or one a killed submitter never recorded, may still be running it.
    # The state is read only once the lock is held, so the job continues from wherever that one stopped.
    asked = time.monotonic()
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(run.lock(wait_s=time_limit_s or 0.0))
        except rd.RunDirectoryBusy:
            if time_limit_s is None:
                raise
            # the other process kept it for this job's whole time: nothing run, nothing lost; the next job goes on
            log.warning("%s stayed in use for this job's %.0f s; nothing was run", run.path, time_limit_s)
            checkpoint = run.checkpoint()
            done = int(checkpoint["step"]) if checkpoint else 0
            return RunResult(status="time-limit", start_step=done, end_step=done, wall_s=time.monotonic() - asked,
                             steps_per_s=0.0, rundir=run.path)
        waited = time.monotonic() - asked
        checkpoint, _ = run.usable_checkpoint() if run.checkpoint() is not None else (None, [])
        done = int(checkpoint["step"]) if checkpoint is not None else 0
        if checkpoint is not None and done >= until_step:
            return RunResult(status="completed", start_step=done, end_step=done, wall_s=0.0, steps_per_s=0.0,
                             rundir=run.path)
        remaining = None if time_limit_s is None else time_limit_s - waited
        if remaining is not None and remaining <= 0:
            return RunResult(status="time-limit", start_step=done, end_step=done, wall_s=waited, steps_per_s=0.0,
                             rundir=run.path)
        if lammps:
            from .native import run_segment

            began = time.perf_counter()
            status, step, rate = run_segment(run, until_step=until_step, checkpoint=checkpoint,
                                             time_limit_s=remaining, command=lammps)
            return RunResult(status=status, start_step=done, end_step=step, wall_s=time.perf_counter() - began,
                             steps_per_s=rate, rundir=run.path)
        if checkpoint is None:
            return _execute_locked(run, steps=until_step, continue_run=False, overwrite=False,
                                   time_limit_s=remaining, progress_stream=progress_stream)
        return _execute_locked(run, steps=until_step - done, continue_run=True, overwrite=False,
                               time_limit_s=remaining, progress_stream=progress_stream)


@dataclass
class _Plan:
    start: int
    target: int
    checkpoint: dict | None  # the checkpoint resumed from (continuations only)


def _plan_segment(run: rd.RunDirectory, spec: RunSpec, *, steps: int | None, continue_run: bool,
                  overwrite: bool, external: list[Path]) -> _Plan:
    if continue_run:
        checkpoint, notes = run.usable_checkpoint()
        for note in notes:
            log.warning("%s", note)
        if checkpoint is None:
            if not notes:
                raise NucleateError(f"{run.path} has no checkpoint to continue from (no step of it was completed); "
                                    f"start it with `nucleate run {run.path}`")
            raise NucleateError(f"{run.path} has no intact checkpoint left ({'; '.join(notes)}); start again with "
                                f"`nucleate run {run.path} --overwrite` (the old outputs are kept aside)")
        start = int(checkpoint["step"])
        target = start + steps if steps is not None else spec.md.steps
        if target <= start:
            raise NucleateError(f"{run.path} already reached step {start} (the spec asks for {spec.md.steps}); "
                                "give --steps N to run N more steps")
        return _Plan(start, target, checkpoint)
    if run.has_run():
        # no step of the earlier attempt was checkpointed: nothing to continue, so run it again
        failed_start = not overwrite and run.checkpoint() is None
        if not (overwrite or failed_start):
            raise NucleateError(f"{run.path} already holds a run; use --continue to extend it or --overwrite to "
                                "start it again (the old outputs are kept aside)")
        aside = run.set_aside_attempt(external)
        if aside is not None:
            why = "started again" if overwrite else "its earlier attempt ended before any checkpoint"
            log.warning("%s: %s; the earlier attempt's files are kept in %s", run.path, why, aside)
    target = steps if steps is not None else spec.md.steps
    if target < 1:
        raise NucleateError(f"{run.path}: the spec asks for {target} steps, so there is nothing to run; "
                            "give --steps N")
    return _Plan(0, target, None)


def _model_origins(run: rd.RunDirectory, spec: RunSpec) -> dict[str, str]:
    """The user's model files behind the run directory's copies (as rendered), for messages."""
    originals = run.manifest().get("spec", {}).get("potential", {}).get("deepmd") or []
    return {str(copy): str(original) for copy, original in zip(spec.potential.deepmd, originals)}


def _toggle_order(resumed_from: str | None) -> tuple[str, str]:
    """LAMMPS's `restart N a b` writes `a` first in every new process: never list first the file a
    continuation resumes from, or a kill right after that first write destroys the only checkpoint."""
    a, b = rd.RESTART_TOGGLE
    return (b, a) if resumed_from == a else (a, b)


def _write_local_input(run: rd.RunDirectory, spec: RunSpec, data, *, has_plumed: bool, plan: _Plan) -> str:
    """Write the exact input this segment runs into the run directory: what runs is what is on disk."""
    continuation = plan.checkpoint is not None
    name = f"{rd.LOCAL_INPUT_PREFIX}.from-step-{plan.start}.lammps" if continuation else f"{rd.LOCAL_INPUT_PREFIX}.lammps"
    resumed_from = plan.checkpoint["restart_file"] if continuation else None
    script = lammps_input(spec, mode="local", has_plumed=has_plumed, continuation=continuation,
                          start_step=plan.start, data=data, restart_file=resumed_from or rd.RESTART_END,
                          restart_toggle=_toggle_order(resumed_from), input_name=name)
    rd.write_text_atomic(run / name, script)
    return name


def _execute_locked(run: rd.RunDirectory, *, steps, continue_run, overwrite, time_limit_s,
                    progress_stream) -> RunResult:
    """One in-process segment of a locked run directory: plan it, start LAMMPS on the input written for it,
    couple PLUMED, run from mark to mark with checkpoints, and record the segment whatever happens."""
    spec = spec_from_rundir(run)
    external = run_outputs(run.path)
    plan = _plan_segment(run, spec, steps=steps, continue_run=continue_run, overwrite=overwrite, external=external)
    check_models(spec, _model_origins(run, spec))
    cwd = os.getcwd()
    os.chdir(run.path)
    t0 = time.perf_counter()
    status, coupling, lmp, step, md_rate, input_name = "failed", None, None, plan.start, 0.0, None
    with _StopRequest(time_limit_s) as stop:
        try:
            lmp, coupling, input_name = _start_segment(run, spec, plan, stop)
            bar = Progress(plan.start, plan.target, spec.md.timestep_fs, stream=progress_stream, label=spec.name,
                           plumed_ms=(lambda: coupling.plumed_ms_per_step) if coupling else None)
            status, step = _advance_segment(lmp, run, spec, coupling, stop, bar, plan, external)
            bar.close(step, status)
            md_rate = bar.rate(step)
        except KeyboardInterrupt:  # only without our handlers (not the main thread)
            status = "interrupted"
            raise NucleateError(f"{run.path}: stopped hard at step {lmp.step if lmp else plan.start}; continue from "
                                f"the last checkpoint with `nucleate run {run.path} --continue`") from None
        finally:
            wall = time.perf_counter() - t0
            _close(coupling, lmp)
            os.chdir(cwd)
            cost = _plumed_cost(coupling, md_rate)
            _record_segment(run, _segment_record(run, plan, continue_run, step, status, wall, md_rate, cost,
                                                 input_name), failing=sys.exc_info()[0] is not None)
    return RunResult(status=status, start_step=plan.start, end_step=step, wall_s=wall, steps_per_s=md_rate,
                     rundir=run.path, plumed_ms_per_step=cost.get("plumed_ms_per_step"),
                     plumed_share=cost.get("plumed_share"))


def _start_segment(run: rd.RunDirectory, spec: RunSpec, plan: _Plan, stop: _StopRequest):
    """Set aside what a crash left after the checkpoint, start LAMMPS on this segment's input (written into
    the run directory first) and couple PLUMED; returns (LAMMPS, coupling or None, input name)."""
    continuation = plan.checkpoint is not None
    if continuation:
        for path in run.set_aside_after(plan.checkpoint["file_sizes"], plan.start):
            log.warning("output written after the step-%d checkpoint kept in %s", plan.start, path)
    lmp = _Lammps(run, continuation)
    stop.attach(lmp.lmp)
    has_plumed = (run / rd.PLUMED).exists()
    data = read_data(run / rd.DATA)  # once: the input's masses and the coupling's
    input_name = _write_local_input(run, spec, data, has_plumed=has_plumed, plan=plan)
    with captured_stderr():  # DeePMD/TensorFlow chatter while the model loads
        lmp.execute((run / input_name).read_text(), input_name)
    if continuation:
        _check_restored_step(lmp, plan.checkpoint)
    coupling = None
    if has_plumed:
        data_masses = np.array([0.0] + [m["mass"] for m in masses_for(spec, data)])
        coupling = PlumedCoupling(
            lmp.lmp, run / rd.PLUMED, run / (f"plumed.{plan.start}.log" if continuation else "plumed.log"),
            timestep_ps=spec.md.timestep_ps, natoms=int(lmp.lmp.get_natoms()), masses_by_type=data_masses,
            restart_step=plan.start if continuation else None, restart=continuation)
        coupling.attach()
    return lmp, coupling, input_name


def _advance_segment(lmp: "_Lammps", run: rd.RunDirectory, spec: RunSpec, coupling, stop: _StopRequest, bar,
                     plan: _Plan, external: list[Path]) -> tuple[str, int]:
    """Run the segment from its start to its target (or a stop request); returns (status, last step)."""
    start, target, continuation = plan.start, plan.target, plan.checkpoint is not None
    every = spec.output.progress or max(1, min(spec.output.checkpoint, spec.output.thermo * 10))
    marks = _boundaries(start, target, every, spec.output.checkpoint)
    if coupling:
        coupling.checkpoint_steps = {m for m in marks if m % spec.output.checkpoint == 0 or m == target}
    if continuation and not stop.requested:
        # The restart step's setup re-writes its thermo row, dump frame and COLVAR row (all flushed):
        # every output goes back to its size at the checkpoint, so nothing is written twice.
        lmp.command("run 0 post no", source="(continue setup)")
        _raise_pending(coupling)
        run.cut_back(plan.checkpoint["file_sizes"], list(plan.checkpoint["file_sizes"]))
    status = _run_marks(lmp, run, spec, coupling, stop, bar, marks, start=start, target=target,
                        fresh=not continuation, external=external)
    step = lmp.step if status != "interrupted-before-start" else start
    if status.startswith("interrupted"):
        status = "time-limit" if stop.reason == "time-limit" else "interrupted"
    return status, step


def _segment_record(run: rd.RunDirectory, plan: _Plan, continue_run: bool, step: int, status: str, wall: float,
                    md_rate: float, cost: dict, input_name: str | None) -> dict:
    """The segment's entry in the manifest (its keys: engine.manifest.SEGMENT_FIELDS)."""
    done = max(step - plan.start, 0)
    return {"kind": "continue" if continue_run else "run", "start_step": plan.start, "end_step": step,
            "target_step": plan.target, "status": status, "wall_s": round(wall, 3),
            "steps_per_s": round(md_rate, 3), "wall_per_step_s": round(wall / done, 6) if done else None,
            **cost,
            "input": input_name,
            "input_sha256": rd.sha256(run / input_name) if input_name and (run / input_name).exists() else None,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _plumed_cost(coupling: PlumedCoupling | None, md_rate: float) -> dict:
    """What PLUMED cost this segment, for the manifest: ms per MD step inside PLUMED and its share of the
    run loop's time per step (the rest is the model, LAMMPS and the coupling's Python)."""
    if coupling is None or coupling.calls < 2:
        return {}
    ms = coupling.plumed_ms_per_step
    share = min(ms * 1e-3 * md_rate, 1.0) if md_rate > 0 else None
    return {"plumed_ms_per_step": round(ms, 4), "plumed_share": round(share, 4) if share is not None else None,
            "plumed_s": round(coupling.plumed_seconds, 3), "plumed_callback_s": round(coupling.callback_seconds, 3),
            "plumed_calls": coupling.calls, "plumed_init_s": round(coupling.init_seconds, 3)}


def _run_marks(lmp: "_Lammps", run: rd.RunDirectory, spec: RunSpec, coupling, stop: _StopRequest, bar,
               marks: list[int], *, start: int, target: int, fresh: bool, external: list[Path]) -> str:
    """Advance from mark to mark, checkpointing; returns the segment's status."""
    step = start
    for k, mark in enumerate(marks):
        if stop.requested and step == start:
            return "interrupted-before-start"  # nothing new since the last checkpoint (or none at all)
        pre = "yes" if (fresh and k == 0) else "no"
        lmp.command(f"run {mark - step} pre {pre} post no", source=f"(steps {step}-{mark})")
        _raise_pending(coupling)
        step = lmp.step
        _check_finite(lmp.lmp, coupling, step)
        _check_still_there(run)
        bar.update(step)
        # read the flag once: a signal arriving while a toggle checkpoint is recorded must not end the
        # segment without restart.end; it is honoured at the next mark instead
        stopping = stop.requested or step < mark  # a run cut short by a stop request ends before its mark
        if step == mark and mark % spec.output.checkpoint == 0:
            _record_toggle_checkpoint(run, step, external)  # also where the segment ends: one more fallback
        if stopping or mark == target:
            if coupling:
                coupling.finalize()  # flush PLUMED's files up to this step before recording sizes
            _write_final_checkpoint(lmp, run, step, external)
            return "interrupted" if stopping and step < target else "completed"
    return "completed"


def _check_restored_step(lmp: "_Lammps", checkpoint: dict) -> None:
    if lmp.step != int(checkpoint["step"]):
        raise NucleateError(
            f"{checkpoint['restart_file']} holds step {lmp.step}, but the checkpoint being resumed is step "
            f"{checkpoint['step']}; nothing was run. Start again with --overwrite (old outputs kept aside)")


def _check_still_there(run: rd.RunDirectory) -> None:
    if not (run / rd.MANIFEST).exists():
        raise NucleateError(f"the run directory {run.path} was deleted or moved during the run; stopped")


def _close(coupling, lmp) -> None:
    if coupling:
        with contextlib.suppress(Exception):
            coupling.finalize()
    if lmp is not None:
        with contextlib.suppress(Exception):
            lmp.lmp.close()


def _record_segment(run: rd.RunDirectory, segment: dict, *, failing: bool) -> None:
    """Add the segment to the manifest; while another error is already on its way (a full disk, a deleted
    directory), a failure here must not hide that error."""
    try:
        run.add_segment(segment)
    except (NucleateError, OSError) as exc:
        if not failing:
            raise
        if run.path.is_dir():  # a deleted directory has its own error on the way
            log.warning("the segment record could not be added to %s: %s", run / rd.MANIFEST, exc)


def _raise_pending(coupling: PlumedCoupling | None) -> None:
    if coupling is not None:
        coupling.raise_pending()


def _check_finite(lmp, coupling: PlumedCoupling | None, step: int) -> None:
    x = lmp.numpy.extract_atom("x")
    v = lmp.numpy.extract_atom("v")
    bad_coupling = coupling.first_bad_step if coupling else None
    if bad_coupling is not None or not (np.isfinite(x).all() and np.isfinite(v).all()):
        at = f"at step {bad_coupling}" if bad_coupling is not None else f"by step {step}"
        raise NucleateError(
            f"the simulation blew up: non-finite positions or velocities {at} (NaN energy or forces from the "
            "potential, or a timestep too large). Everything written so far is kept; the last checkpoint is "
            "intact. Check the model's domain (the methanol bond guards of the presets) and the timestep.")


def _record_toggle_checkpoint(run: rd.RunDirectory, step: int, external: list[Path]) -> None:
    """LAMMPS's `restart` command wrote this step's state into the newer of restart.a/b."""
    files = [run / name for name in rd.RESTART_TOGGLE if (run / name).exists()]
    if not files:
        raise NucleateError(f"LAMMPS wrote no restart file by step {step} in {run.path}")
    newest = max(files, key=lambda p: p.stat().st_mtime_ns)
    run.record_checkpoint(step, newest.name, external)


def _write_final_checkpoint(lmp: _Lammps, run: rd.RunDirectory, step: int, external: list[Path]) -> None:
    # write_restart re-initialises LAMMPS (which confuses `fix print` in later `pre no` runs),
    # so it is used only where this segment ends.
    tmp = rd.RESTART_END + ".tmp"
    try:
        lmp.command(f"write_restart {tmp}", source="(checkpoint)")
        os.replace(tmp, rd.RESTART_END)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    run.record_checkpoint(step, rd.RESTART_END, external)
