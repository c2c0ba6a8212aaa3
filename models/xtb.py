"""GFN2-xTB energies and forces (PyPI `tblite`) of non-periodic configurations: the one xTB caller.

Used by the molecule library's geometry builder (systems/molecules/build_geometries.py, vacuum
relaxation) and by the Ag6 study's training pipeline (studies/ag6/training, reference labels).

Every AgL unit (Ag+ and thiolate-imine L-) and every methanol has an even electron count, so
the clusters are neutral singlets. In `xtb_label` a frame whose SCF does not converge is retried with
more iterations and stronger mixer damping; if that also fails it is marked unlabelled and dropped,
never guessed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

# Atomic units (CODATA 2018), also used by the CP2K labeller.
BOHR_ANGSTROM = 0.529177210903       # A per bohr
HARTREE_EV = 27.211386245988         # eV per hartree
KB_HARTREE_PER_K = 3.166811563e-6    # hartree per kelvin (electronic smearing temperature)

ATOMIC_NUMBERS = {"H": 1, "C": 6, "N": 7, "O": 8, "S": 16, "Ag": 47}
ELECTRONIC_TEMPERATURE_K = 300.0
# (electronic temperature K, max SCF iterations, mixer damping): first try, then one fallback. Kept
# short: a 156-atom frame that has not converged after 500 iterations (several CPU minutes) is
# usually a distorted geometry better dropped than labelled.
ATTEMPTS = ((ELECTRONIC_TEMPERATURE_K, 200, 0.4), (ELECTRONIC_TEMPERATURE_K, 300, 0.1))


@dataclass
class XtbResult:
    energy_ev: float                      # nan when the SCF never converged
    forces_ev_per_angstrom: np.ndarray    # (natoms, 3); nan when unconverged
    seconds: float                        # CPU time of this process (unaffected by other jobs' load)
    attempt: int                          # index into ATTEMPTS that converged, -1 if none

    @property
    def converged(self) -> bool:
        return self.attempt >= 0


def tblite_version() -> str:
    from importlib.metadata import version

    return version("tblite")


def gfn2_singlepoint(elements, positions_angstrom: np.ndarray, *, charge: int = 0,
                     electronic_temperature_k: float = ELECTRONIC_TEMPERATURE_K, max_iter: int = 200,
                     mixer_damping: float | None = None) -> tuple[float, np.ndarray]:
    """GFN2-xTB energy (eV) and forces (eV/A, (natoms, 3)) of one non-periodic closed-shell configuration.

    Raises RuntimeError (tblite's) when the SCF does not converge within `max_iter` iterations.
    mixer_damping None keeps tblite's default.
    """
    from tblite.interface import Calculator

    numbers = np.array([ATOMIC_NUMBERS[el] for el in elements])
    bohr = np.asarray(positions_angstrom, float).reshape(len(numbers), 3) / BOHR_ANGSTROM
    calc = Calculator("GFN2-xTB", numbers, bohr, charge=float(charge), uhf=0)
    calc.set("verbosity", 0)
    calc.set("max-iter", max_iter)
    if mixer_damping is not None:
        calc.set("mixer-damping", mixer_damping)
    calc.set("temperature", electronic_temperature_k * KB_HARTREE_PER_K)
    result = calc.singlepoint()
    # the gradient is dE/dx in hartree/bohr; forces are its negative in eV/A
    forces = -np.asarray(result.get("gradient")) * HARTREE_EV / BOHR_ANGSTROM
    return float(result.get("energy")) * HARTREE_EV, forces


def xtb_label(elements, positions_angstrom: np.ndarray, charge: int = 0) -> XtbResult:
    """GFN2-xTB energy (eV) and forces (eV/A) of one non-periodic configuration, with one SCF fallback."""
    began = time.process_time()
    for attempt, (temperature_k, max_iter, damping) in enumerate(ATTEMPTS):
        try:
            energy, forces = gfn2_singlepoint(elements, positions_angstrom, charge=charge,
                                              electronic_temperature_k=temperature_k, max_iter=max_iter,
                                              mixer_damping=damping)
        except RuntimeError:
            continue
        return XtbResult(energy, forces, time.process_time() - began, attempt)
    nan = np.full((len(elements), 3), np.nan)
    return XtbResult(float("nan"), nan, time.process_time() - began, -1)
