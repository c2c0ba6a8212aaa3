"""`nucleate profile RUNDIR`: which actions of a run's plumed.dat the PLUMED time goes to.

The run's trajectory (traj.lammpstrj) is replayed through `plumed driver` with the run's own
plumed.dat plus `DEBUG DETAILED_TIMERS`, in a scratch folder (the run directory is only read),
and PLUMED's own timers are summed per line of the input. The frames are fed as consecutive
steps 0, 1, 2, ... (cycled until --steps), so PRINT strides and METAD paces fall on the same
share of steps as in the MD: an action that only PRINT needs is computed on print steps alone,
and its cost per step is its cost there divided by the stride.

What this does not include: the engine's side of the coupling -- its Python around PLUMED's calls
(about 0.2 ms per step) and PLUMED's gathering of the atoms it needs from LAMMPS's arrays, which
the driver's plain frames make nearly free but which costs about 0.8 us per requested atom in
the engine, whose atoms LAMMPS keeps in its own (sorted) order (0.5 ms for the 720 methanol atoms
of the bond guards); engine/plumed_coupling.py counts all of it (plumed_seconds, callback_seconds).
For inputs made for several walkers the exchange of hills is left out too (WALKERS_* keywords are
dropped: one walker is timed).
RESTART lines are dropped too, so nothing is read from the run's HILLS.

The module imports only the standard library at load time: `nucleate --help` stays fast.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from nucleate.errors import NucleateError

log = logging.getLogger(__name__)

PLUMED_FILE, DATA_FILE, DUMP_FILE, MANIFEST_FILE = "plumed.dat", "system.data", "traj.lammpstrj", "manifest.json"
_ACTION_TIMER = re.compile(r"^PLUMED: (4A|5A)\s+\d+\s+(\S+)\s+(\d+)\s+([0-9.eE+-]+)")
# a timer row: cycles, total, then average, minimum, maximum (seconds)
_NUMBERS = r"\s+(\d+)\s+([0-9.eE+-]+)(?:\s+[0-9.eE+-]+){3}\s*$"
_PHASE_TIMER = re.compile(r"^PLUMED: ([1-6][A-Z]?) (.+?)" + _NUMBERS)
_TOTAL_TIMER = re.compile(r"^PLUMED:" + _NUMBERS)
_LOG_ACTION = re.compile(r"^PLUMED: Action (\S+)\s*$")
_LOG_LABEL = re.compile(r"^PLUMED:\s+with label (\S+)\s*$")
_INPUT_LABEL = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.-]*):\s*(\S+)")
_LABEL_KEYWORD = re.compile(r"\bLABEL=(\S+)")
_SHORT = {"Prepare dependencies": "prepare", "Sharing data": "share", "Waiting for data": "wait",
          "Calculating (forward loop)": "forward", "Applying (backward loop)": "backward", "Update": "update"}
_WALKERS = re.compile(r"\bWALKERS_\w+=\S+|\bWALKERS_MPI\b")


@dataclass
class ActionCost:
    label: str                  # the input line's label (an unlabelled line: PLUMED's @N)
    action: str                 # its action, as written in the input (shortcuts not expanded)
    forward_s: float = 0.0      # computing the value(s), all steps
    backward_s: float = 0.0     # applying forces back to the atoms, all steps
    computed: int = 0           # steps on which PLUMED computed it (only the needed ones)

    @property
    def total_s(self) -> float:
        return self.forward_s + self.backward_s


@dataclass
class Profile:
    rundir: Path
    steps: int
    frames: int
    threads: int
    setup_s: float
    phases_s: dict[str, float]          # PLUMED's phases: "Calculating (forward loop)", ..., "Update"
    actions: list[ActionCost] = field(default_factory=list)
    md_ms_per_step: float | None = None  # the run's own MD speed (manifest), for the share

    @property
    def per_step_ms(self) -> float:
        return 1e3 * sum(self.phases_s.values()) / self.steps

    def table(self, top: int = 15) -> str:
        lines = [f"PLUMED cost of {self.rundir / PLUMED_FILE}: {self.steps} steps replayed from {self.frames} "
                 f"frame(s) of {DUMP_FILE} (plumed driver, {self.threads} thread{'s' if self.threads != 1 else ''})",
                 f"set-up (reading the input, building the actions): {self.setup_s:.2f} s",
                 f"per step: {self.per_step_ms:.3f} ms = " + ", ".join(
                     f"{_SHORT.get(name, name)} {1e3 * seconds / self.steps:.3f}"
                     for name, seconds in self.phases_s.items())]
        if self.md_ms_per_step:
            lines.append(f"the run's MD step: {self.md_ms_per_step:.1f} ms (manifest); PLUMED's share here: "
                         f"{100 * self.per_step_ms / self.md_ms_per_step:.1f} % of it; in the engine add the coupling "
                         "(0.2 ms + 0.8 us per atom PLUMED needs)")
        calc = sum(a.total_s for a in self.actions) or 1.0
        lines += ["", f"{'ms/step':>9} {'share':>6} {'fwd ms':>8} {'bwd ms':>8} {'computed':>9}  label (action)"]
        ranked = sorted(self.actions, key=lambda a: a.total_s, reverse=True)
        for cost in ranked[:top]:
            lines.append(f"{1e3 * cost.total_s / self.steps:9.3f} {100 * cost.total_s / calc:5.1f}% "
                         f"{1e3 * cost.forward_s / self.steps:8.3f} {1e3 * cost.backward_s / self.steps:8.3f} "
                         f"{cost.computed:>4}/{self.steps:<4}  {cost.label} ({cost.action})")
        if len(ranked) > top:
            rest = sum(a.total_s for a in ranked[top:])
            lines.append(f"{1e3 * rest / self.steps:9.3f} {100 * rest / calc:5.1f}%  ... {len(ranked) - top} more")
        lines.append("(share: of the time in actions; 'computed': steps on which PLUMED needed the action; "
                     "Update = PRINT output and bias deposits)")
        return "\n".join(lines)


def profile_run(rundir, *, steps: int = 200, threads: int = 1) -> Profile:
    """Replay RUNDIR's trajectory through plumed driver with its plumed.dat; PLUMED's timers per input line."""
    from nucleate.runtime import plumed_cli

    rundir = Path(rundir)
    if steps < 1 or threads < 1:
        raise NucleateError(f"--steps and --threads must be positive, got {steps} and {threads}")
    plumed_dat = rundir / PLUMED_FILE
    if not rundir.is_dir():
        raise NucleateError(f"run directory {rundir} does not exist")
    if not plumed_dat.is_file():
        raise NucleateError(f"{rundir} has no {PLUMED_FILE}: the run has no PLUMED input to profile")
    text = plumed_dat.read_text()
    cmd, env = plumed_cli()
    env.update(PLUMED_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    timestep_ps, md_ms = _manifest_numbers(rundir)
    with tempfile.TemporaryDirectory(prefix="nucleate-profile-") as scratch:
        scratch = Path(scratch)
        frames = _write_inputs(rundir, scratch, steps)
        (scratch / PLUMED_FILE).write_text(_timed_input(text))
        argv = cmd + ["driver", "--plumed", PLUMED_FILE, "--ixyz", "traj.xyz", "--length-units", "A",
                      "--mc", "masses", "--trajectory-stride", "1"]
        if timestep_ps:
            argv += ["--timestep", repr(timestep_ps)]
        log.debug("replaying %d steps of %s through plumed driver in %s", steps, rundir / DUMP_FILE, scratch)
        done = subprocess.run(argv, cwd=scratch, env=env, capture_output=True, text=True)
        output = done.stdout + done.stderr
        if done.returncode != 0:
            raise NucleateError(f"plumed driver failed on {plumed_dat} (exit {done.returncode}): "
                                + _plumed_error(output))
    setup_s, phases, actions = parse_timers(output, text)
    return Profile(rundir=rundir, steps=steps, frames=frames, threads=threads, setup_s=setup_s,
                   phases_s=phases, actions=actions, md_ms_per_step=md_ms)


def _timed_input(text: str) -> str:
    """The run's input for one walker, fresh (no RESTART), with PLUMED's per-action timers on."""
    kept = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words == ["RESTART"]:
            continue
        kept.append(_WALKERS.sub("", line))
    # DEBUG is not a setup action, so it goes after UNITS and friends: at the end
    return "\n".join(kept) + "\nDEBUG DETAILED_TIMERS\n"


def _write_inputs(rundir: Path, scratch: Path, steps: int) -> int:
    """traj.xyz (the dump's frames, cycled to `steps`) and masses; returns the number of distinct frames."""
    from nucleate.analysis.trajectory.io import read_dump_frames, scan_dump
    from nucleate.systems import read_data
    from nucleate.systems.elements import MASSES

    data = read_data(rundir / DATA_FILE)
    scan = scan_dump(rundir / DUMP_FILE, expected_natoms=data.natoms)
    frames = read_dump_frames(scan)
    if frames is None:
        raise NucleateError(f"{rundir / DUMP_FILE}: only dumps with x y z (or xu yu zu) columns and an "
                            "orthogonal or triclinic box can be replayed")
    positions, dimensions = frames
    cells = [_cell(d) for d in dimensions]
    type_map = _manifest(rundir).get("type_map") or []
    masses = []
    for t in data.types:
        mass = (data.masses or {}).get(int(t))
        if mass is None and 0 < int(t) <= len(type_map):
            mass = MASSES.get(type_map[int(t) - 1])
        masses.append(mass if mass is not None else 1.0)  # a mass only matters to COM/CENTER
    (scratch / "masses").write_text("#! FIELDS index mass charge\n"
                                    + "".join(f"{i} {m!r} 0\n" for i, m in enumerate(masses)))
    names = [type_map[int(t) - 1] if 0 < int(t) <= len(type_map) else "X" for t in data.types]
    blocks = []
    for k in range(len(positions)):
        rows = "\n".join(f"{n} {x:.8f} {y:.8f} {z:.8f}" for n, (x, y, z) in zip(names, positions[k].astype(float)))
        blocks.append(f"{data.natoms}\n{cells[k]}\n{rows}\n")
    with (scratch / "traj.xyz").open("w") as handle:
        for step in range(steps):
            handle.write(blocks[step % len(blocks)])
    return len(blocks)


def _cell(dimensions) -> str:
    """plumed driver's xyz box line: 3 lengths, or 9 numbers (the cell vectors) for a triclinic box."""
    lengths, angles = dimensions[:3], dimensions[3:]
    if all(abs(a - 90.0) < 1e-9 for a in angles):
        return " ".join(f"{v:.8f}" for v in lengths)
    from nucleate.geometry import cell_matrix

    return " ".join(f"{v:.8f}" for v in cell_matrix(dimensions).ravel())


def _manifest(rundir: Path) -> dict:
    path = rundir / MANIFEST_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise NucleateError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None


def _manifest_numbers(rundir: Path) -> tuple[float | None, float | None]:
    """The MD timestep (ps) and the last segment's MD ms/step, when the manifest has them."""
    manifest = _manifest(rundir)
    timestep_fs = manifest.get("timestep_fs")
    rates = [s.get("steps_per_s") for s in manifest.get("segments", []) if s.get("steps_per_s")]
    return (float(timestep_fs) * 1e-3 if timestep_fs else None), (1e3 / float(rates[-1]) if rates else None)


def parse_timers(output: str, plumed_text: str) -> tuple[float, dict[str, float], list[ActionCost]]:
    """(set-up s, {phase: s}, per-input-line costs) from a DEBUG DETAILED_TIMERS log."""
    lines = output.splitlines()
    total_s = None
    phases: dict[str, float] = {}
    per_timer: dict[str, list] = {}
    header_seen = False
    for line in lines:
        if "Cycles" in line and "Total" in line:
            header_seen = True
            continue
        if not header_seen:
            continue
        if total_s is None and (match := _TOTAL_TIMER.match(line)):
            total_s = float(match.group(2))
        elif match := _ACTION_TIMER.match(line):
            entry = per_timer.setdefault(match.group(2), [0.0, 0.0, 0])
            entry[0 if match.group(1) == "4A" else 1] += float(match.group(4))
            entry[2] = max(entry[2], int(match.group(3)))
        elif (match := _PHASE_TIMER.match(line)) and match.group(1).isdigit():
            phases[match.group(2).strip()] = float(match.group(4))
    if total_s is None or not phases:
        raise NucleateError("plumed driver printed no timers (DEBUG DETAILED_TIMERS); its output ends: "
                            + _plumed_error(output))
    owners = _input_labels(plumed_text)
    kinds = _logged_actions(lines)
    merged: dict[str, ActionCost] = {}
    for timer, (forward, backward, cycles) in per_timer.items():
        label = _owner(timer, owners)
        if label is None:
            if timer not in kinds or kinds[timer] in ("DEBUG", "UNITS"):
                continue  # PLUMED's own bookkeeping: positions, masses, box, the driver
            label = timer
        cost = merged.setdefault(label, ActionCost(label, owners.get(label) or kinds.get(label, "?")))
        cost.forward_s += forward
        cost.backward_s += backward
        cost.computed = max(cost.computed, cycles)
    return max(total_s - sum(phases.values()), 0.0), phases, list(merged.values())


def _input_labels(text: str) -> dict[str, str]:
    """label -> action of every labelled line of the input (shortcut sub-actions are named label_...)."""
    labels = {}
    for line in text.splitlines():
        body = line.split("#", 1)[0]
        match = _INPUT_LABEL.match(body)
        if match:
            labels[match.group(1)] = match.group(2)
        elif keyword := _LABEL_KEYWORD.search(body):
            labels[keyword.group(1)] = body.split()[0]
    return labels


def _owner(timer: str, owners: dict[str, str]) -> str | None:
    """The input label a timer belongs to: itself, or the longest label it extends with '_'."""
    if timer in owners:
        return timer
    best = None
    for label in owners:
        if timer.startswith(label + "_") and (best is None or len(label) > len(best)):
            best = label
    return best


def _logged_actions(lines: list[str]) -> dict[str, str]:
    """label -> action of every action in PLUMED's log (unlabelled lines get @N labels there)."""
    kinds, action = {}, None
    for line in lines:
        if match := _LOG_ACTION.match(line):
            action = match.group(1)
        elif action and (match := _LOG_LABEL.match(line)):
            kinds.setdefault(match.group(1), action)
            action = None
    return kinds


def _plumed_error(output: str) -> str:
    errors = [ln.replace("PLUMED:", "").strip() for ln in output.splitlines() if "ERROR" in ln]
    if errors:
        return errors[0]
    tail = [ln.strip() for ln in output.splitlines() if ln.strip()][-3:]
    return " / ".join(tail) or "(no output)"


# ---- command line ------------------------------------------------------------------------------
def add_parser(sub) -> None:
    p = sub.add_parser("profile", help="which actions of a run's plumed.dat cost the time (PLUMED's own timers "
                       "on the run's trajectory)")
    p.add_argument("rundir", help="a run directory (plumed.dat, system.data, traj.lammpstrj)")
    p.add_argument("--steps", type=int, default=200,
                   help="steps to replay, the dump's frames cycled (default 200: two print strides of 100)")
    p.add_argument("--threads", type=int, default=1, help="PLUMED_NUM_THREADS / OMP_NUM_THREADS (default 1)")
    p.add_argument("--top", type=int, default=15, help="how many actions to list (default 15)")
    p.set_defaults(func=_command)


def _command(args) -> int:
    profile = profile_run(args.rundir, steps=args.steps, threads=args.threads)
    print(profile.table(top=max(args.top, 1)))
    return 0
