"""Frame sets on disk: unlabelled configurations (frames.npz) and their labels (labels.npz), and the
deepmd/npy systems written from them.

Carved spheres and bare clusters are non-periodic: the deepmd/npy system gets a `nopbc` marker
file (DeePMD-kit then builds neighbour lists without images) and, for tools that insist on a
cell, a cubic box far larger than cluster + cutoff.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NOPBC_BOX_ANGSTROM = 100.0


@dataclass
class FrameSet:
    kind: str
    elements: list[str]
    positions: np.ndarray                      # (nframes, natoms, 3) A
    origins: list[str] = field(default_factory=list)  # how each frame was made

    def __len__(self) -> int:
        return len(self.positions)

    @property
    def natoms(self) -> int:
        return len(self.elements)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, positions=self.positions, elements=np.array(self.elements),
                            origins=np.array(self.origins), kind=np.array(self.kind))
        os.replace(tmp, path)  # a stage killed half-way never leaves a truncated file
        return path

    @classmethod
    def load(cls, path: str | Path) -> "FrameSet":
        with np.load(path) as data:
            return cls(str(data["kind"]), [str(e) for e in data["elements"]], data["positions"],
                       [str(o) for o in data["origins"]])

    @classmethod
    def concatenate(cls, sets: list["FrameSet"]) -> "FrameSet":
        return cls(sets[0].kind, sets[0].elements, np.concatenate([s.positions for s in sets]),
                   [o for s in sets for o in s.origins])


@dataclass
class Labels:
    energies_ev: np.ndarray                 # (nframes,), nan where the reference failed
    forces_ev_per_angstrom: np.ndarray      # (nframes, natoms, 3)
    seconds: np.ndarray                     # (nframes,) CPU seconds of each label; NaN = not labelled yet
    method: str

    @property
    def ok(self) -> np.ndarray:
        return np.isfinite(self.energies_ev)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, energies=self.energies_ev, forces=self.forces_ev_per_angstrom,
                            seconds=self.seconds, method=np.array(self.method))
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Labels":
        with np.load(path) as data:
            return cls(data["energies"], data["forces"], data["seconds"], str(data["method"]))


def write_deepmd_system(frames: FrameSet, labels: Labels, directory: str | Path, type_map: list[str]) -> Path | None:
    """deepmd/npy system (eV, A, eV/A) of the successfully labelled frames; None if there are none."""
    keep = labels.ok
    if not keep.any():
        return None
    directory = Path(directory)
    set_dir = directory / "set.000"
    set_dir.mkdir(parents=True, exist_ok=True)
    n, natoms = int(keep.sum()), frames.natoms
    (directory / "type_map.raw").write_text("\n".join(type_map) + "\n")
    (directory / "type.raw").write_text("\n".join(str(type_map.index(el)) for el in frames.elements) + "\n")
    (directory / "nopbc").write_text("")
    box = np.tile(np.eye(3).reshape(1, 9) * NOPBC_BOX_ANGSTROM, (n, 1))
    # centre each cluster in the nominal box so that a tool ignoring `nopbc` still sees no images
    coords = frames.positions[keep] - frames.positions[keep].mean(axis=1, keepdims=True) + NOPBC_BOX_ANGSTROM / 2
    np.save(set_dir / "box.npy", box)
    np.save(set_dir / "coord.npy", coords.reshape(n, natoms * 3))
    np.save(set_dir / "energy.npy", labels.energies_ev[keep])
    np.save(set_dir / "force.npy", labels.forces_ev_per_angstrom[keep].reshape(n, natoms * 3))
    (directory / "origins.json").write_text(json.dumps([o for o, k in zip(frames.origins, keep) if k]) + "\n")
    return directory
