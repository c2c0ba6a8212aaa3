"""Solute placement: one molecule at the box centre, or many dispersed at random (seeded)."""

from __future__ import annotations

import numpy as np

from nucleate.errors import NucleateError
from nucleate.geometry import minimum_image

from .library import Molecule

MAX_TRIES = 5000


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniform random rotation matrix (from a uniform unit quaternion)."""
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def _too_close(candidate: np.ndarray, placed: list[np.ndarray], box: np.ndarray, separation: float) -> bool:
    for other in placed:
        delta = minimum_image(candidate[:, None, :] - other[None, :, :], box)
        if np.einsum("ijk,ijk->ij", delta, delta).min() < separation * separation:
            return True
    return False


def place_center(mol: Molecule, box: np.ndarray) -> np.ndarray:
    """The molecule's centre of geometry at the box centre, in its library orientation (A)."""
    return mol.positions + box / 2


def place_dispersed(mol: Molecule, count: int, box: np.ndarray, rng: np.random.Generator, min_separation: float,
                    within: float | None = None, placed: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """`count` copies with random orientations and centres, every atom of each at least `min_separation` (A)
    from the atoms of all other placed molecules (minimum image); centres within `within` A of the
    box centre if given.  Appends to and returns `placed`."""
    placed = [] if placed is None else placed
    start = len(placed)
    for _ in range(count):
        for _ in range(MAX_TRIES):
            if within is None:
                centre = rng.uniform(0.0, 1.0, 3) * box
            else:
                direction = rng.normal(size=3)
                centre = box / 2 + direction / np.linalg.norm(direction) * within * rng.uniform() ** (1 / 3)
            candidate = mol.positions @ random_rotation(rng).T + centre
            if not _too_close(candidate, placed, box, min_separation):
                placed.append(candidate)
                break
        else:
            region = f"within {within} A of the box centre" if within else f"the {'x'.join(f'{b:g}' for b in box)} A box"
            raise NucleateError(
                f"could place only {len(placed) - start} of {count} {mol.name} molecules {region} with at least "
                f"{min_separation} A between molecules ({MAX_TRIES} tries); the largest count that fits is about "
                f"{len(placed) - start}: lower the count or min_separation, or enlarge the box/'within'")
    return placed
