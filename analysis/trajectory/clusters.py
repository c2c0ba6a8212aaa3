"""Silver nuclei per frame: clusters of the Ag-Ag contact graph and complete Ag6 octahedra.

Contact: two Ag closer than `cutoff` (default 3.5 A, between the octahedron edge ~2.97 A and
its body diagonal ~4.2 A = sqrt(2) x edge).  A nucleus is a connected component of the contact
graph (scipy.sparse.csgraph.connected_components).

A *complete octahedron* is a component of exactly 6 Ag whose contact graph is the octahedron's:
every Ag has 4 neighbours (12 edges) and one opposite vertex it does not touch; and, as a
geometric tolerance, each opposite distance lies within `diagonal_tolerance` (default 20 %) of
sqrt(2) x the mean edge.  A component with any missing or extra contact, or a strongly squashed
one (right contacts, diagonals far from sqrt(2) x edge), is not counted.
"""

from __future__ import annotations

import numpy as np
from MDAnalysis.analysis.base import AnalysisBase

from nucleate.analysis.trajectory.io import frame_cell
from nucleate.geometry import distance_matrix

OCTAHEDRON_SIZE = 6


def contact_clusters(distances: np.ndarray, cutoff: float) -> list[np.ndarray]:
    """Connected components (index arrays, largest first) of the graph r_ij < cutoff."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    adjacency = (distances < cutoff) & ~np.eye(len(distances), dtype=bool)
    n, labels = connected_components(csr_matrix(adjacency), directed=False)
    clusters = [np.flatnonzero(labels == k) for k in range(n)]
    return sorted(clusters, key=len, reverse=True)


def is_octahedron(distances: np.ndarray, cutoff: float, diagonal_tolerance: float = 0.2) -> bool:
    """True for a 6x6 distance matrix (A) whose contact graph and diagonals are an octahedron's."""
    if distances.shape != (OCTAHEDRON_SIZE, OCTAHEDRON_SIZE):
        return False
    contact = (distances < cutoff) & ~np.eye(OCTAHEDRON_SIZE, dtype=bool)
    if not np.all(contact.sum(axis=1) == 4):
        return False
    # Degree 4 of 5 everywhere: the non-contacts pair the vertices into 3 opposite pairs.
    opposite = ~contact & ~np.eye(OCTAHEDRON_SIZE, dtype=bool)
    edge = distances[np.triu(contact)].mean()
    diagonals = distances[np.triu(opposite)]
    return bool(np.all(np.abs(diagonals / (np.sqrt(2.0) * edge) - 1.0) <= diagonal_tolerance))


class Nuclei(AnalysisBase):
    """Clusters of `silver` atoms per frame.

    results.largest, results.n_clusters (size >= min_size), results.n_octahedra: (n_frames,);
    results.sizes: per frame, the cluster sizes (all clusters incl. single atoms, largest first);
    results.octahedra: per frame, the 1-based atom ids of each complete octahedron;
    results.steps, results.times as in CoordinationSeries.
    """

    def __init__(self, silver, cutoff: float = 3.5, min_size: int = 2, diagonal_tolerance: float = 0.2, **kwargs):
        super().__init__(silver.universe.trajectory, **kwargs)
        self.silver, self.cutoff, self.min_size = silver, float(cutoff), int(min_size)
        self.diagonal_tolerance = float(diagonal_tolerance)

    def _prepare(self):
        n = self.n_frames
        self.results.largest = np.zeros(n, dtype=int)
        self.results.n_clusters = np.zeros(n, dtype=int)
        self.results.n_octahedra = np.zeros(n, dtype=int)
        self.results.steps = np.zeros(n, dtype=np.int64)
        self.results.times = np.zeros(n)
        self.results.sizes = []
        self.results.octahedra = []

    def _single_frame(self):
        positions = self.silver.positions.astype(float)
        distances = distance_matrix(positions, positions, frame_cell(self._ts))
        clusters = contact_clusters(distances, self.cutoff)
        sizes = np.array([len(c) for c in clusters], dtype=int)
        octahedra = [
            [int(i) for i in self.silver.ids[c]] for c in clusters
            if len(c) == OCTAHEDRON_SIZE and is_octahedron(distances[np.ix_(c, c)], self.cutoff, self.diagonal_tolerance)
        ]
        i = self._frame_index
        self.results.largest[i] = sizes.max(initial=0)
        self.results.n_clusters[i] = int(np.count_nonzero(sizes >= self.min_size))
        self.results.n_octahedra[i] = len(octahedra)
        self.results.steps[i] = int(self._ts.data.get("step", self._ts.frame))
        self.results.times[i] = self._ts.time
        self.results.sizes.append(sizes)
        self.results.octahedra.append(octahedra)
