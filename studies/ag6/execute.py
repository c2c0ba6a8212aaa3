"""Boxes and run directories of a reproduction, run or continued: a finished simulation is reused,
an interrupted one continues from its last checkpoint, a failed one is reported and kept.

Folder layout:  DIR/reproduction.json (scale, model and its SHA-256: a folder keeps them)
                DIR/boxes/<name>/   (nucleate.systems build)   DIR/runs/<name>/   (run directory)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path

from nucleate.engine.rundir import sha256
from nucleate.errors import NucleateError
from nucleate.studies.ag6.plan import SIMULATIONS, Simulation, run_spec, simulation

STATE = "reproduction.json"
STATUS = "status.json"  # per run directory: what the last attempt did


def open_folder(outdir: Path, scale: str, model: Path) -> dict:
    """Create or re-open a reproduction folder; refuse to mix scales or models in one folder."""
    if not model.is_file():
        raise NucleateError(f"model {model} does not exist; give a DeePMD .pb file with --model")
    state = {"study": "ag6", "scale": scale, "model": str(model.resolve()), "model_sha256": sha256(model)}
    path = outdir / STATE
    if path.is_file():
        old = json.loads(path.read_text())
        # (the key that must match, the key shown to the user)
        for key, shown in (("scale", "scale"), ("model_sha256", "model")):
            if old.get(key) != state[key]:
                raise NucleateError(f"{outdir} holds a reproduction with {shown} {old.get(shown)}; this call asks for "
                                    f"{state[shown]}. Re-run with the same settings to continue it, or choose another "
                                    "-o folder")
        return old
    outdir.mkdir(parents=True, exist_ok=True)
    state["started"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    path.write_text(json.dumps(state, indent=1) + "\n")
    return state


def box(sim: Simulation, outdir: Path) -> tuple[Path, Path]:
    """(data file, groups file) of the simulation's starting box, built once with the simulation's seed."""
    from nucleate.systems import build

    folder = outdir / "boxes" / sim.name
    if not (folder / "build.json").is_file():
        build(sim.box, folder, seed=sim.seed, overwrite=True)
    return folder / "system.data", folder / "groups.json"


def run_simulation(name: str, outdir: str, scale: str, model: str, log_file: str | None = None) -> dict:
    """Run (or reuse, or continue) one simulation; returns its status dict (also written to status.json).

    A top-level function of plain arguments so that it can run in a spawned worker process."""
    from nucleate.engine.rundir import RunDirectory
    from nucleate.engine.runner import execute
    sim, outdir = simulation(name), Path(outdir)
    rundir = outdir / "runs" / name
    target = sim.steps[scale]
    status = {"name": name, "target_step": target, "timestep_fs": 0.5}
    stream = open(log_file, "a") if log_file else None  # noqa: SIM115 - closed below
    began = time.perf_counter()
    try:
        checkpoint = RunDirectory(rundir).checkpoint() if (rundir / "manifest.json").is_file() else None
        if checkpoint is not None and int(checkpoint["step"]) >= target:
            previous = _read_status(rundir)
            return {**previous, "state": "done", "reused": True}
        if checkpoint is not None:
            result = execute(rundir, continue_run=True, progress_stream=stream)
        else:
            prepare(name, outdir, scale, model, fresh=True, progress_stream=stream)
            result = execute(rundir, progress_stream=stream)
        state = "done" if result.end_step >= target else "interrupted" if result.status == "interrupted" else "stopped"
        status.update(state=state, end_step=result.end_step, steps_per_s=round(result.steps_per_s, 3))
    except NucleateError as exc:
        checkpoint = RunDirectory(rundir).checkpoint() if (rundir / "manifest.json").is_file() else None
        status.update(state="failed", error=str(exc), end_step=int(checkpoint["step"]) if checkpoint else 0)
    finally:
        if stream:
            stream.close()
    status["wall_s"] = round(time.perf_counter() - began + _read_status(rundir).get("wall_s", 0.0), 1)
    if rundir.is_dir():
        (rundir / STATUS).write_text(json.dumps(status, indent=1) + "\n")
    return status


def prepare(name: str, outdir: Path, scale: str, model: str, *, fresh: bool = False, progress_stream=None) -> Path:
    """Build the simulation's box, prepare its start (relaxed, then brought to temperature with the preset's
    walls: nucleate.engine.prepare, in DIR/prepared/<name>/) and render its run directory from the prepared
    box (again when `fresh`); returns the run directory."""
    from nucleate.engine.prepare import prepare as prepare_start
    from nucleate.engine.render import render_run
    from nucleate.engine.spec import RunSpec

    sim, rundir = simulation(name), outdir / "runs" / name
    if fresh or not (rundir / "manifest.json").is_file():
        data, groups = box(sim, outdir)
        spec = RunSpec.from_dict(run_spec(sim, scale, str(data), str(groups), str(model)))
        iterations, ps = sim.preparation(scale)
        start = prepare_start(spec, outdir / "prepared" / name, equilibrate_ps=ps, minimize_iterations=iterations,
                              progress_stream=progress_stream)
        spec.system.data, spec.system.groups = start.data_path, start.groups_path
        render_run(spec, rundir, overwrite=True)
    return rundir


def preparation_of(name: str, outdir: Path) -> str | None:
    """How the simulation's start was prepared, in one line (from DIR/prepared/<name>/prepare.json)."""
    from nucleate.engine.prepare import RECORD, describe

    path = outdir / "prepared" / name / RECORD
    if not path.is_file():
        return None
    return describe(json.loads(path.read_text()))


def run_on_machine(outdir: Path, scale: str, model: Path, names: list[str], machine: str, *, walkers: int = 1,
                   log=print) -> dict[str, dict]:
    """The simulations as one campaign (nucleate.launch) on a machine profile, followed to the end;
    returns their status by name, as run_all does.  With `walkers` > 1 each WT-MetaD simulation runs as
    that many walkers sharing hills (runs/<name> is then their template, and its status lists them)."""
    from nucleate.launch.campaign import Campaign
    from nucleate.launch.profile import load_profile

    profile = load_profile(machine)
    folder = outdir / "campaign"
    rundirs = [prepare(name, outdir, scale, str(model)) for name in names]
    if (folder / "campaign.json").is_file():
        campaign = Campaign(folder)
        log(f"reproduce ag6: picking up the campaign in {folder}")
    else:
        counts = [walkers if simulation(name).biased else 1 for name in names]
        campaign = Campaign.create(folder, rundirs, profile, walkers=counts)
        for run in campaign.runs:  # the scale's length, not the spec's
            run["target_step"] = simulation(run.get("group") or run["name"]).steps[scale]
        campaign.save()
        described = ", ".join(f"{n} ({c} walkers)" if c > 1 else n for n, c in zip(names, counts))
        log(f"reproduce ag6: campaign {folder} on {profile.name} ({profile.scheduler}): {described}")
    state = campaign.drive(wait=True)
    log(f"reproduce ag6: campaign {state}")
    by_simulation: dict[str, list[dict]] = {}
    for run in campaign.runs:
        by_simulation.setdefault(run.get("group") or run["name"], []).append(run)
    statuses = {}
    for name, runs in by_simulation.items():
        done = min(campaign.steps_done(run) for run in runs)
        target = runs[0]["target_step"]
        status = {"name": name, "target_step": target, "timestep_fs": 0.5, "end_step": done,
                  "state": "done" if done >= target else "failed"}
        errors = [f"{run['name']}: {run['failed']}" if len(runs) > 1 else run["failed"]
                  for run in runs if run.get("failed")]
        if errors:
            status["error"] = "; ".join(errors)
        if len(runs) > 1:
            status["walkers"] = [run["rundir"] for run in runs]
            status["hills"] = runs[0]["hills"]
        for run in runs:
            (Path(run["rundir"]) / STATUS).write_text(json.dumps(status, indent=1) + "\n")
        (outdir / "runs" / name / STATUS).write_text(json.dumps(status, indent=1) + "\n")
        statuses[name] = status
    return statuses


def _read_status(rundir: Path) -> dict:
    path = rundir / STATUS
    return json.loads(path.read_text()) if path.is_file() else {}


class _StopAll:
    """SIGINT/SIGTERM stop a reproduction as a whole: the simulation in progress stops after its current
    step with a checkpoint (the engine's own handler, here or in a worker, to which the signal is passed
    on), no further simulation starts, and the caller writes no report."""

    def __init__(self):
        self.requested = False
        self.pool = None
        self._previous: dict[int, object] = {}

    def __enter__(self):
        with contextlib.suppress(ValueError):  # not the main thread
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, _frame):
        self.requested = True
        # a terminal's Ctrl-C reaches the workers too; a scheduler's or kill's SIGTERM only this process
        for process in list(getattr(self.pool, "_processes", {}).values()):
            with contextlib.suppress(OSError):
                os.kill(process.pid, signum)

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


def _worker_ignores_signals() -> None:
    """Workers act on a stop only inside a run (where the engine's handler takes it); elsewhere the parent
    decides, so a Ctrl-C between runs cannot break the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def run_all(outdir: Path, scale: str, model: Path, names: list[str], jobs: int = 1,
            log=print) -> tuple[dict[str, dict], bool]:
    """Run the named simulations (in `jobs` worker processes when > 1); returns their status by name and
    whether a stop was requested (then simulations not yet started are left out)."""
    statuses: dict[str, dict] = {}
    with _StopAll() as stop:
        if jobs <= 1 or len(names) <= 1:
            for name in names:
                if stop.requested:
                    break
                log(f"reproduce ag6: {name} ({_length(name, scale)})")
                statuses[name] = run_simulation(name, str(outdir), scale, str(model))
                stop.requested |= statuses[name]["state"] == "interrupted"
                log(f"reproduce ag6: {name}: {_describe(statuses[name])}")
            return statuses, stop.requested
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # longest first, so that the workers finish together; each worker logs its progress to a file
        order = sorted(names, key=lambda n: -_cost(n, scale))
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_worker_ignores_signals) as pool:
            stop.pool = pool
            futures = {}
            for name in order:
                (outdir / "logs").mkdir(parents=True, exist_ok=True)
                log_file = outdir / "logs" / f"{name}.progress"
                log(f"reproduce ag6: {name} ({_length(name, scale)}), progress in {log_file}")
                futures[name] = pool.submit(run_simulation, name, str(outdir), scale, str(model), str(log_file))
            for name in order:
                if stop.requested:
                    for future in futures.values():
                        future.cancel()  # not started yet: stays unstarted
                if futures[name].cancelled():
                    continue
                statuses[name] = futures[name].result()
                stop.requested |= statuses[name]["state"] == "interrupted"
                log(f"reproduce ag6: {name}: {_describe(statuses[name])}")
    return {name: statuses[name] for name in names if name in statuses}, stop.requested


def _cost(name: str, scale: str) -> float:
    sim = simulation(name)
    return sim.steps[scale] * sim.atoms


def _length(name: str, scale: str) -> str:
    sim = simulation(name)
    return f"{sim.steps[scale]} steps = {sim.ps(scale):g} ps"


def _describe(status: dict) -> str:
    if status.get("reused"):
        return "finished earlier, reused"
    if status["state"] == "failed":
        return f"FAILED at step {status.get('end_step', 0)}: {status.get('error', '')}"
    return f"{status['state']} at step {status.get('end_step')} ({status.get('steps_per_s', 0):.2f} steps/s)"


def all_names() -> list[str]:
    return [sim.name for sim in SIMULATIONS]
