"""Solute molecules moved as rigid bodies until a PLUMED input's walls and restraints hold.

A preset's walls (distances to the nucleation point, S-Ag...N' angles, ...) are satisfied by the
study's own starting boxes but almost never by randomly placed and oriented solutes: the
monomer_dimer box of `nucleate build` used to start with 48 kcal/mol of angle wall, and forces of
hundreds of kcal/mol/A then pulled the solutes into place in the first femtoseconds of every run.

The objective is the static bias evaluated by PLUMED (nucleate.plumed_cvs.static_bias) plus a
harmonic penalty on atoms of different solute molecules closer than their `min_separation`, so the
fit cannot trade a wall for an overlap. It is minimised over each molecule's translation and
rotation (bond lengths and angles stay those of the molecule library) by steepest descent on the
net forces and torques with an adaptive step, accepted only when the objective falls. Walls are flat
inside, so the objective reaches exactly zero once every wall holds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from nucleate.geometry import minimum_image

log = logging.getLogger(__name__)

CONTACT_KAPPA = 100.0    # energy unit of the bias per A^2: as stiff as the study's walls
MAX_ITERATIONS = 3000
TRANSLATION_STEP_A = 0.2
ROTATION_STEP_RAD = 0.1


@dataclass
class FitResult:
    positions: np.ndarray        # (N, 3) A, all atoms (only the solutes moved)
    energy: float                # static bias + contact penalty at the end
    start_energy: float
    iterations: int


def rotation_matrix(vector: np.ndarray) -> np.ndarray:
    """Rotation by |vector| radians about vector's direction (Rodrigues)."""
    angle = float(np.linalg.norm(vector))
    if angle < 1e-12:
        return np.eye(3)
    k = vector / angle
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + np.sin(angle) * kx + (1.0 - np.cos(angle)) * kx @ kx


def contact_penalty(positions: np.ndarray, molecules: list[np.ndarray], separations: list[float],
                    box: np.ndarray) -> tuple[float, np.ndarray]:
    """Harmonic penalty (and forces) on atom pairs of different solute molecules closer than the larger
    of their two molecules' min_separation."""
    energy, forces = 0.0, np.zeros_like(positions)
    for a in range(len(molecules)):
        for b in range(a + 1, len(molecules)):
            limit = max(separations[a], separations[b])
            delta = minimum_image(positions[molecules[a]][:, None, :] - positions[molecules[b]][None, :, :], box)
            dist = np.sqrt(np.einsum("ijk,ijk->ij", delta, delta))
            short = dist < limit
            if not short.any():
                continue
            gap = np.where(short, limit - dist, 0.0)
            energy += CONTACT_KAPPA * float(np.sum(gap * gap))
            # F_a = -dE/dr_a = 2 k gap * unit(r_a - r_b)
            push = (2.0 * CONTACT_KAPPA * gap / np.maximum(dist, 1e-9))[:, :, None] * delta
            forces[molecules[a]] += push.sum(axis=1)
            forces[molecules[b]] -= push.sum(axis=0)
    return energy, forces


def fit_rigid(energy_forces, positions: np.ndarray, molecules: list[np.ndarray], separations: list[float],
              box: np.ndarray, *, target: float = 1e-6, max_iterations: int = MAX_ITERATIONS) -> FitResult:
    """Move each molecule (0-based atom indices in `molecules`) rigidly to minimise
    energy_forces(positions) + the contact penalty. energy_forces returns (energy, (N, 3) forces)."""

    def objective(x):
        energy, forces = energy_forces(x)
        penalty, push = contact_penalty(x, molecules, separations, box)
        return energy + penalty, forces + push

    x = np.array(positions, dtype=float)
    energy, forces = objective(x)
    start, scale, iterations = energy, 1.0, 0
    for iteration in range(1, max_iterations + 1):
        iterations = iteration
        if energy <= target:
            break
        centres = [x[idx].mean(axis=0) for idx in molecules]
        pulls = [forces[idx].sum(axis=0) for idx in molecules]
        torques = [np.cross(x[idx] - c, forces[idx]).sum(axis=0) for idx, c in zip(molecules, centres)]
        largest_pull = max(float(np.linalg.norm(p)) for p in pulls) or 1.0
        largest_torque = max(float(np.linalg.norm(t)) for t in torques) or 1.0
        trial = x.copy()
        for idx, c, pull, torque in zip(molecules, centres, pulls, torques):
            turn = rotation_matrix(scale * ROTATION_STEP_RAD * torque / largest_torque)
            shift = scale * TRANSLATION_STEP_A * pull / largest_pull
            trial[idx] = (x[idx] - c) @ turn.T + c + shift
        trial_energy, trial_forces = objective(trial)
        if trial_energy < energy:
            x, energy, forces = trial, trial_energy, trial_forces
            scale = min(scale * 1.3, 5.0)
        else:
            scale *= 0.5
            if scale < 1e-5:
                break
    log.debug("rigid fit: %.4g -> %.4g in %d iterations", start, energy, iterations)
    return FitResult(positions=x, energy=energy, start_energy=start, iterations=iterations)
