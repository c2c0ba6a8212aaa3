"""The in-process PLUMED coupling against analytic results: forces, bias energy, units, time."""

from __future__ import annotations

import numpy as np
import pytest

from nucleate import units
from nucleate.engine.render import render_run
from nucleate.engine.runner import execute
from nucleate.engine.spec import RunSpec

from conftest import read_table, toy_spec, write_data

R1, R2 = np.array([5.0, 5.0, 5.0]), np.array([8.0, 5.5, 5.0])
DISTANCE_A = float(np.linalg.norm(R2 - R1))


def _restraint_forces(tmp_path, plumed_text):
    """Run one force evaluation through the engine's coupling; return (LAMMPS forces eV/A, bias eV)."""
    from nucleate.engine.plumed_coupling import PlumedCoupling
    from nucleate.runtime import lammps_class

    data = write_data(tmp_path / "two.data", [R1, R2], [1, 1])
    plumed = tmp_path / "plumed.dat"
    plumed.write_text(plumed_text)
    lmp = lammps_class()(cmdargs=["-log", "none", "-screen", "none"])
    lmp.commands_string(f"""
        units metal
        atom_style atomic
        atom_modify map array
        read_data {data}
        pair_style zero 5.0
        pair_coeff * *
        fix plumed all external pf/callback 1 1
        fix_modify plumed energy yes virial yes
        thermo_style custom step pe f_plumed
    """)
    coupling = PlumedCoupling(lmp, plumed, tmp_path / "plumed.log", timestep_ps=0.001, natoms=2,
                              masses_by_type=np.array([0.0, 39.948]))
    coupling.attach()
    lmp.command("run 0")
    coupling.raise_pending()
    forces = lmp.numpy.extract_atom("f")[:2].copy()
    pe = lmp.get_thermo("pe")
    coupling.finalize()
    lmp.close()
    return forces, coupling.bias_eV, pe


@pytest.mark.parametrize("kappa,units_line,to_ev_per_a2,d0_in_plumed_units", [
    # kappa in kJ/mol/nm^2 (PLUMED's default units); d0 in nm
    (1000.0, "", 1.0 / units.KJMOL_PER_EV * units.NM_PER_ANGSTROM ** 2, 0.25),
    # kappa in eV/A^2 with UNITS; d0 in A
    (0.8, "UNITS LENGTH=A ENERGY=eV", 1.0, 2.5),
])
def test_restraint_force_and_bias_are_analytic(tmp_path, kappa, units_line, to_ev_per_a2, d0_in_plumed_units):
    d0_a = d0_in_plumed_units / (units.NM_PER_ANGSTROM if not units_line else 1.0)
    text = f"{units_line}\nd: DISTANCE ATOMS=1,2\nr: RESTRAINT ARG=d AT={d0_in_plumed_units} KAPPA={kappa}\n"
    forces, bias_ev, pe = _restraint_forces(tmp_path, text)
    kappa_ev_a2 = kappa * to_ev_per_a2
    unit = (R2 - R1) / DISTANCE_A
    expected_f2 = -kappa_ev_a2 * (DISTANCE_A - d0_a) * unit  # eV/A on atom 2
    np.testing.assert_allclose(forces[1], expected_f2, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(forces[0], -expected_f2, rtol=1e-10, atol=1e-14)
    expected_bias = 0.5 * kappa_ev_a2 * (DISTANCE_A - d0_a) ** 2
    assert bias_ev == pytest.approx(expected_bias, rel=1e-10)
    assert pe == pytest.approx(expected_bias, rel=1e-10)  # pair zero: pe is the bias alone


def test_bias_in_thermo_and_plumed_time_column(tmp_path):
    """thermo.csv's bias column is the analytic restraint energy (eV), and PLUMED's time column is
    step x timestep in PLUMED's time unit (fs here, 0.5 fs steps)."""
    data = write_data(tmp_path / "two.data", [R1, R2], [1, 1])
    kappa = 1000.0  # kcal/mol/A^2 with the study's UNITS line
    plumed = f"""
        UNITS LENGTH=A ENERGY=kcal/mol TIME=fs
        d: DISTANCE ATOMS=1,2
        r: RESTRAINT ARG=d AT=2.9 KAPPA={kappa}
        PRINT ARG=d,r.bias STRIDE=2 FILE=COLVAR
    """
    spec = RunSpec.from_dict(toy_spec(tmp_path, data, plumed=plumed, steps=10, timestep_fs=0.5))
    run = render_run(spec, tmp_path / "run")
    execute(run.path)
    thermo = read_table(run.path / "thermo.csv")
    expected_ev = 0.5 * kappa * (DISTANCE_A - 2.9) ** 2 * units.energy_factor("kcal/mol", "eV")
    assert thermo[0, 0] == 0
    assert thermo[0, 3] == pytest.approx(expected_ev, rel=1e-8)
    colvar = read_table(run.path / "COLVAR")
    steps = np.arange(0, 11, 2)
    np.testing.assert_allclose(colvar[:, 0], steps * 0.5, atol=1e-9)  # fs
    assert colvar[0, 1] == pytest.approx(DISTANCE_A, abs=1e-6)
    assert colvar[0, 2] == pytest.approx(0.5 * kappa * (DISTANCE_A - 2.9) ** 2, rel=1e-6)  # kcal/mol


def test_default_plumed_time_is_ps(tmp_path):
    data = write_data(tmp_path / "two.data", [R1, R2], [1, 1])
    plumed = "d: DISTANCE ATOMS=1,2\nPRINT ARG=d STRIDE=5 FILE=COLVAR\n"
    spec = RunSpec.from_dict(toy_spec(tmp_path, data, plumed=plumed, steps=20, timestep_fs=2.0))
    run = render_run(spec, tmp_path / "run")
    execute(run.path)
    colvar = read_table(run.path / "COLVAR")
    np.testing.assert_allclose(colvar[:, 0], np.arange(0, 21, 5) * 2.0e-3, atol=1e-12)  # ps
    assert colvar[0, 1] == pytest.approx(DISTANCE_A * 0.1, abs=1e-6)  # nm


def test_triclinic_box_reaches_plumed(tmp_path):
    """PLUMED's minimum-image distance in a triclinic cell equals the one computed here."""
    box = (10.0, 10.0, 10.0)
    tilt = (3.0, 1.0, 2.0)
    a = np.array([0.5, 0.5, 0.5])
    b = np.array([9.2, 9.3, 9.4])
    data = write_data(tmp_path / "tri.data", [a, b], [1, 1], box=box, tilt=tilt)
    plumed = "UNITS LENGTH=A\nd: DISTANCE ATOMS=1,2\nPRINT ARG=d STRIDE=1 FILE=COLVAR\n"
    spec = RunSpec.from_dict(toy_spec(tmp_path, data, plumed=plumed, steps=1))
    run = render_run(spec, tmp_path / "run")
    execute(run.path)
    cell = np.array([[10.0, 0, 0], [3.0, 10.0, 0], [1.0, 2.0, 10.0]])
    images = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)]) @ cell
    expected = np.min(np.linalg.norm(b - a + images, axis=1))
    assert read_table(run.path / "COLVAR")[0, 1] == pytest.approx(expected, abs=1e-6)


def test_minimize_relaxes_the_start_before_plumed_and_velocities(tmp_path):
    """Two Lennard-Jones atoms 3.04 A apart: with md.minimize, step 0 (the first COLVAR row) is already at
    the analytic minimum 2^(1/6) sigma; PLUMED's time starts at 0 and a continuation does not minimise."""
    from nucleate.engine.render import lammps_input

    sigma = 3.4
    data = write_data(tmp_path / "two.data", [R1, R2], [1, 1])
    spec_dict = toy_spec(tmp_path, data, plumed="d: DISTANCE ATOMS=1,2\nPRINT ARG=d STRIDE=1 FILE=COLVAR FMT=%.8f\n",
                         steps=5, pair_style="lj/cut 8.0", pair_coeff=(f"* * 0.01 {sigma}",))
    spec_dict["md"].update(minimize=True, minimize_force_eV_per_A=1e-6, minimize_max_iterations=200)
    spec = RunSpec.from_dict(spec_dict)
    run = render_run(spec, tmp_path / "minimized")
    execute(run.path)
    colvar = read_table(run.path / "COLVAR")
    np.testing.assert_allclose(colvar[:, 0], np.arange(6) * 1e-3, atol=1e-12)  # time (ps) from step 0
    r_min_nm = 2 ** (1 / 6) * sigma * units.NM_PER_ANGSTROM
    np.testing.assert_allclose(colvar[:, 1], r_min_nm, atol=2e-5)  # no velocities: it stays there
    assert DISTANCE_A * units.NM_PER_ANGSTROM < r_min_nm - 0.05  # the start was far from it
    text = lammps_input(spec, mode="hpc", has_plumed=True)
    assert text.index("minimize ") < text.index("fix             plumed")
    assert "minimize" not in lammps_input(spec, mode="hpc", has_plumed=True, continuation=True, start_step=5)
