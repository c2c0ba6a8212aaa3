"""Training and test frames for the toy model: thermostatted MD snapshots at several temperatures
plus deliberately distorted shapes (compressed, swollen, elongated, atoms pulled out), so that a
metadynamics run pushing the coordination number down stays inside the data."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nucleate.models.cluster import BOX_ANGSTROM, centred_in_box, icosahedron_ag13

MIN_DISTANCE_ANGSTROM = 2.3  # closer pairs cost > 1 eV in Morse silver: never visited at <= 1200 K
DISTORTIONS = ("scale", "stretch", "pull", "rattle")


@dataclass
class LabelledFrames:
    positions_angstrom: np.ndarray       # (nframes, natoms, 3)
    energies_ev: np.ndarray              # (nframes,)
    forces_ev_per_angstrom: np.ndarray   # (nframes, natoms, 3)
    kinds: list[str] = field(default_factory=list)  # where each frame came from ("md_600K", "stretch", ...)
    box_angstrom: float = BOX_ANGSTROM

    def __len__(self) -> int:
        return len(self.energies_ev)

    @property
    def natoms(self) -> int:
        return self.positions_angstrom.shape[1]


def _min_distance(positions: np.ndarray) -> float:
    d = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    return float(d[np.triu_indices(len(positions), 1)].min())


def _random_unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def distort(positions: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    centre = positions.mean(axis=0)
    rel = positions - centre
    if kind == "scale":  # compressed to swollen
        rel = rel * rng.uniform(0.94, 1.2) + rng.normal(scale=0.05, size=rel.shape)
    elif kind == "stretch":  # prolate, open shapes of low coordination
        axis = _random_unit(rng)
        factor = rng.uniform(1.1, 1.7)
        along = rel @ axis
        rel = rel + np.outer(along * (factor - 1.0), axis)
        rel = rel * factor ** -0.25 + rng.normal(scale=0.05, size=rel.shape)
    elif kind == "pull":  # one to three surface atoms leaving the cluster
        outermost = np.argsort(np.linalg.norm(rel, axis=1))[::-1][: rng.integers(1, 4)]
        for atom in outermost:
            direction = rel[atom] / np.linalg.norm(rel[atom]) + 0.3 * _random_unit(rng)
            rel[atom] += rng.uniform(0.5, 3.0) * direction / np.linalg.norm(direction)
    elif kind == "rattle":
        rel = rel + rng.normal(scale=0.15, size=rel.shape)
    else:
        raise ValueError(f"unknown distortion {kind!r}")
    return centre + rel


def generate_frames(calculator, *, temperatures_k=(300.0, 600.0, 900.0), md_frames_per_temperature: int = 40,
                    distorted_frames: int = 80, seed: int = 0) -> LabelledFrames:
    """Sample and label frames with `calculator` (a ClusterCalculator holding the reference potential)."""
    rng = np.random.default_rng(seed)
    start = centred_in_box(icosahedron_ag13(), calculator.box)
    frames, kinds = [], []
    for temperature in temperatures_k:
        snapshots = calculator.sample_md(start, temperature, md_frames_per_temperature,
                                         seed=int(rng.integers(1, 800_000_000)))  # LAMMPS seeds < 9e8
        frames.extend(snapshots)
        kinds += [f"md_{temperature:g}K"] * len(snapshots)
    md_pool = np.asarray(frames)
    target = len(frames) + distorted_frames
    while len(frames) < target:
        kind = DISTORTIONS[len(frames) % len(DISTORTIONS)]  # equal shares of each distortion
        candidate = distort(md_pool[rng.integers(len(md_pool))], kind, rng)
        if _min_distance(candidate) >= MIN_DISTANCE_ANGSTROM:
            frames.append(candidate)
            kinds.append(kind)
    positions = np.asarray(frames)
    energies, forces = calculator.label(positions)
    return LabelledFrames(positions, energies, forces, kinds, calculator.box)
