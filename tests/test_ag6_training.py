"""Fast checks of the Ag6 model pipeline's parts: carving, xTB labels, CP2K I/O, data files, selection, guards."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nucleate.studies.ag6.training import carving, evaluate, sampling
from nucleate.studies.ag6.training.cp2k import cp2k_input, parse_output
from nucleate.studies.ag6.training.frames import FrameSet, Labels, write_deepmd_system
from nucleate.studies.ag6.training.recipe import TYPE_MAP, kind
from nucleate.models.xtb import BOHR_ANGSTROM, HARTREE_EV


def _two_atom_molecules(box: float) -> tuple[np.ndarray, list[np.ndarray]]:
    # molecule 0 straddles the x boundary; molecules 1..4 sit at known distances from it
    x = np.array([[box - 0.4, 5.0, 5.0], [0.6, 5.0, 5.0],        # core: whole across the boundary
                  [2.6, 5.0, 5.0], [3.6, 5.0, 5.0],              # 2.0 A from the core
                  [box - 3.4, 5.0, 5.0], [box - 4.4, 5.0, 5.0],  # 3.0 A from the core, other side
                  [box - 0.5, 6.0, 5.0], [0.3, 6.0, 5.0],        # ~1 A from the core, split through x
                  [5.0, 1.0, 5.0], [5.5, 1.0, 5.0]])             # farthest
    return x, [np.array([2 * m, 2 * m + 1]) for m in range(5)]


def test_carve_picks_nearest_whole_molecules_at_their_minimum_image():
    box = np.array([10.0, 10.0, 10.0])
    x, molecules = _two_atom_molecules(10.0)
    atoms, xyz = carving.carve(x, box, molecules, core=[0], solvent=[1, 2, 3, 4], shell=3)
    # nearest first: the split molecule (1.0 A), then 2.0 A, then 3.0 A; the 4th is left out
    assert atoms.tolist() == [0, 1, 6, 7, 2, 3, 4, 5]
    expected = [[9.6, 5, 5], [10.6, 5, 5], [9.5, 6, 5], [10.3, 6, 5], [12.6, 5, 5], [13.6, 5, 5],
                [6.6, 5, 5], [5.6, 5, 5]]  # every molecule whole, at its image next to the core
    np.testing.assert_allclose(xyz, expected, atol=1e-12)


def test_rng_streams_are_reproducible_and_independent():
    a = sampling.rng_for(0, "train", "AgL").normal(size=3)
    assert np.array_equal(a, sampling.rng_for(0, "train", "AgL").normal(size=3))
    assert not np.array_equal(a, sampling.rng_for(0, "test", "AgL").normal(size=3))


def test_initial_vacuum_frames_are_seeded_and_keep_composition(tmp_path):
    k = kind("AgL_vacuum")
    one = sampling.initial_frames(k, 3, 7, tmp_path, "train")
    two = sampling.initial_frames(k, 3, 7, tmp_path, "train")
    assert one.elements == ["Ag", "S", "N", "C", "H", "H"]
    np.testing.assert_array_equal(one.positions, two.positions)
    assert one.positions.shape == (3, 6, 3)


def _methanol_pair() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Two methanol molecules, the first donating its hydroxyl H to the second's O (2.8 A O...O)."""
    # O C H H H, then the hydroxyl H 0.96 A from O, 20 degrees off the O...O line
    one = np.array([[0.0, 0.0, 0.0], [-1.43, 0.0, 0.0], [-1.8, 1.0, 0.0], [-1.8, -0.5, 0.9], [-1.8, -0.5, -0.9],
                    [0.90, 0.33, 0.0]])
    two = one[:5] * [-1, 1, 1] + [2.8, 0.0, 0.0]
    two = np.vstack([two, [2.8, 0.9, 0.3]])
    elements = ["O", "C", "H", "H", "H", "H"] * 2
    return elements, np.vstack([one, two]), np.repeat([0, 1], 6)


def test_proton_shift_moves_one_polar_hydrogen_along_the_donor_acceptor_line():
    elements, x, molecule_of = _methanol_pair()
    assert sorted(sampling._polar_hydrogens(elements, x)) == [(5, 0), (11, 6)]

    class Fixed:  # first polar H, shift to 1.4 A
        def integers(self, n):
            return 0

        def uniform(self, lo, hi):
            return 1.4

    moved = x.copy()
    how = sampling._shift_proton(elements, moved, molecule_of, Fixed())
    assert "H5 of O0 moved 1.40 A towards O6" == how
    np.testing.assert_allclose(moved[5], [1.4, 0.0, 0.0], atol=1e-12)  # on the O0-O6 axis
    np.testing.assert_array_equal(np.delete(moved, 5, axis=0), np.delete(x, 5, axis=0))


def test_hh_contact_translates_the_other_molecule_rigidly_to_the_drawn_distance():
    elements, x, molecule_of = _methanol_pair()
    x[6:] += [3.0, 0.0, 0.0]  # far apart, so the contact is a real push
    for seed in range(5):
        moved = x.copy()
        how = sampling._hh_contact(elements, moved, molecule_of, np.random.default_rng(seed))
        found = re.fullmatch(r"H(\d+) pushed to ([0-9.]+) A of H(\d+)", how)
        other, length, h = int(found[1]), float(found[2]), int(found[3])
        assert molecule_of[h] != molecule_of[other]
        assert abs(np.linalg.norm(moved[h] - moved[other]) - length) < 0.006
        assert sampling.HH_CONTACT_ANGSTROM[0] <= length <= sampling.HH_CONTACT_ANGSTROM[1]
        shift = moved - x
        mover = molecule_of[other]
        np.testing.assert_allclose(shift[molecule_of == mover], np.broadcast_to(shift[molecule_of == mover][0], (6, 3)))
        assert not shift[molecule_of != mover].any()


def test_select_frames_respects_the_trust_window():
    deviation = np.array([0.01, 0.2, 0.5, 0.05, 2.0, 0.3, 0.79])
    chosen = sampling.select_frames(deviation, 10, np.random.default_rng(0))
    assert chosen.tolist() == [1, 2, 5, 6]
    assert len(sampling.select_frames(deviation, 2, np.random.default_rng(0))) == 2


def test_xtb_forces_are_the_negative_energy_gradient():
    pytest.importorskip("tblite")
    from nucleate.models.xtb import xtb_label

    from nucleate.systems import molecule

    mol = molecule("methanol")
    x = mol.positions + np.random.default_rng(1).normal(scale=0.03, size=mol.positions.shape)
    result = xtb_label(mol.elements, x)
    assert result.converged and result.forces_ev_per_angstrom.shape == (6, 3)
    h = 1e-4
    for atom, axis in ((4, 0), (5, 2)):
        plus, minus = x.copy(), x.copy()
        plus[atom, axis] += h
        minus[atom, axis] -= h
        numeric = -(xtb_label(mol.elements, plus).energy_ev - xtb_label(mol.elements, minus).energy_ev) / (2 * h)
        assert result.forces_ev_per_angstrom[atom, axis] == pytest.approx(numeric, abs=2e-4)
    assert np.abs(result.forces_ev_per_angstrom.sum(axis=0)).max() < 1e-6  # no net force in vacuum


def test_cp2k_input_and_output_parsing():
    x = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.96]])
    text = cp2k_input(["O", "H"], x)
    assert "PSOLVER WAVELET" in text and "PERIODIC NONE" in text and "DFTD3" in text
    assert "POTENTIAL GTH-PBE-q6" in text and "POTENTIAL GTH-PBE-q1" in text
    fake = """ ENERGY| Total FORCE_EVAL ( QS ) energy [a.u.]:              -17.000000000000
 ATOMIC FORCES in [a.u.]

 # Atom   Kind   Element          X              Y              Z
      1      1      O          0.01000000     0.00000000    -0.02000000
      2      2      H         -0.01000000     0.00000000     0.02000000
 SUM OF ATOMIC FORCES           0.00000000     0.00000000     0.00000000     0.00000000
"""
    energy, forces = parse_output(fake, 2)
    assert energy == pytest.approx(-17.0 * HARTREE_EV)
    assert forces[0, 2] == pytest.approx(-0.02 * HARTREE_EV / BOHR_ANGSTROM)


def test_deepmd_system_is_non_periodic_and_drops_failed_frames(tmp_path):
    positions = np.random.default_rng(0).normal(size=(3, 4, 3))
    frames = FrameSet("x", ["O", "H", "H", "Ag"], positions, ["a", "b", "c"])
    labels = Labels(np.array([1.0, np.nan, 3.0]), np.ones((3, 4, 3)), np.ones(3), "test")
    out = write_deepmd_system(frames, labels, tmp_path / "sys", TYPE_MAP)
    assert (out / "nopbc").is_file()
    assert (out / "type.raw").read_text().split() == ["5", "4", "4", "0"]
    np.testing.assert_array_equal(np.load(out / "set.000" / "energy.npy"), [1.0, 3.0])
    coords = np.load(out / "set.000" / "coord.npy").reshape(2, 4, 3)
    # shapes kept, only translated
    np.testing.assert_allclose(coords[1] - coords[1, 0], positions[2] - positions[2, 0], atol=1e-12)


def test_rmse_from_detail_matches_numpy(tmp_path):
    rng = np.random.default_rng(3)
    e_ref, e_model = rng.normal(size=4), rng.normal(size=4)
    f_ref, f_model = rng.normal(size=(40, 3)), rng.normal(size=(40, 3))
    np.savetxt(tmp_path / "k.e.out", np.c_[e_ref, e_model])
    np.savetxt(tmp_path / "k.f.out", np.c_[f_ref, f_model])
    row = evaluate.rmse_from_detail(tmp_path / "k", natoms=10)
    assert row["force_rmse_mev_per_angstrom"] == pytest.approx(1000 * np.sqrt(((f_ref - f_model) ** 2).mean()))
    assert row["energy_rmse_mev_per_atom"] == pytest.approx(1000 * np.sqrt((((e_model - e_ref) / 10) ** 2).mean()))


def test_methanol_damage_counts_broken_bonds_and_scrambled_protons():
    from nucleate.systems import molecule

    mol = molecule("methanol")
    box = np.array([30.0, 30.0, 30.0])
    x = np.concatenate([mol.positions + 5.0, mol.positions + 12.0])
    elements = list(mol.elements) * 2
    molecules = [np.arange(6), np.arange(6, 12)]
    clean = evaluate.methanol_damage(x[None], box, elements, molecules, [0, 1])
    assert clean["broken_methanol_bonds"] == 0 and clean["hydroxyl_H_nearest_foreign_O"] == 0
    moved = x.copy()
    moved[5] = moved[10] + [0.0, 0.0, 0.97]  # hydroxyl H of molecule 1 hops onto molecule 2's O
    damaged = evaluate.methanol_damage(moved[None], box, elements, molecules, [0, 1])
    assert damaged["broken_methanol_bonds"] == 1 and damaged["hydroxyl_H_nearest_foreign_O"] == 1


def test_stability_watch_finds_the_first_frame_with_broken_methanol(tmp_path):
    """Two methanol, three dumped frames: intact, C-O stretched to 2.0 A at step 200, intact again."""
    import time
    from types import SimpleNamespace

    from nucleate.studies.ag6.training.testing import _first_broken_frame
    from nucleate.systems import molecule

    mol = molecule("methanol")
    x = np.concatenate([mol.positions + 5.0, mol.positions + 12.0])
    elements = list(mol.elements) * 2
    packed = SimpleNamespace(box=np.array([30.0, 30.0, 30.0]), elements=elements,
                             molecules=[np.arange(6), np.arange(6, 12)], solvent=[0, 1])
    carbon, oxygen = elements.index("C") + 6, elements.index("O") + 6
    broken = x.copy()
    broken[oxygen] = broken[carbon] + (broken[oxygen] - broken[carbon]) / np.linalg.norm(
        broken[oxygen] - broken[carbon]) * 2.0
    types = {el: i + 1 for i, el in enumerate(TYPE_MAP)}
    text = ""
    for step, frame in ((0, x), (200, broken), (400, x)):
        text += (f"ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n12\nITEM: BOX BOUNDS pp pp pp\n"
                 + "0 30\n" * 3 + "ITEM: ATOMS id type x y z\n"
                 + "".join(f"{i + 1} {types[el]} {a:.4f} {b:.4f} {c:.4f}\n" for i, (el, (a, b, c))
                           in enumerate(zip(elements, frame))))
    trajectory = tmp_path / "traj.lammpstrj"
    trajectory.write_text(text)
    assert _first_broken_frame(trajectory, packed) == (200, 1)
    assert _first_broken_frame(trajectory, packed, not_before=time.time() + 60) is None  # an older run's file
    trajectory.write_text(text.split("ITEM: TIMESTEP\n200")[0])
    assert _first_broken_frame(trajectory, packed) is None


def test_card_title_says_not_stable_for_any_failed_or_damaged_box():
    from nucleate.studies.ag6.training.card import stability_verdict

    ok = {"steps": 40000, "timestep_fs": 0.5, "completed": True, "broken_methanol_bonds": 0,
          "hydroxyl_H_nearest_foreign_O": 0}
    assert stability_verdict({"a": ok, "b": ok}) is None
    damaged = {**ok, "hydroxyl_H_nearest_foreign_O": 3}
    stopped = {**ok, "completed": False}
    watched = {**ok, "completed": False, "stopped_at_step": 1700}
    verdict = stability_verdict({"a": ok, "b": damaged, "c": stopped, "d": watched})
    assert verdict == "b damaged methanol within 20 ps; c stopped before 20 ps; d broke methanol at 0.85 ps of 20"


def test_card_describes_files_derived_from_a_kind():
    from nucleate.studies.ag6.training.card import describe

    kinds = {"AgL": "one AgL monomer", "Ag2L2_vacuum": "bare Ag2L2"}
    assert describe("AgL", kinds) == "one AgL monomer"
    assert describe("Ag2L2_vacuum", kinds) == "bare Ag2L2"
    assert describe("Ag2L2_vacuum_thermal", kinds) == "Ag2L2_vacuum, frames of GFN2-xTB Langevin MD"
    assert describe("AgL_distorted", kinds).startswith("AgL, polar protons shifted")
    assert "largest disagreement in the Ag6L6 box" in describe("Ag6L6_solvent", kinds)


def test_xtb_md_frames_are_thermal_and_keep_the_molecule_whole():
    """GFN2-xTB Langevin MD of bare AgL at 450 K: frames move, bonds neither break nor collapse."""
    from nucleate.studies.ag6.training.xtb_md import xtb_md_frames
    from nucleate.systems import molecule

    mol = molecule("AgL")
    x, steps = xtb_md_frames(list(mol.elements), mol.positions, steps=60, every=20, temperature_k=450.0, seed=3)
    assert x.shape == (3, 6, 3) and steps == [20, 40, 60]
    assert np.sqrt(((x[1] - x[0]) ** 2).mean()) > 0.01  # 10 fs at 450 K moves atoms by several 0.01 A
    start = np.linalg.norm(mol.positions[:, None] - mol.positions[None], axis=-1)
    for frame in x:
        d = np.linalg.norm(frame[:, None] - frame[None], axis=-1)
        bonded = (start > 0) & (start < 2.6)
        assert np.all(np.abs(d[bonded] / start[bonded] - 1.0) < 0.25)


def test_xtb_md_runaway_guard_tolerates_thermal_fluctuations_not_a_failed_scf():
    """156 atoms at 300 K: 3 N kB T = 12.1 eV. The bare Ag6L6 trajectory of build 4 climbed 32 eV in
    40 steps after its SCF failed; thermal fluctuations are about sqrt(3N/2) kB T = 0.4 eV."""
    from nucleate.studies.ag6.training.xtb_md import runaway

    assert not runaway(-2165.0, float("inf"), 156, 300.0)        # first frame: nothing to compare with
    assert not runaway(-2166.76 + 0.4, -2166.76, 156, 300.0)
    assert not runaway(-2166.76 + 12.0, -2166.76, 156, 300.0)
    assert runaway(-2166.76 + 12.2, -2166.76, 156, 300.0)
    assert runaway(-2133.62, -2166.76, 156, 300.0)
    assert not runaway(-2133.62, -2166.76, 156, 3000.0)           # the bound scales with T
    assert not runaway(-100.0 + 1.9, -100.0, 6, 300.0)             # a 6-atom molecule: the 2 eV floor
    assert runaway(-100.0 + 2.1, -100.0, 6, 300.0)


def test_runaway_thermal_labels_are_dropped_from_the_training_data(tmp_path):
    """Labels of bare Ag6L6 xTB MD at 300 K (build 4): the labeller's SCF landed 6 and 33 eV above the rest."""
    from nucleate.studies.ag6.training.frames import FrameSet, Labels
    from nucleate.studies.ag6.training.stages import Pipeline

    energies = np.array([-2165.41, -2165.83, -2166.76, np.nan, -2160.93, -2133.62])
    n, natoms = len(energies), 36
    rng = np.random.default_rng(0)
    frames = FrameSet("Ag6L6_vacuum_thermal", ["Ag"] * 6 + ["S", "C", "H", "N", "H"] * 6,
                      rng.uniform(0, 10, (n, natoms, 3)),
                      [f"thermal: GFN2-xTB Langevin MD 300 K, step {20 * (i + 1)} (0.5 fs)" for i in range(n)])
    frames_path = frames.save(tmp_path / "w" / "round_000" / "frames" / "Ag6L6_vacuum_thermal.npz")
    (tmp_path / "w" / "round_000" / "labels").mkdir(parents=True)
    Labels(energies, rng.normal(size=(n, natoms, 3)), np.ones(n), "test").save(
        tmp_path / "w" / "round_000" / "labels" / "Ag6L6_vacuum_thermal.npz")
    messages = []
    system = Pipeline(tmp_path / "w", "smoke", log=messages.append)._system(frames_path, tmp_path / "sys")[0]
    kept = np.load(system / "set.000" / "energy.npy")
    assert np.allclose(sorted(kept), sorted([-2165.41, -2165.83, -2166.76]))
    assert "2 of 5 labelled frames dropped" in messages[0]


def test_explored_frames_are_carved_around_the_largest_disagreement(tmp_path, monkeypatch):
    """Committee disagreement on an Ag atom: a solute-centred AgL frame (78 atoms); on a methanol far
    from the solute: a 17-methanol sphere around that molecule, in its own file AgL_solvent."""
    from nucleate.studies.ag6.training.recipe import SMOKE
    from nucleate.studies.ag6.training.stages import Pipeline

    k = kind("AgL")
    packed = sampling.build_box(k, tmp_path / "box", 3)
    ag = packed.elements.index("Ag")
    distance = [np.linalg.norm((packed.positions[m] - packed.positions[ag] + packed.box / 2) % packed.box
                               - packed.box / 2, axis=1).min() for m in packed.molecules]
    far = int(np.argmax(distance))  # the methanol farthest from the Ag: outside the 12-molecule shell
    per_atom = np.full((2, len(packed.elements)), 0.05)
    per_atom[0, ag] = 0.5
    per_atom[1, packed.molecules[far][4]] = 0.5
    monkeypatch.setattr(sampling, "explore", lambda *a, **kw: (packed, np.stack([packed.positions] * 2),
                                                                np.array([0.5, 0.5]), per_atom))
    p = Pipeline(tmp_path / "work", SMOKE, seed=1, log=lambda *_: None)
    for model in p.committee(0):
        model.parent.mkdir(parents=True)
        model.write_bytes(b"")
    p.scale = type(SMOKE)(**{**vars(SMOKE), "explore_frames": 2})
    out = p._explored(k, 1)
    assert sorted(out) == ["AgL", "AgL_solvent"]
    assert out["AgL"].natoms == 78 and "solute-centred" in out["AgL"].origins[0]
    solvent = out["AgL_solvent"]
    assert solvent.natoms == 17 * 6 and set(solvent.elements) == {"C", "H", "O"}
    far_o = packed.positions[packed.molecules[far][4]]
    assert np.allclose(solvent.positions[0][4], far_o) or np.allclose(solvent.positions[0][4] % packed.box, far_o)


def test_a_kind_explored_into_solvent_spheres_only_is_not_explored_again(tmp_path, monkeypatch):
    from nucleate.studies.ag6.training.recipe import SMOKE
    from nucleate.studies.ag6.training.stages import Pipeline

    p = Pipeline(tmp_path / "work", SMOKE, seed=1, log=lambda *_: None)
    p.kinds = [kind("AgL")]
    sphere = FrameSet("AgL_solvent", ["O", "H"], np.zeros((1, 2, 3)), ["round 1: solvent sphere"])
    calls = []
    monkeypatch.setattr(Pipeline, "_explored", lambda self, k, r: calls.append(k.name) or {"AgL_solvent": sphere})
    p.sample(1)
    p.sample(1)
    assert calls == ["AgL"]
    assert [f.name for f in p.frame_files(1)] == ["AgL_solvent.npz"]


def test_model_deviation_rows_of_the_md_follow_the_minimisation():
    # a minimisation wrote rows at steps 0, 6, 12, then reset_timestep 0 and the MD wrote 0, 6, 12, 18
    steps = np.array([0, 6, 12, 0, 6, 12, 18])
    assert steps[sampling.md_rows(steps)].tolist() == [0, 6, 12, 18]
    plain = np.array([0, 6, 12])  # no minimisation: every row
    assert plain[sampling.md_rows(plain)].tolist() == [0, 6, 12]
