"""GFN2-xTB reference labels (PyPI `tblite`), non-periodic, neutral closed-shell clusters.

Every AgL unit (Ag+ and thiolate-imine L-) and every methanol has an even electron count, so
the clusters are neutral singlets. A frame whose SCF does not converge is retried with a larger
electronic temperature and stronger mixer damping; if that also fails it is marked unlabelled
and dropped, never guessed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from nucleate.models.pipeline.units import BOHR_ANGSTROM, HARTREE_EV, KB_HARTREE_PER_K

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


def xtb_label(elements, positions_angstrom: np.ndarray, charge: int = 0) -> XtbResult:
    """GFN2-xTB energy (eV) and forces (eV/A) of one non-periodic configuration."""
    from tblite.interface import Calculator

    numbers = np.array([ATOMIC_NUMBERS[el] for el in elements])
    bohr = np.asarray(positions_angstrom, float) / BOHR_ANGSTROM
    began = time.process_time()
    for attempt, (temperature_k, max_iter, damping) in enumerate(ATTEMPTS):
        calc = Calculator("GFN2-xTB", numbers, bohr, charge=float(charge), uhf=0)
        calc.set("verbosity", 0)
        calc.set("max-iter", max_iter)
        calc.set("mixer-damping", damping)
        calc.set("temperature", temperature_k * KB_HARTREE_PER_K)
        try:
            result = calc.singlepoint()
        except RuntimeError:
            continue
        # the gradient is dE/dx in hartree/bohr; forces are its negative in eV/A
        forces = -np.asarray(result.get("gradient")) * HARTREE_EV / BOHR_ANGSTROM
        return XtbResult(float(result.get("energy")) * HARTREE_EV, forces, time.process_time() - began, attempt)
    nan = np.full((len(numbers), 3), np.nan)
    return XtbResult(float("nan"), nan, time.process_time() - began, -1)
