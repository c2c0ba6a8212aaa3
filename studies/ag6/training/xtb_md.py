"""Thermal frames: Langevin MD of a carved cluster on the GFN2-xTB surface (ASE + tblite's ASE
calculator), the pipeline's stand-in for the study's AIMD at 300-450 K.

Rattled packed boxes teach a model nothing about a bond stretched by thermal motion; the first two
full builds broke methanol bonds within 0.1 ps of MD. These frames are thermal by construction.
"""

from __future__ import annotations

import numpy as np

from nucleate.units import KB_EV
from nucleate.models.xtb import ELECTRONIC_TEMPERATURE_K  # the labels' setting, so MD and labels agree

FRICTION_PER_FS = 0.01   # Langevin friction: 100 fs relaxation, gentle enough to keep the dynamics
TIMESTEP_FS = 0.5        # the study's timestep
# A trajectory is abandoned when its potential energy climbs this many N kB T above the lowest it has
# reached: a thermal cluster fluctuates by about sqrt(3N/2) kB T, while a non-converged SCF feeds it
# wrong forces and it climbs by tens of eV (bare Ag6L6 at 300 K in the third and fourth builds: +200 eV,
# forces of 100-160 eV/A, 13 garbage frames in the training set).
RUNAWAY_NKT = 3.0
RUNAWAY_FLOOR_EV = 2.0  # small molecules relax from their start by ~1 eV (bare AgL): never below this


def xtb_md_frames(elements: list[str], positions_angstrom: np.ndarray, *, steps: int, every: int,
                  temperature_k: float, seed: int) -> tuple[np.ndarray, list[int]]:
    """Positions (n, natoms, 3) in A every `every` steps of NVT Langevin MD, and the step of each.

    Stops early, keeping the frames before it, if the SCF fails or the energy runs away (see
    `runaway`): configurations xTB cannot describe."""
    from ase import Atoms, units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import Stationary, thermalize_momenta
    from tblite.ase import TBLite

    rng = np.random.default_rng(seed)
    atoms = Atoms(symbols=list(elements), positions=np.asarray(positions_angstrom, float))
    atoms.calc = TBLite(method="GFN2-xTB", electronic_temperature=ELECTRONIC_TEMPERATURE_K, verbosity=0)
    thermalize_momenta(atoms, temperature_k, rng=rng)
    Stationary(atoms)
    dynamics = Langevin(atoms, timestep=TIMESTEP_FS * units.fs, temperature_K=temperature_k,
                        friction=FRICTION_PER_FS / units.fs, fixcm=False, rng=rng)
    frames, at_steps = [], []
    done = 0
    lowest = np.inf
    while done < steps:
        try:
            dynamics.run(every)
            energy = atoms.get_potential_energy()
        except RuntimeError:  # tblite: SCF not converged
            break
        if runaway(energy, lowest, len(elements), temperature_k):
            break
        lowest = min(lowest, energy)
        done += every
        frames.append(atoms.get_positions().copy())
        at_steps.append(done)
    return np.asarray(frames).reshape(-1, len(elements), 3), at_steps


def runaway(energy_ev: float, lowest_ev: float, natoms: int, temperature_k: float) -> bool:
    """True when `energy_ev` lies more than RUNAWAY_NKT N kB T (at least RUNAWAY_FLOOR_EV) above the
    lowest energy so far."""
    return energy_ev - lowest_ev > runaway_bound_ev(natoms, temperature_k)  # lowest = inf: the first frame


def runaway_bound_ev(natoms: int, temperature_k: float) -> float:
    return max(RUNAWAY_NKT * natoms * KB_EV * temperature_k, RUNAWAY_FLOOR_EV)


def runaway_frames(energies_ev: np.ndarray, natoms: int, temperature_k: float) -> np.ndarray:
    """Mask of the labelled frames of one thermal trajectory that lie more than RUNAWAY_NKT N kB T above
    its lowest labelled energy. The MD's own SCF can stay on one electronic state while the labeller's
    lands on another (bare Ag6L6: +6 and +33 eV, 18 eV/A forces, within 40 fs): such labels are dropped."""
    energies = np.asarray(energies_ev, float)
    bound = runaway_bound_ev(natoms, temperature_k)
    return np.isfinite(energies) & (energies - np.nanmin(energies) > bound)
