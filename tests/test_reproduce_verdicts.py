"""The report's judgement rules on known inputs: path shape, verdicts, KDE rows."""

from __future__ import annotations

import numpy as np
import pytest

from nucleate.studies.ag6.analyse import _drying_first
from nucleate.studies.ag6.plan import SIMULATIONS, _checkpoint, run_spec
from nucleate.studies.ag6.published import closeness, kde_rows, study_rows


def test_l_shaped_path_is_drying_first_and_diagonal_is_half():
    # s4 (solvent) drops from 4 to 0 first, then s3 rises from 1 to 5: an L
    ell = np.array([[1, 4], [1, 2], [1, 0], [3, 0], [5, 0]], float)
    assert _drying_first(ell) == pytest.approx(1.0)
    diagonal = np.column_stack([np.linspace(1, 5, 41), np.linspace(4, 0, 41)])
    assert _drying_first(diagonal) == pytest.approx(0.5, abs=0.03)
    reorganise_first = np.array([[1, 4], [3, 4], [5, 4], [5, 2], [5, 0]], float)
    assert _drying_first(reorganise_first) == pytest.approx(0.0)
    assert _drying_first(np.array([[1, 4], [1, 4]], float)) is None  # no progress: undefined, not a number


def test_closeness_and_kde_rows():
    assert closeness(2.99, 2.97, 0.1) == "agrees"
    assert closeness(3.12, 2.97, 0.1) == "close"
    assert closeness(3.30, 2.97, 0.1) == "differs"
    assert closeness(None, 2.97, 0.1) == "not reached"
    rows = {r.quantity: r for r in kde_rows({"Ag-Ag": [2.1, 3.0], "N-Ag-Ag": [85.0, 150.0]})}
    assert rows["KDE maximum Ag-Ag"].ours == "3.00 A" and rows["KDE maximum Ag-Ag"].verdict == "agrees"
    assert rows["KDE maximum N-Ag-Ag (81)"].ours == "85 deg" and rows["KDE maximum N-Ag-Ag (81)"].verdict == "agrees"
    assert rows["KDE maximum N-Ag-Ag (138)"].verdict == "close"  # 150 vs 138 with 8 deg tolerance
    assert rows["KDE maximum Ag-S"].verdict == "not reached"


def test_empty_results_give_not_reached_everywhere():
    rows = study_rows({}, {}, kt_kcal=0.596)
    assert rows and all(r.verdict == "not reached" for r in rows)


def test_delta_g_row_against_the_published_minus_30():
    results = {"monomer_dimer": {"numbers": {"delta_g_A_minus_D_kcal": -27.0, "delta_g_A_minus_D_err_kcal": 1.5,
                                             "barrier_D_to_A_kcal": 0.9}}}
    rows = {r.quantity.split(",")[0]: r for r in study_rows(results, {}, kt_kcal=0.596)}
    assert rows["Delta G(A dimer - D monomers)"].verdict == "agrees"
    assert rows["Delta G(A dimer - D monomers)"].ours == "-27.0 kcal/mol +- 1.5"
    assert rows["barrier D -> A along the minimum free-energy path"].verdict == "agrees"  # 0.9 < 2 kT = 1.19


def test_specs_follow_the_authors_md_settings():
    for sim in SIMULATIONS:
        for scale in ("smoke", "quick", "full"):
            spec = run_spec(sim, scale, "d", "g", "m.pb")
            assert spec["md"]["timestep_fs"] == 0.5 and spec["md"]["tdamp_fs"] == 5.0
            assert spec["md"]["thermostat"] == "nose-hoover" and spec["md"]["temperature_K"] == 300.0
            every = spec["output"]["checkpoint"]
            assert every % spec["output"]["dump"] == 0 and every <= max(sim.steps[scale], spec["output"]["dump"])
    assert run_spec(SIMULATIONS[1], "full", "d", "g", "m")["plumed"]["preset"] == "ag6/monomer_dimer"
    assert _checkpoint(9_000_000, 100) == 50_000


def test_methanol_row_flags_any_damaged_run():
    from nucleate.studies.ag6.published import methanol_row

    intact = {"frames": 10, "broken_bonds": 0, "foreign_o_protons": 0, "first_damage_ps": None}
    damaged = {"frames": 10, "broken_bonds": 4, "foreign_o_protons": 1, "first_damage_ps": 0.1}
    assert methanol_row({"ag6l6": intact, "monomer_dimer": intact}).verdict == "agrees"
    row = methanol_row({"ag6l6": damaged, "monomer_dimer": intact})
    assert row.verdict == "differs"
    assert row.ours == "ag6l6: damaged from 0.1 ps (4 bond, 1 proton events in 10 frames); monomer_dimer: intact"
    assert methanol_row({"ag6l6": None}).verdict == "not reached"


def test_methanol_integrity_finds_the_first_broken_frame(tmp_path):
    """A packed methanol box written as a 3-frame dump; frame 2 (step 400) has one hydroxyl H 2 A off."""
    from nucleate.studies.ag6.analyse import methanol_integrity
    from nucleate.systems import build, read_data
    from nucleate.systems.groups import Groups

    build({"box": 14.0, "seed": 3, "tolerance": 2.0, "solutes": [],
           "solvent": {"molecule": "methanol", "density": "liquid"}}, tmp_path, seed=3, overwrite=True)
    data = read_data(tmp_path / "system.data")
    groups = Groups.read(tmp_path / "groups.json")
    x = np.asarray(data.positions, float)
    hydroxyl_h = np.asarray(groups.molecules[2]["atoms"])[5] - 1
    broken = x.copy()
    broken[hydroxyl_h] += [2.0, 0.0, 0.0]
    lo, hi = data.box_lo, np.asarray(data.box_lo) + np.asarray(data.lengths)
    with open(tmp_path / "traj.lammpstrj", "w") as out:
        for step, frame in ((0, x), (200, x), (400, broken)):
            out.write(f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n{len(frame)}\nITEM: BOX BOUNDS pp pp pp\n")
            out.write("".join(f"{lo[k]} {hi[k]}\n" for k in range(3)) + "ITEM: ATOMS id type x y z\n")
            out.write("".join(f"{i + 1} {t} {p[0]:.6f} {p[1]:.6f} {p[2]:.6f}\n"
                              for i, (t, p) in enumerate(zip(data.types, frame))))
    found = methanol_integrity(tmp_path)
    assert found["frames"] == 3 and found["first_damage_ps"] == pytest.approx(0.2)
    assert found["broken_bonds"] == 1


def test_state_means_survive_a_huge_bias_in_the_other_state():
    from nucleate.studies.ag6.analyse import state_means

    distances = np.array([8.0, 9.0, 3.0, 3.2])
    s1 = np.array([0.2, 0.5, 2.5, 2.8])
    logw = np.array([0.0, np.log(3.0), 2000.0, 2000.0])  # a wall's bias in A: exp(-2000) underflows D globally
    out = state_means(distances, s1, logw)
    assert out["ag1_ag2_A_in_D"] == pytest.approx((8.0 + 3 * 9.0) / 4)
    assert out["ag1_ag2_A_in_A"] == pytest.approx(3.1)
    assert state_means(distances[:2], s1[:2], logw[:2])["ag1_ag2_A_in_A"] is None
