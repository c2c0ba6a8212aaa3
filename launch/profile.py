"""Machine profiles: where and how a campaign's jobs run, in a small YAML file.

    scheduler: slurm          # slurm | pbs | lsf | shell (this machine, no scheduler)
    context: local            # local: nucleate runs on the cluster's login node (shared filesystem)
                              # ssh: nucleate runs elsewhere and reaches the cluster through SSH:
    ssh:                      # (only with context: ssh)
      host: login.cluster.org
      user: alice
      port: 22                # optional, 22
      key_file: ~/.ssh/id_ed25519   # optional: else ~/.ssh/id_{rsa,ecdsa,ed25519}
      remote_root: /scratch/alice/nucleate   # an existing absolute folder on the cluster
    resources:
      partition: gpu          # Slurm partition / PBS or LSF queue
      nodes: 1
      cpus_per_task: 4
      gpus_per_task: 1
      walltime: "24:00:00"    # [[HH:]MM:]SS
      account: myproject      # optional
      extra: ["--qos=normal"] # more scheduler flags, written as directives
      tasks_per_job: 1        # runs (walkers) packed into one job
    setup: [module load cuda, source ~/venv/bin/activate]   # each job runs these first
    env: {OMP_NUM_THREADS: "4"}
    command: nucleate         # the nucleate executable the jobs call (default: this Python's)
    engine: nucleate          # nucleate: the in-process engine (LAMMPS's Python module, PLUMED through its API);
                              # lammps: the cluster's own LAMMPS built with DeePMD-kit and PLUMED (`fix plumed`)
    lammps: srun lmp          # with engine: lammps, how a job starts LAMMPS (plain words; default: lmp)
    margin: "00:10:00"        # each job stops cleanly this long before its walltime
    retries: 3                # resubmissions of a job that dies, per round
    poll_seconds: 30

With `context: ssh` the run directories live under `remote_root` on the cluster, which is their
authority; the local copies are mirrors refreshed after each job (see nucleate.launch.remote).

Shipped profiles (`local`, `slurm-gpu`, `slurm-cpu`, `pbs`, `slurm-gpu-ssh`,
`slurm-lammps`) are found by name; anything else is
a path.  Every key and value is checked; a bad one is refused naming the file and key.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from nucleate import validate as check
from nucleate.errors import NucleateError

PROFILES = Path(__file__).resolve().parent / "profiles"
SCHEDULERS = {"slurm": "Slurm", "pbs": "PBS", "lsf": "LSF", "shell": "Shell"}  # dpdispatcher batch types
CONTEXTS = ("local", "ssh")
_TOP = {"scheduler", "context", "ssh", "resources", "setup", "env", "command", "engine", "lammps", "margin", "retries",
        "poll_seconds"}
ENGINES = ("nucleate", "lammps")
_RESOURCES = {"partition", "nodes", "cpus_per_task", "gpus_per_task", "walltime", "account", "extra", "tasks_per_job"}
_DURATION = re.compile(r"^(?:(\d+)-)?(?:(\d+):)?(?:(\d+):)?(\d+)$")  # [D-][HH:][MM:]SS
_QUEUE = re.compile(r"^[A-Za-z0-9_.,-]+$")
_FLAG = re.compile(r"^-{1,2}[A-Za-z][A-Za-z0-9_-]*(?:[= ][A-Za-z0-9_.,:=@/+-]+)?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SSH = {"host", "user", "port", "key_file", "remote_root"}
_HOST = re.compile(r"^[A-Za-z0-9_.:-]+$")  # a host name, IPv4 or IPv6 address (no user@, no spaces)
_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_REMOTE_PATH = re.compile(r"^/[A-Za-z0-9_.,@+=/-]*$")  # quoted anyway; refusing the rest keeps paths plain


@dataclass
class SSHTarget:
    """Where an SSH context's jobs run: the login host and the folder that holds the campaigns there."""
    host: str
    user: str
    remote_root: str
    port: int = 22
    key_file: str | None = None

    def dispatcher_profile(self) -> dict:
        """dpdispatcher's `remote_profile` (its SSHSession arguments)."""
        key = str(Path(self.key_file).expanduser()) if self.key_file else None
        return {"hostname": self.host, "username": self.user, "port": self.port, "key_filename": key,
                "look_for_keys": key is None}

    def to_dict(self) -> dict:
        return {"host": self.host, "user": self.user, "port": self.port, "key_file": self.key_file,
                "remote_root": self.remote_root}


@dataclass
class Resources:
    partition: str = ""
    nodes: int = 1
    cpus_per_task: int = 1
    gpus_per_task: int = 0
    walltime_s: int = 12 * 3600
    account: str | None = None
    extra: list[str] = field(default_factory=list)
    tasks_per_job: int = 1


@dataclass
class MachineProfile:
    name: str
    scheduler: str = "shell"
    ssh: SSHTarget | None = None  # set for context: ssh
    resources: Resources = field(default_factory=Resources)
    setup: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    command: str = ""
    engine: str = "nucleate"  # or "lammps": each job runs the segment with `lammps` (engine/native.py)
    lammps: list[str] = field(default_factory=lambda: ["lmp"])
    margin_s: int = 120
    retries: int = 3
    poll_seconds: float = 30.0

    @property
    def context(self) -> str:
        return "ssh" if self.ssh else "local"

    @property
    def nucleate_command(self) -> str:
        """How a job calls nucleate: the profile's command, else the Python that submits (same filesystem),
        else, through SSH, where this Python's path means nothing, `nucleate` on the remote PATH."""
        if self.command:
            return self.command
        return "nucleate" if self.ssh else f"{shlex.quote(sys.executable)} -m nucleate.cli"

    @property
    def time_limit_s(self) -> int:
        """What each job gives `nucleate run --time-limit`: the walltime less the margin."""
        return max(self.resources.walltime_s - self.margin_s, 1)

    def directives(self) -> list[str]:
        """Scheduler lines beyond dpdispatcher's own (nodes, tasks, GPUs, partition)."""
        r, prefix = self.resources, {"slurm": "#SBATCH", "pbs": "#PBS", "lsf": "#BSUB"}.get(self.scheduler)
        if prefix is None:
            return []
        lines = {
            "slurm": [f"#SBATCH --time={_hms(r.walltime_s)}"] + ([f"#SBATCH --account={r.account}"] if r.account else []),
            "pbs": [f"#PBS -l walltime={_hms(r.walltime_s)}"] + ([f"#PBS -A {r.account}"] if r.account else []),
            "lsf": [f"#BSUB -W {r.walltime_s // 3600:d}:{r.walltime_s % 3600 // 60:02d}"]
                   + ([f"#BSUB -P {r.account}"] if r.account else []),
        }[self.scheduler]
        return lines + [f"{prefix} {flag}" for flag in r.extra]

    def dispatcher_resources(self) -> dict:
        r = self.resources
        return {"number_node": r.nodes, "cpu_per_node": r.cpus_per_task * r.tasks_per_job,
                "gpu_per_node": r.gpus_per_task * r.tasks_per_job, "queue_name": r.partition,
                "group_size": r.tasks_per_job, "custom_flags": self.directives(), "envs": dict(self.env),
                "prepend_script": list(self.setup), "strategy": {"if_cuda_multi_devices": r.gpus_per_task > 0}}

    def to_dict(self) -> dict:
        r = self.resources
        return {"name": self.name, "scheduler": self.scheduler, "context": self.context,
                **({"ssh": self.ssh.to_dict()} if self.ssh else {}),
                "resources": {"partition": r.partition, "nodes": r.nodes, "cpus_per_task": r.cpus_per_task,
                              "gpus_per_task": r.gpus_per_task, "walltime": _hms(r.walltime_s),
                              "account": r.account, "extra": list(r.extra), "tasks_per_job": r.tasks_per_job},
                "setup": list(self.setup), "env": dict(self.env), "command": self.command,
                "engine": self.engine, **({"lammps": " ".join(self.lammps)} if self.engine == "lammps" else {}),
                "margin": _hms(self.margin_s), "retries": self.retries, "poll_seconds": self.poll_seconds}


def load_profile(name_or_path: str | Path) -> MachineProfile:
    """A shipped profile by name (`local`, `slurm-gpu`, ...) or a YAML file."""
    path = Path(name_or_path)
    if not path.suffix and (PROFILES / f"{name_or_path}.yaml").is_file():
        path = PROFILES / f"{name_or_path}.yaml"
    try:
        text = path.read_text()
    except FileNotFoundError:
        shipped = ", ".join(sorted(p.stem for p in PROFILES.glob("*.yaml")))
        raise NucleateError(f"machine profile {name_or_path} does not exist (a file, or one of: {shipped})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NucleateError(f"machine profile {path} cannot be read: {exc}") from None
    data = check.load_yaml(text, str(path))
    return profile_from_dict(data or {}, source=str(path), name=path.stem)


def profile_from_dict(data: dict, *, source: str = "profile", name: str = "profile") -> MachineProfile:
    if not isinstance(data, dict):
        raise NucleateError(f"{source}: a machine profile is a mapping of keys ({', '.join(sorted(_TOP))})")
    check.no_control_chars_anywhere(data, source)
    check.known_keys(data, _TOP, source)
    scheduler = data.get("scheduler", "shell")
    if scheduler not in SCHEDULERS:
        raise NucleateError(f"{source}: scheduler {scheduler!r} is not one of {', '.join(SCHEDULERS)}")
    ssh = _ssh_target(data, source)
    engine = data.get("engine", "nucleate")
    if engine not in ENGINES:
        raise NucleateError(f"{source}: engine {engine!r} is not one of {', '.join(ENGINES)} (nucleate: the in-process "
                            "engine; lammps: the cluster's LAMMPS with DeePMD-kit and PLUMED)")
    if data.get("lammps") is not None and engine != "lammps":
        raise NucleateError(f"{source}: lammps: is given but engine is {engine!r}; add `engine: lammps` or remove it")
    from nucleate.engine.native import parse_command

    lammps = parse_command(check.text(data.get("lammps") or "lmp", f"{source}: lammps"), where=f"{source}: lammps")
    res = data.get("resources") or {}
    if not isinstance(res, dict):
        raise NucleateError(f"{source}: resources must be a mapping")
    check.known_keys(res, _RESOURCES, f"{source}: resources")
    key = f"{source}: resources"
    resources = Resources(
        partition=_queue(res.get("partition") or "", f"{key}.partition"),
        nodes=check.integer(res.get("nodes", 1), f"{key}.nodes", at_least=1),
        cpus_per_task=check.integer(res.get("cpus_per_task", 1), f"{key}.cpus_per_task", at_least=1),
        gpus_per_task=check.integer(res.get("gpus_per_task", 0), f"{key}.gpus_per_task", at_least=0),
        walltime_s=duration(res.get("walltime", "12:00:00"), f"{key}.walltime"),
        account=_queue(res["account"], f"{key}.account") if res.get("account") else None,
        extra=[_flag(f, f"{key}.extra") for f in _list(res.get("extra"), f"{key}.extra")],
        tasks_per_job=check.integer(res.get("tasks_per_job", 1), f"{key}.tasks_per_job", at_least=1),
    )
    env = data.get("env") or {}
    if not isinstance(env, dict):
        raise NucleateError(f"{source}: env must be a mapping of variable names to values")
    for var in env:
        if not isinstance(var, str) or not _ENV_NAME.match(var):
            raise NucleateError(f"{source}: env: {var!r} is not an environment variable name")
    profile = MachineProfile(
        name=name, scheduler=scheduler, ssh=ssh, resources=resources,
        setup=[check.text(line, f"{source}: setup") for line in _list(data.get("setup"), f"{source}: setup")],
        env={k: str(v) for k, v in env.items()},
        command=check.text(data.get("command") or "", f"{source}: command"),
        engine=engine, lammps=lammps,
        margin_s=duration(data.get("margin", "00:02:00"), f"{source}: margin", allow_zero=True),
        retries=check.integer(data.get("retries", 3), f"{source}: retries", at_least=0),
        poll_seconds=check.number(data.get("poll_seconds", 30), f"{source}: poll_seconds", above=0),
    )
    if profile.margin_s >= resources.walltime_s:
        raise NucleateError(f"{source}: margin {_hms(profile.margin_s)} leaves no time in a walltime of "
                            f"{_hms(resources.walltime_s)}")
    return profile


def _ssh_target(data: dict, source: str) -> SSHTarget | None:
    """The `ssh:` section, required with `context: ssh` and refused without it."""
    context = data.get("context", "local")
    if context not in CONTEXTS:
        raise NucleateError(f"{source}: context {context!r} is not one of {', '.join(CONTEXTS)} (local: nucleate runs "
                            "on the cluster's login node; ssh: it reaches the cluster through SSH)")
    section = data.get("ssh")
    if context == "local":
        if section is not None:
            raise NucleateError(f"{source}: ssh: is given but context is 'local'; add `context: ssh` or remove ssh:")
        return None
    key = f"{source}: ssh"
    if not isinstance(section, dict):
        raise NucleateError(f"{key}: context 'ssh' needs an ssh: mapping with host, user and remote_root "
                            "(and optionally port, key_file)")
    check.known_keys(section, _SSH, key)
    for required in ("host", "user", "remote_root"):
        if section.get(required) in (None, ""):
            raise NucleateError(f"{key}.{required} is required with context 'ssh'")
    host, user, root = section["host"], section["user"], section["remote_root"]
    if not isinstance(host, str) or not _HOST.match(host):
        raise NucleateError(f"{key}.host: {host!r} is not a host name or address (give the user in ssh.user)")
    if not isinstance(user, str) or not _USER.match(user):
        raise NucleateError(f"{key}.user: {user!r} is not a user name")
    port = check.integer(section.get("port", 22), f"{key}.port", at_least=1, at_most=65535)
    key_file = section.get("key_file")
    if key_file is not None:
        key_file = check.text(key_file, f"{key}.key_file")
        if not key_file.strip():
            raise NucleateError(f"{key}.key_file is empty; give a private key file or leave the key out")
    if not isinstance(root, str) or not root.startswith("/"):
        raise NucleateError(f"{key}.remote_root: {root!r} must be an absolute path on the remote host "
                            "(no ~: the remote shell does not expand it here)")
    if not _REMOTE_PATH.match(root) or "/../" in f"{root}/":
        raise NucleateError(f"{key}.remote_root: {root!r}: use letters, digits and _ . , @ + = - / only, without ..")
    return SSHTarget(host=host, user=user, port=port, key_file=key_file, remote_root=root.rstrip("/") or "/")


def duration(value, key: str, *, allow_zero: bool = False) -> int:
    """Seconds from an integer or a Slurm-style [D-][HH:][MM:]SS text."""
    if isinstance(value, bool):
        raise NucleateError(f"{key}: {value!r} is not a duration (give HH:MM:SS)")
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION.match(str(value).strip())
        if not match:
            raise NucleateError(f"{key}: {value!r} is not a duration (give HH:MM:SS, MM:SS, seconds or D-HH:MM:SS)")
        days, *rest = match.groups()
        numbers = [int(x) for x in rest if x is not None]
        seconds = 0
        for number in numbers:
            seconds = seconds * 60 + number
        seconds += int(days or 0) * 86400
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise NucleateError(f"{key}: {value!r} must be a positive duration")
    return seconds


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _list(value, key: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise NucleateError(f"{key} must be a list")
    return value


def _queue(value, key: str) -> str:
    if value == "":
        return value  # the scheduler's default
    if not isinstance(value, str) or not _QUEUE.match(value):
        raise NucleateError(f"{key}: {value!r} is not a queue/partition/account name (letters, digits, _ . , -)")
    return value


def _flag(value, key: str) -> str:
    if not isinstance(value, str) or not _FLAG.match(value.strip()):
        raise NucleateError(f"{key}: {value!r} is not one scheduler flag such as --qos=normal")
    return value.strip()
