"""The run directory: file names, the manifest, checkpoints, the lock, and the rule that nothing
written is ever lost.

* At each checkpoint the size of every output file is recorded -- the files inside the run
  directory and those PLUMED writes elsewhere (shared walker hills) -- together with the
  SHA-256 of the restart file.  When a run is continued, whatever a crash left beyond the
  checkpoint is moved to `<file>.after-step-N` (never deleted), so the continued files have no
  duplicated and no missing rows.
* `checkpoint.json` keeps the previous checkpoints too; a latest checkpoint whose restart file
  is missing or was overwritten (its hash differs) is skipped for the newest one still intact.
* One process at a time: `lock()` holds an exclusive `flock` on `.nucleate.lock` for the whole
  run; the OS releases it when the process dies, however it dies.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import socket
import time
from pathlib import Path

from nucleate.errors import NucleateError

from . import manifest as schema

log = logging.getLogger(__name__)


class RunDirectoryBusy(NucleateError):
    """Another process holds the run directory's lock."""

MANIFEST = "manifest.json"
CHECKPOINT_STATE = "checkpoint.json"
RESTART_TOGGLE = ("restart.a", "restart.b")  # written by LAMMPS's `restart` command during the run
RESTART_END = "restart.end"  # written when a run segment ends (completed or interrupted)
INPUT = "in.lammps"
DATA = "system.data"
GROUPS = "groups.json"
PLUMED = "plumed.dat"
DUMP = "traj.lammpstrj"
THERMO = "thermo.csv"
LOG = "log.lammps"
LOCK = ".nucleate.lock"
LOCK_POLL_S = 1.0  # seconds between tries while waiting for a run directory's lock
NATIVE_PREFIX = "native."  # the native-LAMMPS engine's inputs, logs, restart files and end step (engine/native.py)
LOCAL_INPUT_PREFIX = "in.local"  # the exact LAMMPS input each local segment ran: in.local[.from-step-N].lammps
KEEP_CHECKPOINTS = 3  # restart.end, restart.a, restart.b: at most three states can be intact at once

# Inputs and engine state: never treated as run output.
_NOT_OUTPUT = {MANIFEST, CHECKPOINT_STATE, INPUT, DATA, GROUPS, PLUMED, RESTART_END, LOCK, *RESTART_TOGGLE}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json_atomic(path: Path, data: dict) -> None:
    """Write through a temporary file and rename: the old file stays whole if the disk is full."""
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and rename: a reader sees the old file or the new one, whole."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise NucleateError(f"cannot write {path}: {exc.strerror or exc}") from None


class RunDirectory:
    def __init__(self, path: str | Path):
        self.path = Path(path).resolve()

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    # ------------------------------------------------------------------ manifest
    @property
    def exists(self) -> bool:
        return (self.path / MANIFEST).exists()

    def manifest(self) -> dict:
        """manifest.json as a dict, checked against its schema (engine/manifest.py): a manifest of
        another format, or one missing a required key, is refused here with one clear error."""
        try:
            return schema.check_manifest(json.loads((self.path / MANIFEST).read_text()), self.path / MANIFEST)
        except FileNotFoundError:
            raise NucleateError(f"{self.path} is not a nucleate run directory (no {MANIFEST}); "
                                "create one with `nucleate render SPEC -o DIR` or `nucleate run SPEC -o DIR`") from None
        except json.JSONDecodeError as exc:
            raise NucleateError(f"{self.path / MANIFEST} is damaged (line {exc.lineno}: {exc.msg})") from None

    def write_manifest(self, manifest: dict) -> None:
        write_json_atomic(self.path / MANIFEST, manifest)

    def add_segment(self, segment: dict) -> None:
        manifest = self.manifest()
        manifest.setdefault("segments", []).append(segment)
        self.write_manifest(manifest)

    def has_run(self) -> bool:
        if (self.path / CHECKPOINT_STATE).exists():
            return True
        return self.exists and bool(self.manifest().get("segments"))

    # ------------------------------------------------------------------ lock
    @contextlib.contextmanager
    def lock(self, wait_s: float = 0.0):
        """Hold the run directory for this process; a second process is refused, naming the holder, or,
        with `wait_s`, waits up to that many seconds for the holder to finish first.

        `flock` is released by the kernel when the holder exits or is killed, so a crash never leaves
        a stale lock behind (unlike a pid file)."""
        path = self.path / LOCK
        try:
            handle = open(path, "a+")  # noqa: SIM115 - held open while the lock is held, closed on release
        except OSError as exc:
            raise NucleateError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
        try:
            deadline = time.monotonic() + max(0.0, wait_s)
            announced = False
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    if time.monotonic() >= deadline:
                        raise RunDirectoryBusy(f"{self.path} is in use by {holder}; wait for it to finish or stop it "
                                               "(a run directory is run by one process at a time)") from None
                    if not announced:
                        log.info("%s is in use by %s; waiting up to %.0f s for it", self.path, holder, wait_s)
                        announced = True
                    time.sleep(min(LOCK_POLL_S, max(0.0, deadline - time.monotonic())))
            handle.seek(0)
            handle.truncate()
            since = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
            handle.write(f"process {os.getpid()} on host {socket.gethostname()} (since {since})\n")
            handle.flush()
            yield
        finally:
            handle.close()  # releases the lock

    def is_locked(self) -> bool:
        """True while another process holds the lock (used before moving a directory away)."""
        path = self.path / LOCK
        if not path.exists():
            return False
        with open(path) as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
        return False

    # ------------------------------------------------------------------ outputs
    def output_files(self, external: list[Path] = ()) -> list[Path]:
        """Files a run appends to: everything at the top of the directory that is not an input or
        engine state, plus `external` (PLUMED outputs elsewhere, e.g. shared walker hills)."""
        inside = [p for p in self.path.iterdir()
                  if p.is_file() and p.name not in _NOT_OUTPUT and ".after-step-" not in p.name
                  and not p.name.endswith((".tmp", ".pb", ".pth", ".log", ".lammps")) and p.name != LOG
                  and not p.name.startswith(("bck.", NATIVE_PREFIX))]
        extra = [Path(p) for p in external if Path(p).is_file() and Path(p).resolve().parent != self.path]
        return sorted(inside) + sorted(extra)

    def _key(self, path: Path) -> str:
        """Recorded name: relative inside the run directory, absolute elsewhere."""
        path = Path(path).resolve()
        return path.name if path.parent == self.path else str(path)

    def _path(self, key: str) -> Path:
        return Path(key) if os.path.isabs(key) else self.path / key

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self) -> dict | None:
        """The latest recorded checkpoint (None before the first)."""
        try:
            text = (self.path / CHECKPOINT_STATE).read_text()
        except FileNotFoundError:
            return None
        try:
            state = json.loads(text)
            int(state["step"]), str(state["restart_file"]), dict(state["file_sizes"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            raise NucleateError(
                f"{self.path / CHECKPOINT_STATE} is damaged (not the JSON nucleate writes); rerun from the start "
                f"with `nucleate run {self.path} --overwrite` (the old outputs are kept aside)") from None
        return state

    def usable_checkpoint(self) -> tuple[dict | None, list[str]]:
        """The newest checkpoint whose restart file is still the one recorded, and a note for each
        newer one skipped (missing restart file, or overwritten since: its SHA-256 differs)."""
        latest = self.checkpoint()
        if latest is None:
            return None, []
        notes = []
        for state in [latest, *latest.get("previous", [])]:
            problem = self._restart_problem(state)
            if problem is None:
                return state, notes
            notes.append(f"checkpoint at step {state['step']} skipped: {problem}")
        return None, notes

    def _restart_problem(self, state: dict) -> str | None:
        path = self.path / state["restart_file"]
        if not path.is_file():
            return f"{state['restart_file']} is missing"
        recorded = state.get("restart_sha256")
        if recorded is not None and sha256(path) != recorded:
            return f"{state['restart_file']} was overwritten after it was recorded"
        return None

    def record_checkpoint(self, step: int, restart_file: str, external: list[Path] = (),
                          extra: dict | None = None) -> dict:
        previous = self._previous_for_history()
        state = {
            "step": int(step),
            "restart_file": restart_file,
            "restart_sha256": sha256(self.path / restart_file),
            "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "file_sizes": {self._key(p): p.stat().st_size for p in self.output_files(external)},
        }
        state.update(extra or {})
        # older states whose restart file this one replaced can never be resumed: drop them
        state["previous"] = [p for p in previous if p["restart_file"] != restart_file][:KEEP_CHECKPOINTS - 1]
        write_json_atomic(self.path / CHECKPOINT_STATE, state)
        return state

    def _previous_for_history(self) -> list[dict]:
        try:
            latest = self.checkpoint()
        except NucleateError:
            return []
        if latest is None:
            return []
        older = latest.pop("previous", [])
        return [latest, *older]

    # ------------------------------------------------------------------ setting output aside
    def set_aside_after(self, sizes: dict[str, int], step: int) -> list[Path]:
        """Move bytes written after a checkpoint into `<name>.after-step-<step>` files.

        Files outside the run directory (a walker's hills in the shared folder) are left whole: the other
        walkers have read those hills already and biased their own runs with them, so they stay part of the
        shared bias; the walker reads them back with the others' when it continues (PLUMED RESTART)."""
        moved = []
        for name, size in sizes.items():
            if os.path.isabs(name):
                continue
            path = self._path(name)
            if not path.exists() or path.stat().st_size <= size:
                continue
            aside = _free_name(path.with_name(f"{path.name}.after-step-{step}"))
            with open(path, "rb") as handle:
                handle.seek(size)
                tail = handle.read()
            aside.write_bytes(tail)
            with open(path, "r+b") as handle:
                handle.truncate(size)
            moved.append(aside)
        return moved

    def cut_back(self, sizes: dict[str, int], names: list[str]) -> None:
        """Drop what LAMMPS re-writes for the restart step itself (setup output), which is a duplicate.
        Shared walker files outside the run directory are not cut: the hills this walker deposited after
        its checkpoint stay part of the shared bias (see set_aside_after)."""
        for name in names:
            if os.path.isabs(name):
                continue
            path = self._path(name)
            if name in sizes and path.exists() and path.stat().st_size > sizes[name]:
                with open(path, "r+b") as handle:
                    handle.truncate(sizes[name])


    def set_aside_attempt(self, external: list[Path] = ()) -> Path | None:
        """Before a run starts again from step 0: move every output and engine state of the earlier
        attempt into `replaced-<time>/` (kept, never deleted) and close its segments in the manifest."""
        state = [CHECKPOINT_STATE, RESTART_END, *RESTART_TOGGLE, LOG]
        files = self.output_files(external) + [self.path / n for n in state if (self.path / n).exists()]
        files += [p for p in self.path.iterdir() if p.is_file() and _belongs_to_attempt(p.name)]
        files = list(dict.fromkeys(files))
        manifest = self.manifest()
        if not files and not manifest.get("segments"):
            return None
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        aside = _free_name(self.path / f"replaced-{stamp}")
        aside.mkdir()
        for path in files:
            if Path(path).resolve().parent == self.path:
                shutil.move(str(path), str(aside / path.name))
            else:
                # a shared file (walker hills) keeps its inode, which other walkers hold open: copy, then empty it
                shutil.copyfile(path, _free_name(path.with_name(f"{path.name}.replaced-{stamp}")))
                with open(path, "r+b") as handle:
                    handle.truncate(0)
        manifest.setdefault("earlier_attempts", []).append(
            {"kept_in": aside.name, "segments": manifest.get("segments", [])})
        manifest["segments"] = []
        self.write_manifest(manifest)
        return aside


def _belongs_to_attempt(name: str) -> bool:
    """Engine by-products of a run attempt besides its outputs: set-aside tails, the local inputs it
    ran, PLUMED's logs."""
    return (".after-step-" in name or name.startswith((LOCAL_INPUT_PREFIX, NATIVE_PREFIX))
            or (name.startswith("plumed.") and name.endswith(".log")))


def _free_name(path: Path) -> Path:
    if not path.exists():
        return path
    k = 1
    while path.with_name(f"{path.name}.{k}").exists():
        k += 1
    return path.with_name(f"{path.name}.{k}")
