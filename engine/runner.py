"""Execute a run directory in-process: LAMMPS through its Python module, DeePMD through its
plugin, PLUMED through `PlumedCoupling`.

The run advances in chunks (`run N pre no post no`) so that progress is reported, Ctrl-C and
SIGTERM stop cleanly at the next chunk boundary, and checkpoints (LAMMPS restart file + PLUMED
flush + recorded output sizes) are written at fixed step multiples.  `continue_run` resumes
from the last checkpoint after a normal end, an interrupt or a kill.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nucleate.errors import NucleateError
from nucleate.runtime import captured_stderr, lammps_class
from nucleate.systems import read_data

from . import rundir as rd
from .plumed_coupling import PlumedCoupling
from .progress import Progress
from .render import lammps_input, masses_for, spec_from_rundir
from .spec import RunSpec


@dataclass
class RunResult:
    status: str          # "completed" | "interrupted"
    start_step: int
    end_step: int
    wall_s: float        # whole segment, start-up included
    steps_per_s: float   # wall-clock rate of the run loop (set-up of the first chunk included)
    rundir: Path


def check_models(spec: RunSpec) -> None:
    """Load each DeePMD model once (about 1 s) to check it and its type map before LAMMPS starts."""
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
        try:
            with captured_stderr(fds=(1,)):  # the model summary; stderr kept for real errors
                type_map = list(DeepPot(str(model)).get_type_map())
        except Exception as exc:  # DeePMD raises many types for unreadable models
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise NucleateError(f"DeePMD-kit cannot load the model {model}: {first}") from None
        missing = [e for e in spec.system.type_map if e not in type_map]
        if missing:
            raise NucleateError(
                f"the model {model} has type map {type_map}, which lacks {missing} used by the system's "
                f"type map {spec.system.type_map}; use a model trained on these elements")


class _StopRequest:
    """SIGINT/SIGTERM set a flag; the run stops at the next chunk boundary with a checkpoint."""

    def __init__(self):
        self.signal: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self):
        with contextlib.suppress(ValueError):  # not in the main thread: no handlers
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, _frame):
        if self.signal is not None:  # second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.signal = signum

    def __exit__(self, *exc):
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
        self.lmp = lammps_class()(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        self.command(f"log {rd.LOG}{' append' if continuation else ''}", source="(log)")

    def command(self, line: str, *, source: str) -> None:
        try:
            self.lmp.command(line)
        except Exception as exc:  # the lammps module raises plain Exceptions with LAMMPS's message
            step = self.step
            raise NucleateError(f"{source}: LAMMPS stopped at step {step} on `{line.strip()}`: {_lammps_message(exc)}") from None

    def execute(self, script: str, name: str) -> None:
        for lineno, raw in enumerate(script.splitlines(), start=1):
            line = raw.strip()  # LAMMPS strips comments itself, respecting quotes
            if line and not line.startswith("#"):
                self.command(line, source=f"{name} line {lineno}")

    @property
    def step(self) -> int:
        try:
            return int(self.lmp.extract_global("ntimestep"))
        except Exception:  # noqa: BLE001 - before the box exists
            return 0


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
            progress_stream=None) -> RunResult:
    run = rd.RunDirectory(rundir)
    spec = spec_from_rundir(run)
    checkpoint = run.checkpoint()
    if continue_run:
        if checkpoint is None:
            raise NucleateError(f"{run.path} has no checkpoint to continue from; start it with `nucleate run {run.path}`")
        start = int(checkpoint["step"])
        target = start + steps if steps is not None else spec.md.steps
        if target <= start:
            raise NucleateError(f"{run.path} already reached step {start} (the spec asks for {spec.md.steps}); "
                                "give --steps N to run N more steps")
    else:
        if run.has_run():
            raise NucleateError(f"{run.path} already holds a run; use --continue to extend it or --overwrite to replace it")
        start, target = 0, steps if steps is not None else spec.md.steps

    check_models(spec)
    has_plumed = (run / rd.PLUMED).exists()
    cwd = os.getcwd()
    os.chdir(run.path)
    t0 = time.perf_counter()
    status, coupling, lmp, step, md_rate = "failed", None, None, start, 0.0
    try:
        if continue_run:
            moved = run.set_aside_after(checkpoint["file_sizes"], start)
            for path in moved:
                print(f"nucleate: output written after the step-{start} checkpoint kept in {path.name}")
        lmp = _Lammps(run, continue_run)
        data = read_data(run / rd.DATA)  # once: the input's masses and the coupling's
        script = lammps_input(spec, mode="local", has_plumed=has_plumed, continuation=continue_run, start_step=start, data=data,
                              restart_file=checkpoint["restart_file"] if continue_run else rd.RESTART_END)
        with captured_stderr():  # DeePMD/TensorFlow chatter while the model loads
            lmp.execute(script, f"{rd.INPUT} (local)")
        if has_plumed:
            data_masses = np.array([0.0] + [m["mass"] for m in masses_for(spec, data)])
            coupling = PlumedCoupling(
                lmp.lmp, run / rd.PLUMED, run / (f"plumed.{start}.log" if continue_run else "plumed.log"),
                timestep_ps=spec.md.timestep_ps, natoms=int(lmp.lmp.get_natoms()), masses_by_type=data_masses,
                restart_step=start if continue_run else None, restart=continue_run)
            coupling.attach()

        every = spec.output.progress or max(1, min(spec.output.checkpoint, spec.output.thermo * 10))
        marks = _boundaries(start, target, every, spec.output.checkpoint)
        if coupling:
            coupling.checkpoint_steps = {m for m in marks if m % spec.output.checkpoint == 0 or m == target}
        bar = Progress(start, target, spec.md.timestep_fs, stream=progress_stream, label=spec.name)
        with _StopRequest() as stop:
            if continue_run:
                # LAMMPS re-writes dump/thermo rows for the restart step during setup; drop those duplicates.
                lmp.command("run 0 post no", source="(continue setup)")
                _raise_pending(coupling)
                run.cut_back(checkpoint["file_sizes"], [rd.THERMO, rd.DUMP])
            step = start
            for k, mark in enumerate(marks):
                pre = "no" if (continue_run or k > 0) else "yes"
                lmp.command(f"run {mark - step} pre {pre} post no", source=f"(steps {step}-{mark})")
                _raise_pending(coupling)
                step = lmp.step
                _check_finite(lmp.lmp, coupling, step)
                bar.update(step)
                # read the flag once: a signal arriving while a toggle checkpoint is recorded must not end the
                # segment without restart.end; it is honoured at the next mark instead
                stopping = stop.signal is not None
                ending = mark == target or stopping
                if ending:
                    if coupling:
                        coupling.finalize()  # flush PLUMED's files up to this step before recording sizes
                    _write_final_checkpoint(lmp, run, step)
                elif mark % spec.output.checkpoint == 0:
                    _record_toggle_checkpoint(run, step)
                if stopping:
                    status = "interrupted"
                    break
            else:
                status = "completed"
        bar.close(step, status)
        md_rate = bar.rate(step)
    except KeyboardInterrupt:
        status = "interrupted"
        raise NucleateError(f"{run.path}: stopped hard at step {lmp.step if lmp else start}; continue from the last "
                            f"checkpoint with `nucleate run {run.path} --continue`") from None
    finally:
        wall = time.perf_counter() - t0
        if coupling:
            coupling.finalize()
        if lmp is not None:
            with contextlib.suppress(Exception):
                lmp.lmp.close()
        os.chdir(cwd)
        done = max(step - start, 0)
        run.add_segment({"kind": "continue" if continue_run else "run", "start_step": start, "end_step": step,
                         "target_step": target, "status": status, "wall_s": round(wall, 3),
                         "steps_per_s": round(md_rate, 3), "wall_per_step_s": round(wall / done, 6) if done else None,
                         "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    return RunResult(status=status, start_step=start, end_step=step, wall_s=wall, steps_per_s=md_rate,
                     rundir=run.path)


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
            "intact. Check the model's domain (LOWEST-coordination guards) and the timestep.")


def _record_toggle_checkpoint(run: rd.RunDirectory, step: int) -> None:
    """LAMMPS's `restart` command wrote this step's state into the newer of restart.a/b."""
    files = [run / name for name in rd.RESTART_TOGGLE if (run / name).exists()]
    if not files:
        raise NucleateError(f"LAMMPS wrote no restart file by step {step} in {run.path}")
    newest = max(files, key=lambda p: p.stat().st_mtime_ns)
    run.record_checkpoint(step, newest.name)


def _write_final_checkpoint(lmp: _Lammps, run: rd.RunDirectory, step: int) -> None:
    # write_restart re-initialises LAMMPS (which confuses `fix print` in later `pre no` runs),
    # so it is used only where this segment ends.
    tmp = rd.RESTART_END + ".tmp"
    lmp.command(f"write_restart {tmp}", source="(checkpoint)")
    os.replace(tmp, rd.RESTART_END)
    run.record_checkpoint(step, rd.RESTART_END)
