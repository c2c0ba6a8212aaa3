"""Unit conversions against independent physical constants (CODATA 2018 / NIST)."""

import math

import pytest

from nucleate import units
from nucleate.errors import NucleateError

# independent references
ELEMENTARY_CHARGE_C = 1.602176634e-19
AVOGADRO = 6.02214076e23
BOLTZMANN_J_PER_K = 1.380649e-23


def test_ev_to_kjmol_matches_codata_and_lammps():
    codata = ELEMENTARY_CHARGE_C * AVOGADRO / 1000.0  # kJ/mol per eV
    assert units.KJMOL_PER_EV == pytest.approx(codata, rel=1e-6)  # LAMMPS's constant is CODATA 2006-era
    # the conversion used at every boundary, against literal numbers: LAMMPS's fix plumed factor, CODATA 2018
    assert units.energy_factor("eV", "kJ/mol") == 96.48530749925792
    assert units.energy_factor("eV", "kJ/mol") == pytest.approx(96.485332123, rel=1e-6)
    assert units.energy_factor("kcal/mol", "eV") == pytest.approx(4.184 / codata, rel=1e-6)
    # NIST: 1 eV = 23.060 548 kcal/mol (thermochemical calorie, 4.184 J)
    assert units.energy_factor("eV", "kcal/mol") == pytest.approx(23.0605478, rel=1e-6)
    assert units.energy_factor("kcal/mol", "kJ/mol") == 4.184


def test_boltzmann_matches_codata():
    kb_kjmol = BOLTZMANN_J_PER_K * AVOGADRO / 1000.0
    assert units.KB_KJMOL == pytest.approx(kb_kjmol, rel=1e-8)
    # k_B T at 300 K: 2.494 kJ/mol, 0.5962 kcal/mol, 25.85 meV
    assert units.kbt(300.0) == pytest.approx(2.494339, abs=1e-6)  # PLUMED's log prints KbT 2.494339
    assert units.kbt(300.0, "kcal/mol") == pytest.approx(2.494339 / 4.184, abs=1e-6)
    assert units.kbt(300.0, "eV") == pytest.approx(0.0258520, abs=1e-7)


def test_length_and_time():
    assert units.length_factor("A", "nm") == 0.1
    assert units.length_factor("nm", "A") == pytest.approx(10.0)
    assert units.time_factor("fs", "ps") == pytest.approx(1e-3)
    assert units.time_factor("ns", "fs") == pytest.approx(1e6)
    # a force constant of 1 eV/A^2 is 9648.53 kJ/mol/nm^2
    assert units.energy_factor("eV", "kj/mol") / units.length_factor("A", "nm") ** 2 == pytest.approx(9648.530749925792)


def test_unknown_unit_is_a_user_error():
    with pytest.raises(NucleateError, match="unknown energy unit 'hartree-ish'"):
        units.energy_factor("hartree-ish", "eV")
    assert math.isfinite(units.kbt(1.0))
