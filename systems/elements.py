"""Element data the builder and the importer share: masses, radii and bond cut-offs (A, g/mol)."""

from __future__ import annotations

from nucleate.errors import NucleateError

# Standard atomic weights as in the study's in.lmp (g/mol).
MASSES = {
    "H": 1.00794, "C": 12.0107, "N": 14.0067, "O": 15.9994, "S": 32.065, "Ag": 107.8682,
    "Au": 196.96657, "Cu": 63.546, "Cl": 35.453, "P": 30.973762, "F": 18.9984032,
    "Br": 79.904, "Na": 22.98977, "K": 39.0983, "Li": 6.941, "Pd": 106.42, "Pt": 195.084,
    "Si": 28.0855, "Ar": 39.948,
}

# Covalent radii (Cordero et al. 2008), A: fallback bond test for elements outside the study.
COVALENT_RADII = {
    "H": 0.31, "C": 0.76, "N": 0.71, "O": 0.66, "S": 1.05, "Ag": 1.45, "Au": 1.36, "Cu": 1.32,
    "Cl": 1.02, "P": 1.07, "F": 0.57, "Br": 1.20, "Na": 1.66, "K": 2.03, "Li": 1.28,
    "Pd": 1.39, "Pt": 1.36, "Si": 1.11, "Ar": 1.06,
}

# Bondi van der Waals radii (Ag, Au, Cu from Bondi 1964 as well), A: solute volumes.
VDW_RADII = {
    "H": 1.20, "C": 1.70, "N": 1.55, "O": 1.52, "S": 1.80, "Ag": 1.72, "Au": 1.66, "Cu": 1.40,
    "Cl": 1.75, "P": 1.80, "F": 1.47, "Br": 1.85, "Na": 2.27, "K": 2.75, "Li": 1.82,
    "Pd": 1.63, "Pt": 1.72, "Si": 2.10, "Ar": 1.88,
}

# Metals join molecules through the ligand rules of recognise.py, not through covalent bonds.
METALS = frozenset({"Ag", "Au", "Cu", "Pd", "Pt", "Na", "K", "Li"})

# Covalent bond cut-offs for the study's chemistry (A).  Chosen between the bonded distance
# and the nearest non-bonded one in the authors' conf.lmp files: C-H 1.10-1.14 vs the imine
# H...C 1.83; N-H 0.98-1.08 vs 2.07; S-C 1.67-1.80 vs S...N 2.63.
_BOND_CUTOFFS = {
    frozenset({"C", "H"}): 1.35, frozenset({"N", "H"}): 1.30, frozenset({"O", "H"}): 1.30,
    frozenset({"C", "N"}): 1.75, frozenset({"C", "O"}): 1.75, frozenset({"C", "S"}): 2.15,
    frozenset({"C"}): 1.85, frozenset({"S", "H"}): 1.60,
}
_NO_BOND = {frozenset({"H"})}


def mass(element: str) -> float:
    try:
        return MASSES[element]
    except KeyError:
        raise NucleateError(f"no mass known for element {element!r}; known: {', '.join(sorted(MASSES))}") from None


def bond_cutoff(a: str, b: str) -> float:
    """Largest distance (A) counted as a covalent bond between elements a and b; 0 = never."""
    pair = frozenset({a, b})
    if pair in _NO_BOND or a in METALS or b in METALS:
        return 0.0
    if pair in _BOND_CUTOFFS:
        return _BOND_CUTOFFS[pair]
    if a in COVALENT_RADII and b in COVALENT_RADII:
        return 1.2 * (COVALENT_RADII[a] + COVALENT_RADII[b])
    return 0.0


def element_of_mass(value: float, tolerance: float = 0.1) -> str | None:
    """The element whose standard mass is within `tolerance` g/mol of `value`, if any."""
    best = min(MASSES, key=lambda el: abs(MASSES[el] - value))
    return best if abs(MASSES[best] - value) <= tolerance else None
