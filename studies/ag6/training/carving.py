"""Carve a finite cluster out of a periodic box: chosen core molecules plus the K solvent molecules
nearest to them, every molecule made whole and placed at its minimum image next to the core.

Taking the K nearest molecules (rather than all within a radius) gives every frame of a kind
the same composition and atom order, so each kind is one deepmd/npy system.
"""

from __future__ import annotations

import numpy as np

from nucleate.geometry import lattice_shift, minimum_image


def _whole(x: np.ndarray, box: np.ndarray) -> np.ndarray:
    """A molecule (smaller than half the box) made whole around its first atom."""
    delta = x - x[0]
    return x[0] + delta - lattice_shift(delta, box)


def _image_next_to(x: np.ndarray, reference: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Shift a whole molecule by a lattice vector so its first atom is nearest to `reference` atoms."""
    d = minimum_image(x[0] - reference, box)
    nearest = reference[np.argmin((d**2).sum(axis=1))]
    return x - lattice_shift(x[0] - nearest, box)


def carve(positions: np.ndarray, box: np.ndarray, molecules: list[np.ndarray], core: list[int],
          solvent: list[int], shell: int) -> tuple[np.ndarray, np.ndarray]:
    """(atom indices (0-based) of the cluster, their unwrapped positions in A).

    molecules: 0-based atom indices of each molecule; core / solvent: molecule indices.
    """
    box = np.asarray(box, float)
    placed = [_whole(positions[molecules[core[0]]], box)]
    for m in core[1:]:
        placed.append(_image_next_to(_whole(positions[molecules[m]], box), np.concatenate(placed), box))
    core_xyz = np.concatenate(placed)
    candidates = [m for m in solvent if m not in core]
    if shell > len(candidates):
        raise ValueError(f"asked for {shell} solvent molecules, the box holds {len(candidates)}")
    distances = []
    for m in candidates:
        d = minimum_image(positions[molecules[m]][:, None, :] - core_xyz[None], box)
        distances.append(np.sqrt((d**2).sum(axis=-1)).min())
    chosen = [candidates[i] for i in np.argsort(distances, kind="stable")[:shell]]
    for m in chosen:
        placed.append(_image_next_to(_whole(positions[molecules[m]], box), core_xyz, box))
    atoms = np.concatenate([molecules[m] for m in list(core) + chosen])
    return atoms, np.concatenate(placed)
