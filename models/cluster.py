"""Geometry of the demo system: a small silver cluster in a large periodic (vacuum) box."""

from __future__ import annotations

import numpy as np

from nucleate.geometry import images_nearest

BOX_ANGSTROM = 30.0  # > 2 x (cluster diameter + cutoff): periodic images never interact
AG13_RADIUS_ANGSTROM = 2.991  # centre-to-vertex distance at the Morse (GW) icosahedral minimum


def icosahedron_ag13(radius_angstrom: float = AG13_RADIUS_ANGSTROM) -> np.ndarray:
    """(13, 3) positions in A of a centred icosahedron: the compact, fully coordinated shape."""
    phi = (1.0 + 5.0**0.5) / 2.0
    vertices = []
    for a in (-1.0, 1.0):
        for b in (-phi, phi):
            vertices += [(0.0, a, b), (a, b, 0.0), (b, 0.0, a)]
    vertices = np.asarray(vertices)
    vertices *= radius_angstrom / np.linalg.norm(vertices[0])
    return np.vstack([np.zeros(3), vertices])


def centred_in_box(positions: np.ndarray, box_angstrom: float = BOX_ANGSTROM) -> np.ndarray:
    return positions - positions.mean(axis=0) + box_angstrom / 2.0


def make_whole(positions: np.ndarray, box_angstrom: float) -> np.ndarray:
    """Undo periodic wrapping of a cluster much smaller than half the (cubic) box: minimum image to atom 1."""
    return images_nearest(positions, positions[0], np.full(3, float(box_angstrom)))


def radius_of_gyration(positions: np.ndarray) -> float:
    centred = positions - positions.mean(axis=0)
    return float(np.sqrt((centred**2).sum(axis=1).mean()))
