"""Periodic geometry, written once: cells, minimum image, wrapping and whole molecules (A).

Everything that needs a periodic separation (systems/ building boxes, models/ carving clusters,
analysis/trajectory/ measuring bonds and coordination, studies/) calls this module, so the
rounding rule lives in one place.  It sits at the top of the namespace, not in analysis/, so that
systems/ and models/ do not depend on the analysis package.

A cell is a 3x3 matrix whose rows are the lattice vectors a, b, c (LAMMPS restricted triclinic:
a along x, b in the xy plane); functions also accept 3 lengths or MDAnalysis's 6 dimensions.
`None` means no periodic boundaries.

Why numpy rather than MDAnalysis.lib.distances (minimize_vectors, distance_array): measured with
MDAnalysis 2.11 on float64 input, minimize_vectors is ~4x slower than the orthorhombic path below
(1e5 vectors) and both it and distance_array cast the box to float32, which moves distances by
up to ~2e-6 A; the trajectory analyses are compared with PLUMED to 1e-12, so they keep float64.
MDAnalysis still converts its 6 dimensions into a cell (triclinic_vectors).
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
        from MDAnalysis.lib.mdamath import triclinic_vectors

        cell = np.asarray(triclinic_vectors(box), dtype=float)
    else:
        raise NucleateError(f"cannot read a periodic cell from an array of shape {box.shape}: "
                            "give 3 lengths, 6 MDAnalysis dimensions or a 3x3 matrix (A)")
    if abs(np.linalg.det(cell)) < 1e-12:
        raise NucleateError(f"periodic cell {cell.tolist()} has zero volume")
    return cell


def is_orthorhombic(cell: np.ndarray) -> bool:
    return bool(np.all(cell[~np.eye(3, dtype=bool)] == 0.0))


def lattice_shift(vectors: np.ndarray, cell) -> np.ndarray:
    """The lattice vector nearest to each vector (..., 3): vectors - lattice_shift = minimum image.

    Moving atoms by it (rather than replacing them by reference + minimum image) translates a
    molecule by an exact lattice vector, so its internal geometry is untouched.
    """
    vectors = np.asarray(vectors, dtype=float)
    lengths, cell = _lengths_or_cell(cell)
    if lengths is not None:
        return _orthorhombic_shift(vectors, lengths)
    if cell is None:
        return np.zeros_like(vectors)
    return vectors - minimum_image(vectors, cell)


def minimum_image(vectors: np.ndarray, cell) -> np.ndarray:
    """Shortest periodic image of each separation vector (..., 3); identity without a cell."""
    vectors = np.asarray(vectors, dtype=float)
    lengths, cell = _lengths_or_cell(cell)
    if lengths is not None:
        return vectors - _orthorhombic_shift(vectors, lengths)
    if cell is None:
        return vectors
    inverse = np.linalg.inv(cell)
    frac = vectors @ inverse
    reduced = (frac - np.round(frac)) @ cell
    # Rounding in fractional space is not always the shortest image of a skewed cell: try neighbours.
    candidates = reduced[..., None, :] + (_SHIFTS @ cell)
    best = np.argmin(np.einsum("...ij,...ij->...i", candidates, candidates), axis=-1)
    return np.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]


def _lengths_or_cell(box) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(edge lengths, None) for an orthorhombic box, (None, cell) for a skewed one, (None, None) for none."""
    if box is None:
        return None, None
    box = np.asarray(box, dtype=float)
    if box.shape == (3,):
        # 3 lengths, as systems/ and models/ pass them inside loops over molecule pairs: checked
        # without building a matrix, which would cost twice the minimum image itself
        if not box.all():  # a zero edge
            raise NucleateError(f"periodic cell {np.diag(box).tolist()} has zero volume")
        return box, None
    cell = cell_matrix(box)
    return (np.diag(cell), None) if is_orthorhombic(cell) else (None, cell)


def _orthorhombic_shift(vectors: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    return lengths * np.round(vectors / lengths)


def separation_matrix(a: np.ndarray, b: np.ndarray, cell) -> np.ndarray:
    """Minimum-image vectors b_j - a_i, shape (len(a), len(b), 3)."""
    return minimum_image(np.asarray(b)[None, :, :] - np.asarray(a)[:, None, :], cell)


def distance_matrix(a: np.ndarray, b: np.ndarray, cell) -> np.ndarray:
    """Minimum-image distances |b_j - a_i| (A), shape (len(a), len(b))."""
    return np.linalg.norm(separation_matrix(a, b, cell), axis=-1)


def wrap(positions: np.ndarray, cell) -> np.ndarray:
    """Positions folded into the cell, [0, 1) in fractional coordinates; identity without a cell.

    The result is strictly inside (scipy's cKDTree with boxsize rejects a coordinate equal to
    the box length, which np.mod returns for tiny negative inputs).
    """
    positions = np.asarray(positions, dtype=float)
    cell = cell_matrix(cell)
    if cell is None:
        return positions.copy()
    if is_orthorhombic(cell):
        lengths = np.diag(cell)
        wrapped = np.mod(positions, lengths)
        wrapped[wrapped >= lengths] = 0.0
        return wrapped
    frac = np.mod(positions @ np.linalg.inv(cell), 1.0)
    frac[frac >= 1.0] = 0.0
    return frac @ cell


def make_whole(positions: np.ndarray, cell) -> np.ndarray:
    """Chain each atom to the previous one by minimum image, as PLUMED's COM/CENTER do by default."""
    positions = np.asarray(positions, dtype=float)
    cell = cell_matrix(cell)
    if cell is None or len(positions) < 2:
        return positions.copy()
    steps = minimum_image(np.diff(positions, axis=0), cell)
    return np.concatenate([positions[:1], positions[:1] + np.cumsum(steps, axis=0)])


def images_nearest(positions: np.ndarray, reference: np.ndarray, cell) -> np.ndarray:
    """Each position at its periodic image nearest to `reference` (A): a cluster smaller than half
    the box made whole around one of its atoms."""
    reference = np.asarray(reference, dtype=float)
    return reference + minimum_image(np.asarray(positions, dtype=float) - reference, cell)


def center_of_mass(positions: np.ndarray, masses: np.ndarray, cell) -> np.ndarray:
    """Mass-weighted centre (A) of atoms made whole across the boundaries first."""
    whole = make_whole(positions, cell)
    masses = np.asarray(masses, dtype=float)
    return (masses[:, None] * whole).sum(axis=0) / masses.sum()
