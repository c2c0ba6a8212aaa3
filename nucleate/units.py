"""Unit conversions used at every boundary (LAMMPS metal units <-> PLUMED internal units).

PLUMED's internal units are kJ/mol, nm, ps.  LAMMPS `units metal` uses eV, Angstrom, ps.
The factors below are the ones LAMMPS's own `fix plumed` passes to PLUMED for metal units,
so that a run coupled through nucleate and one through `fix plumed` are numerically identical.
"""

# kJ/mol per eV, exactly as in LAMMPS src/PLUMED/fix_plumed.cpp (metal units)
KJMOL_PER_EV = 96.48530749925792
# kJ/mol per kcal/mol (thermochemical calorie)
KJMOL_PER_KCALMOL = 4.184
# nm per Angstrom
NM_PER_ANGSTROM = 0.1
# ps per LAMMPS metal time unit (metal time is already ps)
PS_PER_METAL_TIME = 1.0
# ps per fs
PS_PER_FS = 1.0e-3
# Boltzmann constant in kJ/mol/K, PLUMED's value (src/tools/Units.h: kBoltzmann)
KB_KJMOL = 0.0083144626181532
KB_EV = KB_KJMOL / KJMOL_PER_EV

ENERGY_TO_KJMOL = {
    "kj/mol": 1.0,
    "kcal/mol": KJMOL_PER_KCALMOL,
    "ev": KJMOL_PER_EV,
    "j/mol": 1.0e-3,
}
LENGTH_TO_NM = {"nm": 1.0, "a": NM_PER_ANGSTROM, "um": 1.0e3}
TIME_TO_PS = {"ps": 1.0, "fs": PS_PER_FS, "ns": 1.0e3}

# PLUMED's units when an input declares none (its internal units), and each unit's name as a UNITS line
# writes it, keyed by the lower-case spelling the tables above use
PLUMED_DEFAULT_UNITS = {"energy": "kj/mol", "length": "nm", "time": "ps"}
PLUMED_UNIT_NAMES = {"length": {"nm": "nm", "a": "A", "um": "um"},
                     "energy": {"kj/mol": "kj/mol", "kcal/mol": "kcal/mol", "ev": "eV", "j/mol": "j/mol"},
                     "time": {"ps": "ps", "fs": "fs", "ns": "ns"}}


def _lookup(table: dict, unit: str, kind: str) -> float:
    key = unit.strip().lower()
    if key not in table:
        from .errors import NucleateError

        raise NucleateError(f"unknown {kind} unit {unit!r}; known: {', '.join(table)}")
    return table[key]


def energy_factor(from_unit: str, to_unit: str) -> float:
    """Multiply an energy in `from_unit` by this to get it in `to_unit`."""
    return _lookup(ENERGY_TO_KJMOL, from_unit, "energy") / _lookup(ENERGY_TO_KJMOL, to_unit, "energy")


def length_factor(from_unit: str, to_unit: str) -> float:
    return _lookup(LENGTH_TO_NM, from_unit, "length") / _lookup(LENGTH_TO_NM, to_unit, "length")


def time_factor(from_unit: str, to_unit: str) -> float:
    return _lookup(TIME_TO_PS, from_unit, "time") / _lookup(TIME_TO_PS, to_unit, "time")


def kbt(temperature_k: float, energy_unit: str = "kj/mol") -> float:
    """k_B T in the given energy unit."""
    return KB_KJMOL * temperature_k * energy_factor("kj/mol", energy_unit)
