"""The bond guards (`guards: {style: bonds}`, the presets' default) against a direct numpy computation,
and held bonds under a steered pull.

Values, wall energies and forces are checked on real configurations: the study's monomer_dimer
conf.lmp (when the reference inputs are on this machine) and a box built by `nucleate build`, its
positions jittered so that bond lengths spread. The walls are put at the mean bond lengths there,
so about half of the bonds push. PLUMED evaluates the rendered input in-process (MD units A and
kcal/mol, so its forces compare directly); numpy takes each methanol's bonds from the geometry
(the 3 H nearest to its C, the H nearest to its O), not from the guard code.

The pull runs use `pair_style zero`, so nothing but the guard holds a bond: a MOVINGRESTRAINT drags
one bond towards 2.5 A. Equilibrium of pull and wall is r = (k_pull * 2.5 + 2 kappa r_wall) /
(k_pull + 2 kappa); at 300 K the bond fluctuates around it by sqrt(kT / (k_pull + 2 kappa)) ~ 0.05 A.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nucleate.engine.render import render_run
from nucleate.engine.runner import execute
from nucleate.engine.spec import RunSpec
from nucleate.errors import NucleateError
from nucleate.plumed_cvs import render_plumed
from nucleate.plumed_cvs.guards import ordered_ids
from nucleate.runtime import plumed_module
from nucleate.systems import Groups, build, import_data, read_data, write_data
from nucleate.systems.elements import MASSES as ELEMENT_MASSES
from nucleate.units import KJMOL_PER_KCALMOL

from conftest import REFERENCE

TYPE_MAP = ["Ag", "S", "N", "C", "H", "O"]
STUDY_CONF = REFERENCE / "ag6_paper_inputs" / "monomer_dimer" / "conf.lmp"
KAPPA = 100.0  # kcal/mol/A^2
# wall positions near the mean bond lengths, so that about half of the bonds are beyond their wall
ACTIVE_WALLS = {"ch_A": 1.10, "co_A": 1.44, "oh_A": 0.99}


# ---- configurations ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built_box(tmp_path_factory):
    """The monomer_dimer box of `nucleate build`, every atom moved by ~0.05 A (seeded)."""
    folder = tmp_path_factory.mktemp("built")
    box = build("ag6/monomer_dimer", folder / "box", seed=3)
    data = read_data(box.data_path)
    plain = (data, Groups.read(box.groups_path))
    moved = data.positions + np.random.default_rng(5).normal(0.0, 0.05, data.positions.shape)
    path = write_data(folder / "jittered.data", moved, data.types, data.lengths,
                      [data.masses[t] for t in range(1, len(TYPE_MAP) + 1)], TYPE_MAP, box_lo=data.box_lo)
    return read_data(path), Groups.read(box.groups_path), plain


def study_conf():
    if not STUDY_CONF.exists():
        pytest.skip("the study's inputs are not on this machine")
    return import_data(STUDY_CONF, TYPE_MAP, composition={"AgL": 2})


def methanol_bonds(data, groups) -> dict[str, np.ndarray]:
    """(n, 2) atom ids per bond type, from the geometry of each methanol molecule."""
    found = {"ch": [], "co": [], "oh": []}
    element = np.array(TYPE_MAP)[data.types - 1]
    for molecule in groups.molecules:
        if molecule["name"] != "methanol":
            continue
        atoms = np.asarray(molecule["atoms"])
        c, o = atoms[element[atoms - 1] == "C"][0], atoms[element[atoms - 1] == "O"][0]
        hydrogens = atoms[element[atoms - 1] == "H"]
        to_c, to_o = (np.linalg.norm(minimum_image(data, data.positions[hydrogens - 1] - data.positions[x - 1]), axis=1)
                      for x in (c, o))
        found["ch"] += [(c, h) for h in hydrogens[np.argsort(to_c)[:3]]]
        found["co"].append((c, o))
        found["oh"].append((o, hydrogens[np.argmin(to_o)]))
    return {k: np.array(v) for k, v in found.items()}


def minimum_image(data, vectors):
    return vectors - data.lengths * np.round(vectors / data.lengths)


def expected(data, groups, walls: dict, kappa: float):
    """numpy: per bond type the guard's value and the wall energy; and the forces (kcal/mol/A)."""
    values, forces = {}, np.zeros((data.natoms, 3))
    for kind, pairs in methanol_bonds(data, groups).items():
        r_wall = walls[f"{kind}_A"]
        vec = minimum_image(data, data.positions[pairs[:, 1] - 1] - data.positions[pairs[:, 0] - 1])
        r = np.linalg.norm(vec, axis=1)
        beyond = np.maximum(r - r_wall, 0.0)
        values[f"bond_{kind}"] = float(np.sum((beyond / r_wall) ** 2))
        values[f"bond_{kind}_wall.bias"] = float(kappa * np.sum(beyond**2))  # the analytic wall
        push = (-2.0 * kappa * beyond / r)[:, None] * vec  # -dE/dx on the second atom of each pair
        np.add.at(forces, pairs[:, 1] - 1, push)
        np.add.at(forces, pairs[:, 0] - 1, -push)
    return values, forces


# ---- PLUMED in-process ----------------------------------------------------------------------------
def evaluate(text: str, data, folder: Path, monkeypatch):
    """COLVAR values and forces (kcal/mol/A) PLUMED gives `text` on the data file's configuration."""
    monkeypatch.chdir(folder)
    Path("plumed.dat").write_text(text)
    plumed = plumed_module().Plumed()
    for key, value in (("setMDEngine", "python"), ("setNatoms", data.natoms), ("setMDLengthUnits", 0.1),
                       ("setMDEnergyUnits", KJMOL_PER_KCALMOL), ("setMDTimeUnits", 0.001), ("setTimestep", 1.0),
                       ("setLogFile", "plumed.log"), ("setPlumedDat", "plumed.dat")):
        plumed.cmd(key, value)
    plumed.cmd("init")
    box = np.diag(data.lengths).astype(float)
    masses = np.array([ELEMENT_MASSES[TYPE_MAP[int(t) - 1]] for t in data.types], dtype=float)
    charges, positions = np.zeros(data.natoms), np.ascontiguousarray(data.positions, dtype=float)
    forces, virial = np.zeros((data.natoms, 3)), np.zeros((3, 3))
    for key, value in (("setStep", 0), ("setBox", box), ("setMasses", masses), ("setCharges", charges),
                       ("setPositions", positions), ("setForces", forces), ("setVirial", virial)):
        plumed.cmd(key, value)
    plumed.cmd("calc")
    plumed.finalize()
    lines = Path("COLVAR").read_text().splitlines()
    return dict(zip(lines[0].split()[3:], map(float, lines[1].split()[1:]))), forces


def guard_config(guards, length="A"):
    return {"units": {"length": length, "energy": "kcal/mol", "time": "fs"},
            # one CV is required; nothing biases it, so all forces are the guards'
            "cvs": [{"name": "d_ag", "type": "distance", "atoms": ["mol1_Ag", "mol2_Ag"]}],
            "guards": guards, "print_stride": 1, "print_format": "%.12g"}


@pytest.mark.parametrize("which", ["built", "study"])
def test_bond_guards_match_numpy(which, built_box, tmp_path, monkeypatch):
    data, groups = built_box[:2] if which == "built" else study_conf()
    walls = dict(ACTIVE_WALLS)
    text = render_plumed(guard_config({"style": "bonds", "kappa": KAPPA, "study_monitors": False, **walls}),
                         groups, data, temperature_K=300)
    values, forces = evaluate(text, data, tmp_path, monkeypatch)
    want, want_forces = expected(data, groups, walls, KAPPA)
    for key, value in want.items():
        assert values[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    for kind in ("ch", "co", "oh"):  # the comparison has teeth: walls push on every bond type
        assert want[f"bond_{kind}_wall.bias"] > 0.1, kind
    np.testing.assert_allclose(forces, want_forces, rtol=1e-8, atol=1e-9)
    assert np.abs(want_forces).max() > 1.0


@pytest.mark.parametrize("which", ["built", "study"])
def test_bond_guards_are_zero_inside_their_walls(which, built_box, tmp_path, monkeypatch):
    """With the default walls (1.30 / 1.60 / 1.20 A) the packed box and the study's thermal configuration
    (longest bonds C-H 1.18, C-O 1.56, O-H 1.07 A) feel nothing."""
    data, groups = built_box[2] if which == "built" else study_conf()
    text = render_plumed(guard_config({"style": "bonds", "study_monitors": False}), groups, data, temperature_K=300)
    values, forces = evaluate(text, data, tmp_path, monkeypatch)
    for kind in ("ch", "co", "oh"):
        assert values[f"bond_{kind}"] == 0.0 and values[f"bond_{kind}_wall.bias"] == 0.0
    assert not forces.any()


def test_wall_energy_does_not_depend_on_the_length_unit(built_box, tmp_path, monkeypatch):
    """kappa is per A^2 and r_wall in A whatever the input's unit: nm gives the same energies."""
    data, groups = built_box[:2]
    guards = {"style": "bonds", "kappa": KAPPA, "study_monitors": False, **ACTIVE_WALLS}
    in_a, _ = evaluate(render_plumed(guard_config(guards), groups, data, temperature_K=300),
                       data, tmp_path, monkeypatch)
    (tmp_path / "nm").mkdir()
    in_nm, forces_nm = evaluate(render_plumed(guard_config(guards, length="nm"), groups, data, temperature_K=300),
                                data, tmp_path / "nm", monkeypatch)
    for kind in ("ch", "co", "oh"):
        key = f"bond_{kind}_wall.bias"
        assert in_nm[key] == pytest.approx(in_a[key], rel=1e-9)
    assert np.abs(forces_nm).max() > 1.0


def test_presets_default_to_bond_guards_and_keep_the_study_style(built_box):
    data, groups = built_box[:2]
    text = render_plumed({"preset": "ag6/monomer_dimer"}, groups, data, temperature_K=300)
    assert "PAIR SWITCH={CUSTOM FUNC=step(x-1)*(x-1)^2 R_0=1.3}" in text
    assert "bond_ch_wall: UPPER_WALLS ARG=bond_ch AT=0 KAPPA=169 EXP=1" in text
    assert "LOWER_WALLS ARG=guard_ch.lowest" not in text  # the study's coordinations only monitor
    assert "guard_ch: COORDINATIONNUMBER" in text and "guard_h:" not in text
    # the bond lists are the molecules' own atoms, as ranges
    assert "GROUPA=13-727:6,13-727:6,13-727:6 GROUPB=14-728:6,15-729:6,16-730:6" in text
    # the preset prints those monitors to GUARDS every 1000 steps, not in COLVAR every 100 (issue 16)
    assert "PRINT STRIDE=1000 FILE=GUARDS FMT=%.10g ARG=guard_ch.lowest,guard_co.lowest,guard_oh.lowest" in text
    study = render_plumed({"preset": "ag6/monomer_dimer", "overrides": {"guards": {"style": "study"}}},
                          groups, data, temperature_K=300)
    assert "guard_ch_wall: LOWER_WALLS ARG=guard_ch.lowest AT=2.55 KAPPA=100" in study
    assert "guard_h: COORDINATIONNUMBER" in study and "bond_ch" not in study


def test_monitor_stride_prints_the_study_monitors_to_their_own_file(built_box, tmp_path, monkeypatch):
    """monitor_stride: the print-only monitors leave COLVAR for a PRINT of their own (GUARDS), so PLUMED computes
    them on its steps only (issue 16: 25-30 ms each time); same values as in COLVAR."""
    data, groups = built_box[:2]
    guards = {"style": "bonds", "study_monitors": True}
    inline = render_plumed(guard_config(guards), groups, data, temperature_K=300)
    apart = render_plumed(guard_config({**guards, "monitor_stride": 7}), groups, data, temperature_K=300)
    assert "FILE=GUARDS" not in inline and "guard_ch.lowest" in inline.split("PRINT STRIDE=1 FILE=COLVAR")[1]
    colvar_print = next(line for line in apart.splitlines() if line.startswith("PRINT STRIDE=1 FILE=COLVAR"))
    assert "guard_" not in colvar_print and "bond_ch_wall.bias" in colvar_print
    assert "PRINT STRIDE=7 FILE=GUARDS FMT=%.12g ARG=guard_ch.lowest,guard_co.lowest,guard_oh.lowest" in apart
    values, _ = evaluate(inline, data, tmp_path, monkeypatch)
    (tmp_path / "apart").mkdir()
    evaluate(apart, data, tmp_path / "apart", monkeypatch)
    lines = (tmp_path / "apart" / "GUARDS").read_text().splitlines()
    monitors = dict(zip(lines[0].split()[3:], map(float, lines[1].split()[1:])))
    assert set(monitors) == {"guard_ch_lowest", "guard_co_lowest", "guard_oh_lowest"}  # PLUMED 2.11: x.lowest as x_lowest
    for key, value in monitors.items():
        assert value == pytest.approx(values[key], rel=1e-12) and value > 0.1, key
    # style study: its walled coordinations stay in COLVAR (computed every step anyway), guard_h moves
    study = render_plumed(guard_config({"style": "study", "monitor_stride": 1000}), groups, data, temperature_K=300)
    assert "PRINT STRIDE=1000 FILE=GUARDS FMT=%.12g ARG=guard_h.lowest\n" in study
    assert "guard_ch.lowest" in next(line for line in study.splitlines() if "FILE=COLVAR" in line)
    with pytest.raises(NucleateError, match="monitor_stride must be >= 1"):
        render_plumed(guard_config({**guards, "monitor_stride": 0}), groups, data, temperature_K=300)
    with pytest.raises(NucleateError, match="GUARDS is the file of the guards' monitors"):
        render_plumed({**guard_config({**guards, "monitor_stride": 10}), "colvar": "GUARDS"}, groups, data,
                      temperature_K=300)


def test_a_bond_type_can_be_left_unwalled(built_box):
    data, groups = built_box[:2]
    text = render_plumed(guard_config({"oh_A": None, "study_monitors": False}), groups, data, temperature_K=300)
    assert "bond_ch_wall:" in text and "bond_co_wall:" in text and "bond_oh" not in text


@pytest.mark.parametrize("guards, message", [
    ({"style": "fast"}, r"style must be one of bonds, study"),
    ({"style": "bonds", "ch": 2.55}, r"ch belong\(s\) to the other style; style bonds takes .* ch_A"),
    ({"style": "study", "oh_A": 1.2}, r"oh_A belong\(s\) to the other style"),
    ({"kappa": 0}, r"kappa must be > 0"),
    ({"ch_A": -1}, r"ch_A must be > 0"),
    ({"ch_A": "1.3\nLOAD FILE=x.so"}, r"control character|line break|must be a number"),
    ({"solvent": "water"}, r"only methanol guards"),
    ({"monitors": "no"}, r"monitors"),
])
def test_bad_guards_are_one_clear_error(built_box, guards, message):
    data, groups = built_box[:2]
    with pytest.raises(NucleateError, match=message):
        render_plumed(guard_config(guards), groups, data, temperature_K=300)


def test_bond_guards_need_molecules(built_box):
    data, groups = built_box[:2]
    bare = Groups(natoms=groups.natoms, groups={k: v for k, v in groups.groups.items() if not k.startswith("mol")},
                  type_map=groups.type_map)
    config = guard_config("methanol")
    config["cvs"] = [{"name": "d_ag", "type": "distance", "atoms": ["ids:1", "ids:7"]}]
    with pytest.raises(NucleateError, match="bond guards need the molecules"):
        render_plumed(config, bare, data, temperature_K=300)


@pytest.mark.parametrize("ids, text", [
    ([13, 19, 25, 13, 19, 25], "13-25:6,13-25:6"),
    ([17, 23], "17,23"),
    ([5], "5"),
    ([3, 2, 1, 7, 8, 9], "3,2,1,7-9"),
])
def test_ordered_ids_keep_order_and_repeats(ids, text):
    assert ordered_ids(ids) == text


# ---- a bond pulled apart ------------------------------------------------------------------------------
METHANOL = np.array([[0.340877, -0.150743, 0.0], [0.713678, -1.175008, 0.0], [0.713678, 0.361390, 0.887039],
                     [0.713678, 0.361390, -0.887039], [-1.086123, -0.150743, 0.0], [-1.395789, 0.753715, 0.0]])
MASSES = [107.8682, 32.06, 14.007, 12.011, 1.008, 15.999]


@pytest.fixture(scope="module")
def two_methanol(tmp_path_factory):
    folder = tmp_path_factory.mktemp("two")
    lines = ["two methanol", "", "12 atoms", "6 atom types", ""] + [f"0.0 20.0 {a}lo {a}hi" for a in "xyz"]
    lines += ["", "Masses", ""] + [f"{k} {m}" for k, m in enumerate(MASSES, start=1)] + ["", "Atoms # atomic", ""]
    positions = np.vstack([METHANOL + 6.0, METHANOL + [13.0, 12.0, 11.0]])
    lines += [f"{i} {t} {x:.6f} {y:.6f} {z:.6f}" for i, (t, (x, y, z)) in
              enumerate(zip([4, 5, 5, 5, 6, 5] * 2, positions), start=1)]
    (folder / "two.data").write_text("\n".join(lines) + "\n")
    data, groups = import_data(folder / "two.data", TYPE_MAP)
    groups.write(folder / "groups.json")
    return folder, data, groups


def pull(two_methanol, tmp_path, guards, bond: str, k_pull: float) -> np.ndarray:
    """Drag one bond of the first methanol towards 2.5 A over 600 steps, hold 400; its length every 5 steps."""
    folder, data, groups = two_methanol
    c, o, ho = (groups["solvent_C"][0], groups["solvent_O"][0], groups["solvent_HO"][0])
    pair = {"oh": (o, ho), "co": (c, o)}[bond]
    config = {"units": {"length": "A", "energy": "kcal/mol", "time": "fs"},
              "cvs": [{"name": "d_pull", "type": "distance", "atoms": [f"ids:{pair[0]}", f"ids:{pair[1]}"]}],
              "print_stride": 5, "print_format": "%.6f"}
    if guards:
        config["guards"] = guards
    start = float(np.linalg.norm(data.positions[pair[1] - 1] - data.positions[pair[0] - 1]))
    text = render_plumed(config, groups, data, temperature_K=300)
    text += f"pull: MOVINGRESTRAINT ARG=d_pull STEP0=0 AT0={start:.4f} KAPPA0={k_pull} STEP1=600 AT1=2.5 KAPPA1={k_pull}\n"
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "plumed.in").write_text(text)
    spec = RunSpec.from_dict({
        "name": "pull", "system": {"data": str(folder / "two.data"), "groups": str(folder / "groups.json"),
                                   "type_map": TYPE_MAP},
        "potential": {"pair_style": "zero 6.0", "pair_coeff": ["* *"]},
        "md": {"temperature_K": 300.0, "timestep_fs": 0.5, "steps": 1000, "thermostat": "langevin", "tdamp_fs": 20,
               "seed": 5},
        "output": {"thermo": 100, "dump": 500, "checkpoint": 1000},
        "plumed": {"file": str(tmp_path / "plumed.in")}})
    run = render_run(spec, tmp_path / "run")
    assert execute(run.path).status == "completed"
    rows = [line.split() for line in (run.path / "COLVAR").read_text().splitlines() if not line.startswith("#")]
    return np.array([float(row[1]) for row in rows])


def held_at(r_wall: float, k_pull: float, kappa: float = KAPPA) -> float:
    return (k_pull * 2.5 + 2 * kappa * r_wall) / (k_pull + 2 * kappa)


def test_bond_guard_holds_a_hydroxyl_proton_pulled_off(two_methanol, tmp_path):
    """A pull of ~87 kcal/mol/A (3.8 eV/A, about what breaks a real O-H bond) on the O-H: without a
    guard the proton follows the pull to 2.5 A; the bond guard holds it at 1.63 A."""
    free = pull(two_methanol, tmp_path / "free", None, "oh", 100.0)
    held = pull(two_methanol, tmp_path / "held", {"style": "bonds", "study_monitors": False}, "oh", 100.0)
    last = slice(-80, None)  # the last 400 steps, pull at its end point
    assert free[last].mean() > 2.3
    target = held_at(1.20, 100.0)  # 1.633 A
    assert held[last].mean() == pytest.approx(target, abs=0.05)
    # wall + the pull's share (0.43 A) + 4 thermal sigma (0.045 A each) + 0.05 A for the steering lag
    assert held.max() < target + 4 * 0.045 + 0.05


@pytest.mark.parametrize("k_pull, study_holds", [(20.0, True), (100.0, False)])
def test_bond_guard_holds_a_carbon_oxygen_bond_as_the_study_guard_does(two_methanol, tmp_path, k_pull, study_holds):
    """C-O pulled apart. A gentle pull (16 kcal/mol/A at the end) is held at 1.68 A by both guards; a strong
    one (60 kcal/mol/A) by the bond guard only: the study's lowest-coordination wall can push back with at
    most ~28 kcal/mol/A (its coordination's slope flattens as the bond stretches), then lets the bond go."""
    last = slice(-80, None)
    bonds = pull(two_methanol, tmp_path / "bonds", {"style": "bonds", "study_monitors": False}, "co", k_pull)
    study = pull(two_methanol, tmp_path / "study", {"style": "study", "monitors": False}, "co", k_pull)
    target = held_at(1.60, k_pull)
    assert bonds[last].mean() == pytest.approx(target, abs=0.05)
    assert bonds.max() < target + 4 * np.sqrt(0.596 / (k_pull + 2 * KAPPA)) + 0.05
    if study_holds:
        assert abs(study[last].mean() - bonds[last].mean()) < 0.05
    else:
        assert study[last].mean() > 2.2
