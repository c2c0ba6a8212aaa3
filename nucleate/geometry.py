"""Periodic boundaries for analysis: cell matrices and minimum-image vectors (lengths in A).

A cell is a 3x3 matrix whose rows are the lattice vectors a, b, c (LAMMPS restricted
triclinic: a along x, b in the xy plane); functions also accept 3 lengths or MDAnalysis's 6
dimensions.  `None` means no periodic boundaries.
"""

from __future__ import annotations

import itertools

import numpy as np

from nucleate.errors import NucleateError

# All 27 integer image shifts; checked after rounding so skewed cells get the true minimum image.
_SHIFTS = np.array(list(itertools.product((-1, 0, 1), repeat=3)), dtype=float)


def cell_matrix(box) -> np.ndarray | None:
    """3x3 cell (rows a, b, c) from None, lengths (3,), MDAnalysis dimensions (6,) or a (3, 3) matrix."""
    if box is None:
        return None
    box = np.asarray(box, dtype=float)
    if box.shape == (3, 3):
        cell = box.copy()
    elif box.shape == (3,):
        cell = np.diag(box)
    elif box.shape == (6,):
        from MDAnalysis.lib.mdamath import triclinic_vectors  # noqa: PLC0415

        cell = np.asarray(triclinic_vectors(box), dtype=float)
    else:
        raise NucleateError(f"cannot read a periodic cell from an array of shape {box.shape}: "
                            "give 3 lengths, 6 MDAnalysis dimensions or a 3x3 matrix (A)")
    if abs(np.linalg.det(cell)) < 1e-12:
        raise NucleateError(f"periodic cell {cell.tolist()} has zero volume")
    return cell


def is_orthorhombic(cell: np.ndarray) -> bool:
    return bool(np.all(cell[~np.eye(3, dtype=bool)] == 0.0))


def minimum_image(vectors: np.ndarray, cell) -> np.ndarray:
    """Shortest periodic image of each separation vector (..., 3); identity without a cell."""
    vectors = np.asarray(vectors, dtype=float)
    cell = cell_matrix(cell)
    if cell is None:
        return vectors
    if is_orthorhombic(cell):
        lengths = np.diag(cell)
        return vectors - lengths * np.round(vectors / lengths)
    inverse = np.linalg.inv(cell)
    frac = vectors @ inverse
    reduced = (frac - np.round(frac)) @ cell
    # Rounding in fractional space is not always the shortest image of a skewed cell: try neighbours.
    candidates = reduced[..., None, :] + (_SHIFTS @ cell)
    best = np.argmin(np.einsum("...ij,...ij->...i", candidates, candidates), axis=-1)
    return np.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]


def separation_matrix(a: np.ndarray, b: np.ndarray, cell: np.ndarray | None) -> np.ndarray:
    """Minimum-image vectors b_j - a_i, shape (len(a), len(b), 3)."""
    return minimum_image(np.asarray(b)[None, :, :] - np.asarray(a)[:, None, :], cell)


def distance_matrix(a: np.ndarray, b: np.ndarray, cell: np.ndarray | None) -> np.ndarray:
    """Minimum-image distances |b_j - a_i| (A), shape (len(a), len(b))."""
    return np.linalg.norm(separation_matrix(a, b, cell), axis=-1)


def make_whole(positions: np.ndarray, cell) -> np.ndarray:
    """Chain each atom to the previous one by minimum image, as PLUMED's COM/CENTER do by default."""
    positions = np.asarray(positions, dtype=float)
    cell = cell_matrix(cell)
    if cell is None or len(positions) < 2:
        return positions.copy()
    steps = minimum_image(np.diff(positions, axis=0), cell)
    return np.concatenate([positions[:1], positions[:1] + np.cumsum(steps, axis=0)])


def center_of_mass(positions: np.ndarray, masses: np.ndarray, cell: np.ndarray | None) -> np.ndarray:
    """Mass-weighted centre (A) of atoms made whole across the boundaries first."""
    whole = make_whole(positions, cell)
    masses = np.asarray(masses, dtype=float)
    return (masses[:, None] * whole).sum(axis=0) / masses.sum()
