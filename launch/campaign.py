"""A campaign: run directories driven to their target step by rounds of batch jobs.

Folder layout:
    CAMPAIGN/campaign.json        the record: profile, runs, the round in progress, every round's jobs
    CAMPAIGN/runs/<name>[.wK]/    ordinary run directories (rendered from the specs)
    CAMPAIGN/hills/<name>/        shared hills of a multiple-walker run (HILLS.0, HILLS.1, ...)
    CAMPAIGN/jobs/round-NNN/      dpdispatcher's work base for round NNN: job scripts, logs per run

Each round submits, through dpdispatcher, one task per unfinished run:
`nucleate run RUNDIR --until TARGET --time-limit WALLTIME-MARGIN [--lammps 'srun lmp']` (the last with a
profile's `engine: lammps`: the segment runs on the cluster's own LAMMPS, engine/native.py).  That one command starts the run,
continues it from its last checkpoint or does nothing, as the directory's state asks, and stops cleanly
before the walltime; the engine's lock and its protected outputs make a resubmitted or duplicated job
harmless.  A job that dies (scancel, node failure, kill -9) is resubmitted by dpdispatcher up to the
profile's `retries`; when the round's jobs are done, runs short of their target get the next round.

The round in progress is written to campaign.json before its jobs are submitted, so a driver that is
killed is replaced by running `nucleate campaign CAMPAIGN` again: the same round rebuilds the same
dpdispatcher submission, which recovers its jobs instead of submitting new ones.

With an SSH profile the jobs run `nucleate run` on the remote copies, REMOTE_ROOT/<campaign>-<id>/runs/<name>,
which are the authority: each is uploaded once, before its first job, and copied back whole after every
round (nucleate.launch.remote says why that loses and doubles no row); dpdispatcher's job folders are
REMOTE_ROOT/<campaign>-<id>/jobs/<hash>/.  Status and analysis read the local copies.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import shlex
import uuid
from dataclasses import replace
from pathlib import Path

from nucleate.engine import rundir as rd
from nucleate.errors import NucleateError

from .profile import SCHEDULERS, MachineProfile, profile_from_dict

log = logging.getLogger(__name__)

RECORD = "campaign.json"
FORMAT = "nucleate-campaign/1"
STALLED_ROUNDS = 2  # rounds without a step of progress before a run is given up


class Campaign:
    def __init__(self, path: str | Path):
        self.path = Path(path).resolve()
        self.record = self._read()
        self.profile = profile_from_dict({k: v for k, v in self.record["profile"].items() if k != "name"},
                                         source=str(self.path / RECORD), name=self.record["profile"]["name"])

    # ------------------------------------------------------------------ creation
    @classmethod
    def create(cls, path: str | Path, targets: list[str | Path], profile: MachineProfile, *,
               walkers: int | list[int] = 1, models: list[str] | None = None,
               steps_per_job: int | None = None) -> "Campaign":
        """Render the specs or adopt existing run directories.  `walkers` > 1 makes N walkers sharing hills of
        a spec or of a rendered WT-MetaD run directory (then the directory is the walkers' template and is not
        run itself); a list gives each target its own number."""
        path = Path(path).resolve()
        if (path / RECORD).exists():
            raise NucleateError(f"{path} already holds a campaign; pick it up with `nucleate campaign {path}`")
        counts = [walkers] * len(targets) if isinstance(walkers, int) else list(walkers)
        if len(counts) != len(targets):
            raise NucleateError(f"{len(counts)} walker numbers for {len(targets)} targets")
        for count in counts:
            if count < 1:
                raise NucleateError(f"--walkers must be at least 1, got {count}")
        if steps_per_job is not None and steps_per_job < 1:
            raise NucleateError(f"--steps-per-job must be a positive number of steps, got {steps_per_job}")
        path.mkdir(parents=True, exist_ok=True)
        record = {"format": FORMAT, "created": _now(), "profile": profile.to_dict(), "runs": [],
                  "steps_per_job": steps_per_job, "current": None, "rounds": []}
        folder = None
        if profile.ssh:
            # a folder of its own on the remote host: two campaigns of the same name never share run directories
            folder = f"{profile.ssh.remote_root.rstrip('/')}/{path.name}-{uuid.uuid4().hex[:8]}"
            record["remote"] = {"host": profile.ssh.host, "user": profile.ssh.user, "folder": folder}
        runs = []
        for target, count in zip(targets, counts):
            runs += _runs_for(Path(target), path, walkers=count, models=models, remote_folder=folder)
        names = [r["name"] for r in runs]
        if len(set(names)) != len(names):
            raise NucleateError(f"two runs of this campaign would share a name: {sorted(names)}; give the specs "
                                "distinct `name:` values")
        if folder:
            for run in runs:
                run["remote_rundir"] = f"{folder}/runs/{run['name']}"
        record["runs"] = runs
        rd.write_json_atomic(path / RECORD, record)
        return cls(path)

    # ------------------------------------------------------------------ the record
    def _read(self) -> dict:
        try:
            record = json.loads((self.path / RECORD).read_text())
        except FileNotFoundError:
            raise NucleateError(f"{self.path} is not a campaign (no {RECORD}); start one with `nucleate submit`") from None
        except ValueError as exc:
            raise NucleateError(f"{self.path / RECORD} is damaged ({exc})") from None
        if record.get("format") != FORMAT:
            raise NucleateError(f"{self.path / RECORD} is not a {FORMAT} record")
        return record

    def save(self) -> None:
        rd.write_json_atomic(self.path / RECORD, self.record)

    @property
    def runs(self) -> list[dict]:
        return self.record["runs"]

    @property
    def remote_folder(self) -> str | None:
        """This campaign's folder on the SSH host (None for a local-context campaign)."""
        return (self.record.get("remote") or {}).get("folder")

    def steps_done(self, run: dict) -> int:
        state = rd.RunDirectory(run["rundir"]).checkpoint() if Path(run["rundir"], rd.MANIFEST).exists() else None
        return int(state["step"]) if state else 0

    def pending(self) -> list[dict]:
        return [r for r in self.runs if not r.get("failed") and self.steps_done(r) < r["target_step"]]

    @property
    def state(self) -> str:
        if self.record.get("current"):
            return "running"
        if self.pending():
            return "waiting"
        return "failed" if any(r.get("failed") for r in self.runs) else "done"

    # ------------------------------------------------------------------ driving
    def drive(self, *, wait: bool) -> str:
        """Submit or follow the round in progress; with `wait`, go on round after round until every run is
        done or given up.  Returns the campaign's state."""
        while True:
            current = self.record.get("current")
            if current is None:
                pending = self.pending()
                if not pending:
                    return self.state
                number = len(self.record["rounds"]) + 1
                before = {r["name"]: self.steps_done(r) for r in pending}
                chunk = self.record.get("steps_per_job")
                if self.remote_folder:
                    self._upload(pending)  # only runs not on the remote host yet: it holds the newer files
                current = {"round": number, "runs": [r["name"] for r in pending], "submitted": _now(),
                           "steps_before": before,
                           "until": {r["name"]: min(r["target_step"], before[r["name"]] + chunk) if chunk
                                     else r["target_step"] for r in pending}}
                self.record["current"] = current
                self.save()  # before submitting: a killed driver rebuilds this very submission
                log.info("campaign %s: round %d, %d job task(s)", self.path.name, number, len(pending))
            finished = self._follow(current, wait=wait)
            if not finished:
                return "running"
            if self.remote_folder:
                self._download(current)  # before the round is judged: steps are read from the local copies
            self._close_round(current)

    def _follow(self, current: dict, *, wait: bool) -> bool:
        """Submit (or recover) the round's jobs and record their ids at once; with `wait`, follow them
        until they are all done.  Returns whether they are."""
        submission = self._submission(current)
        self._dispatch(submission, current, exit_on_submit=True)  # the job ids reach campaign.json now
        if wait and not submission.check_all_finished():
            submission = self._submission(current)  # recovers the same jobs from dpdispatcher's record
            self._dispatch(submission, current, exit_on_submit=False)
        return submission.check_all_finished()

    def _dispatch(self, submission, current: dict, *, exit_on_submit: bool) -> None:
        try:
            with _quiet_dispatcher(self.path):
                submission.run_submission(exit_on_submit=exit_on_submit, clean=False,
                                          check_interval=self.profile.poll_seconds, continue_on_failure=True)
        except Exception as exc:  # noqa: BLE001 - dpdispatcher raises RuntimeError and its own types
            raise NucleateError(f"campaign {self.path}: the scheduler refused or lost round {current['round']}: "
                                f"{_first_line(exc)} (details in {self.path / 'dpdispatcher.log'})") from None
        current["jobs"] = _job_states(submission)
        if self.remote_folder:
            current["remote_jobs"] = f"{self.remote_folder}/jobs/{submission.submission_hash}"
        self.save()

    def _close_round(self, current: dict) -> None:
        outcome = {}
        for name in current["runs"]:
            run = self._run(name)
            before, after = current["steps_before"][name], self.steps_done(run)
            job = current.get("jobs", {}).get(name, {})
            entry = {"steps": [before, after], "job_id": job.get("job_id"), "state": job.get("state"),
                     "resubmitted": job.get("fail_count", 0)}
            if job.get("state") == "failed":
                run["failed"] = f"round {current['round']}: the job failed {job.get('fail_count', 0)} time(s): " \
                                f"{self._last_error(current['round'], name)}"
            elif after <= before and after < run["target_step"]:
                run["stalled"] = run.get("stalled", 0) + 1
                if run["stalled"] >= STALLED_ROUNDS:
                    run["failed"] = (f"no progress in {STALLED_ROUNDS} jobs: {self._last_error(current['round'], name)} "
                                     "(is the walltime less the margin shorter than the start-up?)")
            else:
                run["stalled"] = 0
            if run.get("failed"):
                entry["failure"] = run["failed"]
                run["last_failure"] = run["failed"]
            outcome[name] = entry
        self.record["rounds"].append({"round": current["round"], "submitted": current["submitted"],
                                      "closed": _now(), "runs": outcome})
        self.record["current"] = None
        self.save()

    # ------------------------------------------------------------------ SSH staging
    def _upload(self, runs: list[dict]) -> None:
        with _quiet_dispatcher(self.path):
            from .remote import Remote
        remote = Remote(self.profile.ssh)
        try:
            # a walker's hills folder first: every walker's file must be there before any walker starts
            for local, shared in _hills_folders(runs):
                remote.push(local, shared)
            for run in runs:
                remote.push(Path(run["rundir"]), run["remote_rundir"])
        finally:
            remote.close()

    def _download(self, current: dict) -> None:
        """The round's run directories and job logs, once none of its jobs writes any more."""
        with _quiet_dispatcher(self.path):
            from .remote import Remote
        remote = Remote(self.profile.ssh)
        try:
            runs = [self._run(name) for name in current["runs"]]
            for local, shared in _hills_folders(runs):
                remote.pull(shared, local)
            for run in runs:
                name = run["name"]
                remote.pull(run["remote_rundir"], Path(run["rundir"]))
                if current.get("remote_jobs"):
                    for log_name in ("job.out", "job.err"):
                        remote.fetch(f"{current['remote_jobs']}/{name}/{log_name}",
                                     self.job_folder(current["round"]) / name / log_name)
        finally:
            remote.close()

    def _run(self, name: str) -> dict:
        return next(r for r in self.runs if r["name"] == name)

    def job_folder(self, number: int) -> Path:
        return self.path / "jobs" / f"round-{number:03d}"

    def _last_error(self, number: int, name: str) -> str:
        errlog = self.job_folder(number) / name / "job.err"
        try:
            lines = [ln.strip() for ln in errlog.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return "no job log"
        errors = [ln for ln in lines if "error" in ln.lower()] or lines
        return errors[-1][:300] if errors else "the job wrote no error"

    # ------------------------------------------------------------------ dpdispatcher
    def _submission(self, current: dict):
        folder = self.job_folder(current["round"])
        commands = {}
        for name in current["runs"]:
            run = self._run(name)
            (folder / name).mkdir(parents=True, exist_ok=True)
            commands[name] = task_command(self.profile, run.get("remote_rundir") or run["rundir"],
                                          current.get("until", {}).get(name, run["target_step"]))
        remote_jobs = f"{self.remote_folder}/jobs" if self.remote_folder else None
        return _dispatcher_submission(self.profile, self.path / "jobs", folder.name, commands, remote_jobs=remote_jobs)


def task_command(profile: MachineProfile, rundir: str | Path, target_step: int) -> str:
    """The one command every job of a run executes (start, continue or nothing; stop before the walltime)."""
    native = f" --lammps {shlex.quote(' '.join(profile.lammps))}" if profile.engine == "lammps" else ""
    return (f"{profile.nucleate_command} run {shlex.quote(str(rundir))} --until {int(target_step)} "
            f"--time-limit {profile.time_limit_s}{native}")


def _dispatcher_submission(profile: MachineProfile, local_root: Path, work_base: str, commands: dict[str, str], *,
                           remote_jobs: str | None = None):
    """A dpdispatcher Submission: one task per run (its folder under local_root/work_base holds its logs).
    With `remote_jobs` the jobs are submitted through SSH, their folders under that remote path."""
    with _quiet_dispatcher(local_root.parent):
        from dpdispatcher import Machine, Resources, Submission, Task

    # no forward or backward files, also through SSH: the run directories are staged by nucleate.launch.remote,
    # since dpdispatcher re-uploads forward files on retries, over outputs a killed job had already appended to
    tasks = [Task(command=command, task_work_path=name, forward_files=[], backward_files=[], outlog="job.out",
                  errlog="job.err") for name, command in commands.items()]
    machine = {"batch_type": SCHEDULERS[profile.scheduler], "context_type": "LazyLocalContext",
               "local_root": str(local_root), "retry_count": profile.retries}
    if remote_jobs:
        machine.update(context_type="SSHContext", remote_root=remote_jobs, create_remote_root=True,
                       remote_profile=profile.ssh.dispatcher_profile())
    try:
        with _quiet_dispatcher(local_root.parent):
            machine = Machine.load_from_dict(machine)
    except Exception as exc:
        if not remote_jobs:
            raise
        ssh = profile.ssh
        raise NucleateError(f"cannot reach {ssh.user}@{ssh.host}:{ssh.port} through SSH to submit jobs: "
                            f"{_first_line(exc)}") from None
    resources = Resources.load_from_dict(profile.dispatcher_resources())
    return Submission(work_base=work_base, machine=machine, resources=resources, task_list=tasks)


def job_script(profile: MachineProfile, rundir: str | Path, *, target_step: int, workdir: Path) -> str:
    """The batch script a profile gives one run's job, as dpdispatcher writes it (nothing is submitted).
    An SSH profile's script is rendered through the local context: the script is the same, and nothing connects."""
    (workdir / "preview" / "run").mkdir(parents=True, exist_ok=True)
    submission = _dispatcher_submission(profile, workdir, "preview", {"run": task_command(profile, rundir, target_step)})
    submission.generate_jobs()
    job = submission.belonging_jobs[0]
    machine = submission.machine
    return machine.gen_script(job) + "\n" + machine.gen_script_command(job)


def _runs_for(target: Path, campaign: Path, *, walkers: int, models: list[str] | None,
              remote_folder: str | None = None) -> list[dict]:
    """Run entries for one command-line target: a spec file is rendered, a run directory adopted (or, with
    walkers, used as the walkers' template)."""
    from nucleate.engine.render import render_run, spec_from_rundir
    from nucleate.engine.spec import load_spec

    if target.is_dir():
        run = rd.RunDirectory(target)
        if not run.exists:
            raise NucleateError(f"{target} is a directory but not a run directory (no manifest.json)")
        if walkers == 1:
            spec_steps = int(run.manifest()["spec"]["md"]["steps"])
            return [{"name": run.path.name, "rundir": str(run.path), "target_step": spec_steps, "walker": None}]
        if run.has_run():
            raise NucleateError(f"{target} has run already; walkers start from a rendered run that has not run "
                                "(render it again, or give its spec)")
        spec, base = spec_from_rundir(run), run.path.name
    else:
        spec = load_spec(target, models=models)  # --model replaces the spec's potential (or gives the missing one)
        base = spec.name
    if walkers == 1:
        run = render_run(spec, campaign / "runs" / spec.name)
        return [{"name": spec.name, "rundir": str(run.path), "target_step": spec.md.steps, "walker": None}]
    from .walkers import make_walker

    hills = campaign / "hills" / base
    hills.mkdir(parents=True, exist_ok=True)
    # PLUMED opens WALKERS_DIR where the jobs run: the remote copy of the hills folder through SSH
    shared = f"{remote_folder}/hills/{base}" if remote_folder else None
    entries = []
    for k in range(walkers):
        md = replace(spec.md, seed=spec.md.seed + k,
                     velocity_seed=(spec.velocity_seed + k) if spec.md.velocity_seed is not None else None)
        walker_spec = replace(spec, md=md, name=f"{base}.w{k}")
        run = render_run(walker_spec, campaign / "runs" / walker_spec.name)
        make_walker(run, walker=k, walkers=walkers, hills_dir=hills, walkers_dir=shared)
        entry = {"name": walker_spec.name, "rundir": str(run.path), "target_step": spec.md.steps,
                 "walker": k, "walkers": walkers, "hills": str(hills), "group": base}
        if shared:
            entry["remote_hills"] = shared
        entries.append(entry)
    return entries


def _hills_folders(runs: list[dict]) -> list[tuple[Path, str]]:
    """(local, remote) shared hills folders of the walker runs among `runs`, each once."""
    return list(dict.fromkeys((Path(r["hills"]), r["remote_hills"]) for r in runs if r.get("remote_hills")))


def _job_states(submission) -> dict:
    """Per run name: scheduler job id, dpdispatcher's state and how often the job was resubmitted."""
    states = {}
    for job in submission.belonging_jobs:
        for task in job.job_task_list:
            states[task.task_work_path] = {"job_id": str(job.job_id), "state": job.job_state.name,
                                           "fail_count": job.fail_count}
    return states


@contextlib.contextmanager
def _quiet_dispatcher(campaign: Path):
    """dpdispatcher logs to stdout and to ./dpdispatcher.log, whatever the current directory is at its
    import: keep its log in the campaign folder, and off the terminal."""
    cwd = os.getcwd()
    os.chdir(campaign)
    try:
        import dpdispatcher  # noqa: F401 - the import opens its log relative to the cwd
        from dpdispatcher.dlog import dlog
    finally:
        os.chdir(cwd)
    for handler in list(dlog.handlers):
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            dlog.removeHandler(handler)
    yield


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")
