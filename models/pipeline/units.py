"""Atomic-unit conversions used by the reference methods (CODATA 2018)."""

BOHR_ANGSTROM = 0.529177210903       # A per bohr
HARTREE_EV = 27.211386245988         # eV per hartree
KB_HARTREE_PER_K = 3.166811563e-6    # hartree per kelvin (electronic smearing temperature)
