"""Thermal frames: Langevin MD of a carved cluster on the GFN2-xTB surface (ASE + tblite's ASE
calculator), the pipeline's stand-in for the study's AIMD at 300-450 K.

Rattled packed boxes teach a model nothing about a bond stretched by thermal motion; the first two
full builds broke methanol bonds within 0.1 ps of MD. These frames are thermal by construction.
"""

from __future__ import annotations

import numpy as np

from nucleate.models.pipeline.xtb import ELECTRONIC_TEMPERATURE_K  # the labels' setting, so MD and labels agree

FRICTION_PER_FS = 0.01   # Langevin friction: 100 fs relaxation, gentle enough to keep the dynamics
TIMESTEP_FS = 0.5        # the study's timestep


def xtb_md_frames(elements: list[str], positions_angstrom: np.ndarray, *, steps: int, every: int,
                  temperature_k: float, seed: int) -> tuple[np.ndarray, list[int]]:
    """Positions (n, natoms, 3) in A every `every` steps of NVT Langevin MD, and the step of each.

    Stops early, keeping what it has, if the SCF fails (a configuration xTB cannot describe)."""
    from ase import Atoms, units  # noqa: PLC0415
    from ase.md.langevin import Langevin  # noqa: PLC0415
    from ase.md.velocitydistribution import Stationary, thermalize_momenta  # noqa: PLC0415
    from tblite.ase import TBLite  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    atoms = Atoms(symbols=list(elements), positions=np.asarray(positions_angstrom, float))
    atoms.calc = TBLite(method="GFN2-xTB", electronic_temperature=ELECTRONIC_TEMPERATURE_K, verbosity=0)
    thermalize_momenta(atoms, temperature_k, rng=rng)
    Stationary(atoms)
    dynamics = Langevin(atoms, timestep=TIMESTEP_FS * units.fs, temperature_K=temperature_k,
                        friction=FRICTION_PER_FS / units.fs, fixcm=False, rng=rng)
    frames, at_steps = [], []
    done = 0
    while done < steps:
        try:
            dynamics.run(every)
        except RuntimeError:  # tblite: SCF not converged
            break
        done += every
        frames.append(atoms.get_positions().copy())
        at_steps.append(done)
    return np.asarray(frames).reshape(-1, len(elements), 3), at_steps
