"""The run directory: file names, the manifest, checkpoints, and the rule that nothing written
is ever lost.  At each checkpoint the size of every output file is recorded; when a run is
continued, whatever a crash left beyond the checkpoint is moved to `<file>.after-step-N`
(never deleted), so the continued files have no duplicated and no missing rows."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from nucleate.errors import NucleateError

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

# Inputs and engine state: never treated as run output.
_NOT_OUTPUT = {MANIFEST, CHECKPOINT_STATE, INPUT, DATA, GROUPS, PLUMED, RESTART_END, *RESTART_TOGGLE}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


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
        try:
            return json.loads((self.path / MANIFEST).read_text())
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

    # ------------------------------------------------------------------ checkpoints
    def output_files(self) -> list[Path]:
        return sorted(p for p in self.path.iterdir()
                      if p.is_file() and p.name not in _NOT_OUTPUT and ".after-step-" not in p.name
                      and not p.name.endswith((".tmp", ".pb", ".pth", ".log")) and p.name != LOG
                      and not p.name.startswith("bck."))

    def checkpoint(self) -> dict | None:
        try:
            return json.loads((self.path / CHECKPOINT_STATE).read_text())
        except FileNotFoundError:
            return None

    def record_checkpoint(self, step: int, restart_file: str, extra: dict | None = None) -> dict:
        state = {
            "step": int(step),
            "restart_file": restart_file,
            "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "file_sizes": {p.name: p.stat().st_size for p in self.output_files()},
        }
        state.update(extra or {})
        write_json_atomic(self.path / CHECKPOINT_STATE, state)
        return state

    def set_aside_after(self, sizes: dict[str, int], step: int) -> list[Path]:
        """Move bytes written after a checkpoint into `<name>.after-step-<step>` files."""
        moved = []
        for name, size in sizes.items():
            path = self.path / name
            if not path.exists() or path.stat().st_size <= size:
                continue
            aside = _free_name(self.path / f"{name}.after-step-{step}")
            with open(path, "rb") as handle:
                handle.seek(size)
                tail = handle.read()
            aside.write_bytes(tail)
            with open(path, "r+b") as handle:
                handle.truncate(size)
            moved.append(aside)
        return moved

    def cut_back(self, sizes: dict[str, int], names: list[str]) -> None:
        """Drop what LAMMPS re-writes for the restart step itself (setup output), which is a duplicate."""
        for name in names:
            path = self.path / name
            if name in sizes and path.exists() and path.stat().st_size > sizes[name]:
                with open(path, "r+b") as handle:
                    handle.truncate(sizes[name])


def _free_name(path: Path) -> Path:
    if not path.exists():
        return path
    k = 1
    while path.with_name(f"{path.name}.{k}").exists():
        k += 1
    return path.with_name(f"{path.name}.{k}")
