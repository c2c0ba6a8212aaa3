"""Bond distances and bond angles between named groups over a trajectory (A and degrees).

A *bond* A-B is a pair of atoms, one from each group, closer than a cutoff (minimum image).
An angle A-B-C has its vertex in the middle group B: both ends are bonded to the vertex
(A-B within the A-B cutoff, C-B within the C-B cutoff).  Default cutoffs are chosen between
the first and the second neighbour shells of Ag6(SR)6 (Ag-Ag ~2.97 A vs ~4.2 A across the
octahedron; Ag-S ~2.5 A; Ag-N ~2.3 A); override them per pair.
"""

from __future__ import annotations

import numpy as np
from MDAnalysis.analysis.base import AnalysisBase

from nucleate.analysis.trajectory.io import frame_cell
from nucleate.errors import NucleateError
from nucleate.geometry import separation_matrix

DEFAULT_BOND_CUTOFFS_A = {("Ag", "Ag"): 3.5, ("Ag", "S"): 3.0, ("Ag", "N"): 2.8}


def bond_cutoff(a: str, b: str, cutoffs: dict | None = None) -> float:
    """Cutoff (A) for a pair of group names, looked up in either order; user values first."""
    for table in (cutoffs or {}, DEFAULT_BOND_CUTOFFS_A):
        for key in ((a, b), (b, a)):
            if key in table:
                return float(table[key])
    raise NucleateError(f"no bond cutoff for {a}-{b}: give one, e.g. --cutoff {a}-{b}=3.0 (A)")


def parse_combination(text: str, size: int) -> tuple[str, ...]:
    """'Ag-S' -> ('Ag', 'S'); group names themselves may not contain '-'."""
    names = tuple(part.strip() for part in text.split("-"))
    if len(names) != size or not all(names):
        kind = "pair A-B" if size == 2 else "triple A-B-C (vertex in the middle)"
        raise NucleateError(f"cannot read {text!r} as a {kind}")
    return names


class BondDistances(AnalysisBase):
    """Distances (A) of all A-B pairs closer than `cutoff`, each unordered pair once.

    results.distances: 1-D array over all frames; results.counts: pairs per frame.
    """

    def __init__(self, group_a, group_b, cutoff: float, **kwargs):
        super().__init__(group_a.universe.trajectory, **kwargs)
        self.group_a, self.group_b, self.cutoff = group_a, group_b, float(cutoff)
        ia, ib = group_a.indices, group_b.indices
        # One unordered pair once, never an atom with itself (overlapping groups, e.g. Ag-Ag).
        keep = ia[:, None] != ib[None, :]
        overlap = np.isin(ia, ib)[:, None] & np.isin(ib, ia)[None, :]
        keep &= ~overlap | (ia[:, None] < ib[None, :])
        self._keep = keep

    def _prepare(self):
        self._chunks: list[np.ndarray] = []
        self.results.counts = np.zeros(self.n_frames, dtype=int)

    def _single_frame(self):
        vectors = separation_matrix(self.group_a.positions, self.group_b.positions, frame_cell(self._ts))
        r = np.linalg.norm(vectors, axis=-1)
        selected = r[self._keep & (r < self.cutoff)]
        self._chunks.append(selected)
        self.results.counts[self._frame_index] = selected.size

    def _conclude(self):
        self.results.distances = np.concatenate(self._chunks) if self._chunks else np.empty(0)


class BondAngles(AnalysisBase):
    """Angles A-B-C (degrees) at vertex B with both ends bonded to it; symmetric ends counted once.

    results.angles: 1-D array over all frames; results.counts: angles per frame.
    """

    def __init__(self, ends_a, vertices, ends_c, cutoff_a: float, cutoff_c: float, **kwargs):
        super().__init__(vertices.universe.trajectory, **kwargs)
        self.ends_a, self.vertices, self.ends_c = ends_a, vertices, ends_c
        self.cutoff_a, self.cutoff_c = float(cutoff_a), float(cutoff_c)
        ia, iv, ic = ends_a.indices, vertices.indices, ends_c.indices
        self._not_vertex_a = ia[None, :] != iv[:, None]
        self._not_vertex_c = ic[None, :] != iv[:, None]
        pair_ok = ia[:, None] != ic[None, :]
        if set(ia) == set(ic):  # S-Ag-S: (a, c) and (c, a) are the same angle
            pair_ok &= ia[:, None] < ic[None, :]
        self._pair_ok = pair_ok

    def _prepare(self):
        self._chunks: list[np.ndarray] = []
        self.results.counts = np.zeros(self.n_frames, dtype=int)

    def _single_frame(self):
        cell = frame_cell(self._ts)
        va = separation_matrix(self.vertices.positions, self.ends_a.positions, cell)  # (nv, na, 3)
        vc = separation_matrix(self.vertices.positions, self.ends_c.positions, cell)  # (nv, nc, 3)
        ra = np.linalg.norm(va, axis=-1)
        rc = np.linalg.norm(vc, axis=-1)
        bonded_a = (ra < self.cutoff_a) & self._not_vertex_a
        bonded_c = (rc < self.cutoff_c) & self._not_vertex_c
        mask = bonded_a[:, :, None] & bonded_c[:, None, :] & self._pair_ok[None, :, :]
        v, a, c = np.nonzero(mask)
        cosine = np.einsum("ij,ij->i", va[v, a], vc[v, c]) / (ra[v, a] * rc[v, c])
        angles = np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))
        self._chunks.append(angles)
        self.results.counts[self._frame_index] = angles.size

    def _conclude(self):
        self.results.angles = np.concatenate(self._chunks) if self._chunks else np.empty(0)
