"""CV building blocks: compact id lists, selectors, switching functions checked against PLUMED
itself and against the analytic (stretched) rational function, units, readable output, and
every bad input the issue lists raising NucleateError before anything runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nucleate.errors import NucleateError
from nucleate.plumed_cvs import list_presets, render_plumed
from nucleate.plumed_cvs.atoms import compact_ids
from nucleate.runtime import plumed_module
from nucleate.systems import Groups, read_data
from nucleate.systems.groups import parse_id_ranges
from nucleate.units import KJMOL_PER_KCALMOL

TYPE_MAP = ["Ag", "S", "N", "C", "H", "O"]
# two AgL-like "molecules" (Ag, S, N each) and six O, in a 10 A box
TOY = """toy
12 atoms
6 atom types
0 10 xlo xhi
0 10 ylo yhi
0 10 zlo zhi

Masses

1 107.8682
2 32.06
3 14.007
4 12.011
5 1.008
6 15.999

Atoms # atomic

1 1 4.0 5.0 5.0
2 2 4.0 7.4 5.0
3 3 2.0 5.0 5.0
4 1 7.0 5.0 5.0
5 2 7.0 2.6 5.0
6 3 9.5 5.0 5.0
7 6 5.5 5.0 6.5
8 6 5.0 5.0 3.0
9 6 1.0 1.0 1.0
10 6 9.0 9.0 9.0
11 6 5.0 8.0 5.0
12 6 0.5 5.0 5.0
"""


@pytest.fixture
def toy(tmp_path):
    path = tmp_path / "toy.data"
    path.write_text(TOY)
    data = read_data(path)
    groups = Groups.from_types(data.types, TYPE_MAP, source="toy")
    groups.add("solvent_O", groups["O"])
    groups.molecules = [{"name": "AgL", "atoms": [1, 2, 3]}, {"name": "AgL", "atoms": [4, 5, 6]}]
    for k, atoms in enumerate(([1, 2, 3], [4, 5, 6]), start=1):
        groups.add(f"mol{k}", atoms)
    return data, groups


def evaluate(text: str, data, tmp_path: Path, monkeypatch) -> dict[str, float]:
    """Values PLUMED prints for `text` on the data file's configuration (one step, A/kcal/mol/fs MD units)."""
    monkeypatch.chdir(tmp_path)
    Path("plumed.dat").write_text(text)
    engine = plumed_module().Plumed()
    engine.cmd("setMDEngine", "python")
    engine.cmd("setNatoms", data.natoms)
    engine.cmd("setMDLengthUnits", 0.1)
    engine.cmd("setMDEnergyUnits", KJMOL_PER_KCALMOL)
    engine.cmd("setMDTimeUnits", 0.001)
    engine.cmd("setTimestep", 1.0)
    engine.cmd("setLogFile", "plumed.log")
    engine.cmd("setPlumedDat", "plumed.dat")
    engine.cmd("init")
    # PLUMED keeps the pointers until "calc": the arrays must stay alive until then
    box = np.diag(data.lengths).astype(np.float64)
    masses = np.array([data.masses[int(t)] for t in data.types], dtype=np.float64)
    charges = np.zeros(data.natoms)
    positions = np.ascontiguousarray(data.positions, dtype=np.float64)
    forces = np.zeros((data.natoms, 3))
    virial = np.zeros((3, 3))
    engine.cmd("setStep", 0)
    engine.cmd("setBox", box)
    engine.cmd("setMasses", masses)
    engine.cmd("setCharges", charges)
    engine.cmd("setPositions", positions)
    engine.cmd("setForces", forces)
    engine.cmd("setVirial", virial)
    engine.cmd("calc")
    engine.finalize()
    lines = Path("COLVAR").read_text().splitlines()
    return dict(zip(lines[0].split()[3:], map(float, lines[1].split()[1:])))


def rational(r, r0, nn=6, mm=None, d0=0.0, stretch=True):
    """PLUMED's rational switching function; with stretch, shifted to 0 at d_max."""
    mm = mm or 2 * nn

    def raw(x):
        x = np.maximum((np.asarray(x, float) - d0) / r0, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(np.abs(x - 1) < 1e-9, nn / mm, (1 - x**nn) / (1 - x**mm))  # limit at x = 1

    if not stretch:
        return raw(r)
    dmax = d0 + r0 * 1e-5 ** (1.0 / (nn - mm))
    return np.where(np.asarray(r) > dmax, 0.0, (raw(r) - raw(dmax)) / (raw(0.0) - raw(dmax)))


def cfg(cvs, **extra):
    return {"units": {"length": "A", "energy": "kcal/mol", "time": "fs"}, "cvs": cvs, "print_stride": 1,
            "print_format": "%.12f", **extra}


# ---- compact ids ----------------------------------------------------------------------------
@pytest.mark.parametrize("ids, text", [
    (list(range(17, 733, 6)), "17-731:6"),
    ([1, 2, 3, 12, 13, 14], "1-3,12-14"),
    ([5], "5"),
    ([1, 4], "1,4"),
    (sorted(set(range(14, 733, 6)) | set(range(15, 733, 6)) | set(range(16, 733, 6))), "14-728:6,15-729:6,16-730:6"),
])
def test_compact_ids_examples(ids, text):
    assert compact_ids(ids) == text
    assert sorted(parse_id_ranges(text)) == sorted(ids)


def test_compact_ids_round_trip_random():
    rng = np.random.default_rng(7)
    for _ in range(50):
        ids = sorted(set(rng.integers(1, 400, size=rng.integers(1, 120)).tolist()))
        assert sorted(parse_id_ranges(compact_ids(ids)).tolist()) == ids


# ---- switching function: PLUMED defaults and stretching -------------------------------------
@pytest.mark.parametrize("params", [{"r0": 3.25, "nn": 6, "mm": 8}, {"r0": 1.5}, {"r0": 2.0, "nn": 6, "mm": 10, "d0": 0.5}])
def test_coordination_is_plumeds_stretched_rational(params, tmp_path, monkeypatch):
    """Two-atom coordination at many distances equals the stretched rational function to 1e-12,
    and differs measurably from the unstretched textbook formula."""
    distances = np.array([0.8, 1.9, 2.6, 3.25, 4.0, 6.0, 9.0])
    atoms = []
    for k, r in enumerate(distances):
        atoms += [(1.0, 1.0 + 2.0 * k, 1.0), (1.0 + r, 1.0 + 2.0 * k, 1.0)]
    path = tmp_path / "pairs.data"
    path.write_text("pairs\n%d atoms\n1 atom types\n0 40 xlo xhi\n0 40 ylo yhi\n0 40 zlo zhi\n\nMasses\n\n1 1.0\n\nAtoms # atomic\n\n" % len(atoms)
                    + "".join(f"{i + 1} 1 {x} {y} {z}\n" for i, (x, y, z) in enumerate(atoms)))
    data = read_data(path)
    groups = Groups.from_types(data.types, ["X"])
    cvs = [{"name": f"c{k}", "type": "coordination", "a": f"ids:{2 * k + 1}", "b": f"ids:{2 * k + 2}", **params}
           for k in range(len(distances))]
    values = evaluate(render_plumed(cfg(cvs), groups, data, temperature_K=300), data, tmp_path, monkeypatch)
    got = np.array([values[f"c{k}"] for k in range(len(distances))])
    args = dict(r0=params["r0"], nn=params.get("nn", 6), mm=params.get("mm"), d0=params.get("d0", 0.0))
    np.testing.assert_allclose(got, rational(distances, **args), atol=1e-9)
    assert np.max(np.abs(got - rational(distances, stretch=False, **args))) > 1e-7


def test_coordination_defaults_written_explicitly(toy):
    data, groups = toy
    text = render_plumed(cfg([{"name": "cn", "type": "coordination", "a": "Ag", "b": "S", "r0": 3.0}]),
                         groups, data, temperature_K=300)
    assert "cn: COORDINATION GROUPA=1,4 GROUPB=2,5 R_0=3 NN=6 MM=12" in text   # MM=0 means 2*NN


# ---- points, solvent counts, selectors, values ---------------------------------------------
def test_solvent_count_and_points_match_numpy(toy, tmp_path, monkeypatch):
    data, groups = toy
    cvs = [
        {"name": "mid", "type": "fixed_point", "at": "box_centre"},
        {"name": "n_mid", "type": "solvent_count", "group": "solvent_O", "point": "mid", "r0": 2.0, "nn": 6, "mm": 10},
        {"name": "n_given", "type": "solvent_count", "group": "solvent_O", "point": [4.0, 5.0, 5.0], "r0": 2.0},
        # a neighbour list longer than any distance in the box changes nothing
        {"name": "n_com", "type": "solvent_count", "group": "solvent_O", "point": "com:Ag", "r0": 2.5, "nlist": {"cutoff": 9.0, "stride": 1}},
        {"name": "cn_agag", "type": "coordination", "a": "Ag", "r0": 3.25, "nn": 6, "mm": 8},
        {"name": "total", "type": "combine", "args": ["n_mid", "cn_agag"], "coefficients": [2.0, -1.0]},
    ]
    values = evaluate(render_plumed(cfg(cvs), groups, data, temperature_K=300), data, tmp_path, monkeypatch)
    oxygens = data.positions[groups["O"] - 1]

    def count(point, **sw):
        delta = oxygens - point
        delta -= data.lengths * np.round(delta / data.lengths)
        return rational(np.linalg.norm(delta, axis=1), **sw).sum()

    assert values["n_mid"] == pytest.approx(count(np.array([5.0, 5.0, 5.0]), r0=2.0, nn=6, mm=10), abs=1e-9)
    assert values["n_given"] == pytest.approx(count(np.array([4.0, 5.0, 5.0]), r0=2.0), abs=1e-9)
    assert values["n_com"] == pytest.approx(count(np.array([5.5, 5.0, 5.0]), r0=2.5), abs=1e-9)
    assert values["cn_agag"] == pytest.approx(rational(3.0, r0=3.25, nn=6, mm=8), abs=1e-9)
    assert values["total"] == pytest.approx(2 * values["n_mid"] - values["cn_agag"], abs=1e-9)
    assert values["n_mid"] > 0.5  # atom 7 sits 1.58 A from the centre: not a trivial zero


def test_rules_pick_atoms_by_molecule_and_distance(toy, tmp_path, monkeypatch):
    data, groups = toy
    cvs = [
        {"name": "own", "type": "distance", "each": "S", "atoms": ["self", "nearest(Ag, same)"]},
        {"name": "cross", "type": "distance", "each": "S", "atoms": ["self", "nearest(Ag, other)"]},
        {"name": "far", "type": "distance", "each": "Ag", "unique": True, "atoms": ["self", "farthest(N)"]},
        {"name": "ang", "type": "angle", "each": "Ag", "atoms": ["nearest(S, same)", "self", "nearest(N, other)"]},
        {"name": "rest", "type": "coordination", "each": "S", "a": "self", "b": "Ag + N - nearest(Ag, same)", "r0": 3.0},
    ]
    text = render_plumed(cfg(cvs), groups, data, temperature_K=300)
    assert "own_1: DISTANCE ATOMS=2,1" in text and "own_2: DISTANCE ATOMS=5,4" in text
    assert "cross_1: DISTANCE ATOMS=2,4" in text and "cross_2: DISTANCE ATOMS=5,1" in text
    assert "ang_1: ANGLE ATOMS=2,1,6" in text
    assert "rest_1: COORDINATION GROUPA=2 GROUPB=3,4,6" in text
    values = evaluate(text, data, tmp_path, monkeypatch)
    assert values["own_1"] == pytest.approx(2.4, abs=1e-9)
    assert values["cross_1"] == pytest.approx(np.hypot(3.0, 2.4), abs=1e-9)
    # farthest N from Ag1 (x=4) is atom 6 (x=9.5 -> 4.5 A via the boundary? no: 5.5 A direct, 4.5 A wrapped)
    assert sorted(k for k in values if k.startswith("far_")) == ["far_1", "far_2"]


def test_pair_sum_is_the_sum_of_the_family_in_one_action(toy, tmp_path, monkeypatch):
    """`sum: true`: one COORDINATION ... PAIR (issue 16: an action costs PLUMED more than its pairs) whose value
    is the sum of the one-pair family members, in their order (S2 with Ag4, S5 with Ag1)."""
    data, groups = toy
    member = {"type": "coordination", "each": "S", "a": "self", "b": "nearest(Ag, other)", "r0": 3.25, "nn": 6, "mm": 8}
    cvs = [{"name": "cross", **member}, {"name": "cross_sum", **member, "sum": True},
           {"name": "s", "type": "combine", "args": ["cross_sum"]}]
    text = render_plumed(cfg(cvs), groups, data, temperature_K=300)
    assert "cross_sum: COORDINATION GROUPA=2,5 GROUPB=4,1 PAIR R_0=3.25 NN=6 MM=8" in text
    assert "cross_sum_1" not in text
    values = evaluate(text, data, tmp_path, monkeypatch)
    assert values["cross_sum"] == pytest.approx(values["cross_1"] + values["cross_2"], rel=1e-12)
    assert values["cross_sum"] == pytest.approx(float(np.sum(rational(np.array([np.hypot(3.0, 2.4)] * 2), 3.25, 6, 8))),
                                                abs=1e-9)
    assert values["s"] == pytest.approx(values["cross_sum"], rel=1e-12) and values["cross_sum"] > 0.1
    for bad, message in (({"each": None}, r"sum: true. needs `each:` and `b:`"),
                         ({"b": "Ag"}, r"must be one atom or point, but it holds 2")):
        with pytest.raises(NucleateError, match=message):
            render_plumed(cfg([{"name": "x", **member, "sum": True, **bad}]), groups, data, temperature_K=300)


def test_walls_on_distance_families_are_plumeds_walls(toy, tmp_path, monkeypatch):
    """A plain wall on several distances is written as one COORDINATION ... PAIR + a linear wall (issue 16):
    the same bias and forces as PLUMED's own UPPER_WALLS / LOWER_WALLS on the DISTANCE actions, with both
    sides pushing; the distances are still printed."""
    from nucleate.plumed_cvs import restraints
    from nucleate.plumed_cvs.static_bias import StaticBias

    data, groups = toy
    config = cfg([{"name": "p", "type": "fixed_point", "at": [5.0, 5.0, 5.0]},
                  {"name": "d_ag", "type": "distance", "each": "Ag", "atoms": ["p", "self"]},  # 1.0 and 2.0 A
                  {"name": "d_sag", "type": "distance", "each": "S", "atoms": ["self", "nearest(Ag, other)"]},
                  {"name": "one", "type": "distance", "atoms": ["ids:1", "ids:4"]}],
                 walls=[{"name": "w_ag", "arg": "d_ag", "lower": 1.5, "upper": 1.8, "kappa": 100},
                        {"name": "w_sag", "arg": "d_sag", "upper": 3.5, "kappa": 40},
                        {"name": "w_one", "arg": "one", "upper": 2.0, "kappa": 10},
                        {"name": "w_exp", "arg": "d_sag", "upper": 3.5, "kappa": 40, "exp": 4}])
    text = render_plumed(config, groups, data, temperature_K=300)
    assert "w_ag_lower_pairs: COORDINATION GROUPA=p,p GROUPB=1,4 PAIR SWITCH={CUSTOM FUNC=step(1-x)*(1-x)^2 R_0=1.5}" in text
    assert "w_ag_lower: UPPER_WALLS ARG=w_ag_lower_pairs AT=0 KAPPA=225 EXP=1" in text
    assert "w_sag: UPPER_WALLS ARG=w_sag_pairs AT=0 KAPPA=490 EXP=1" in text
    assert "w_one: UPPER_WALLS ARG=one AT=2" in text and "w_exp: UPPER_WALLS ARG=d_sag_1,d_sag_2" in text
    monkeypatch.setattr(restraints, "PAIR_WALLS", False)
    plain = render_plumed(config, groups, data, temperature_K=300)
    assert "_pairs" not in plain and "w_ag_lower: LOWER_WALLS ARG=d_ag_1,d_ag_2 AT=1.5,1.5" in plain
    monkeypatch.setattr(restraints, "PAIR_WALLS", True)
    fused_values = evaluate(text, data, tmp_path, monkeypatch)
    (tmp_path / "plain").mkdir()
    plain_values = evaluate(plain, data, tmp_path / "plain", monkeypatch)
    for key, value in plain_values.items():  # same columns, same values (the fused sums are not printed)
        assert fused_values[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
    assert set(fused_values) == set(plain_values)
    # both sides of w_ag and w_sag push: kappa (1.5 - 1)^2 and kappa (2 - 1.8)^2; sqrt(3^2 + 2.4^2) = 3.84
    assert plain_values["w_ag_lower.bias"] == pytest.approx(25.0) and plain_values["w_ag_upper.bias"] == pytest.approx(4.0)
    assert plain_values["w_sag.bias"] == pytest.approx(2 * 40 * (np.hypot(3.0, 2.4) - 3.5) ** 2)
    moved = data.positions + np.random.default_rng(1).normal(0.0, 0.2, data.positions.shape)
    results = []
    for fused in (True, False):
        monkeypatch.setattr(restraints, "PAIR_WALLS", fused)
        with StaticBias({k: v for k, v in config.items() if k != "print_stride"}, groups, data) as static:
            results.append([static.energy_forces(x) for x in (data.positions, moved)])
    for (e_fused, f_fused), (e_plain, f_plain) in zip(*results):
        assert e_fused == pytest.approx(e_plain, rel=1e-10) and e_plain > 1.0
        np.testing.assert_allclose(f_fused, f_plain, rtol=1e-9, atol=1e-9)
        assert np.abs(f_plain).max() > 1.0


def test_units_default_to_plumeds_nm(toy):
    data, groups = toy
    text = render_plumed({"cvs": [{"name": "p", "type": "fixed_point", "at": "box_centre"},
                                  {"name": "n", "type": "solvent_count", "group": "O", "point": "p", "r0": 0.2}]},
                         groups, data, temperature_K=300)
    assert "UNITS LENGTH=nm ENERGY=kj/mol TIME=ps" in text
    assert "p: FIXEDATOM AT=0.5,0.5,0.5" in text     # 5 A box centre, written in nm


def test_readable_header_and_layout(toy):
    data, groups = toy
    text = render_plumed(cfg([{"name": "cn", "type": "coordination", "a": "Ag", "b": "solvent_O", "r0": 3.0}],
                             bias={"protocol": "wtmetad", "args": ["cn"], "pace": 10, "height": 1, "sigma": [0.1],
                                   "biasfactor": 10}),
                         groups, data, temperature_K=300, restart=True)
    lines = text.splitlines()
    code = [line for line in lines if line.strip() and not line.startswith("#")]
    assert code[0] == "UNITS LENGTH=A ENERGY=kcal/mol TIME=fs" and code[1] == "RESTART"
    assert "#   Ag               2 atoms  1,4" in lines
    assert "#   solvent_O        6 atoms  7-12" in lines
    assert any(line.startswith("# coordination number of Ag with solvent_O") for line in lines)
    assert "TEMP=300" in text and "CALC_RCT" in text
    assert "PRINT STRIDE=1 FILE=COLVAR FMT=%.12f ARG=cn,metad.*" in text


def test_min_distance_within_one_group_runs(toy, tmp_path, monkeypatch):
    data, groups = toy
    text = render_plumed(cfg([{"name": "dmin", "type": "min_distance", "a": "O", "beta": 50.0}]),
                         groups, data, temperature_K=300)
    assert "dmin: DISTANCES GROUP=7-12 MIN={BETA=50}" in text
    values = evaluate(text, data, tmp_path, monkeypatch)
    oxygens = data.positions[groups["O"] - 1]
    delta = oxygens[:, None] - oxygens[None]
    delta -= data.lengths * np.round(delta / data.lengths)
    r = np.linalg.norm(delta, axis=-1)[np.triu_indices(len(oxygens), 1)]
    assert values["dmin_min"] == pytest.approx(50.0 / np.log(np.sum(np.exp(50.0 / r))), rel=1e-9)


def test_presets_are_listed():
    assert {"ag6/monomer_dimer", "ag6/dimer_octahedral"} <= set(list_presets())


# ---- bad input ------------------------------------------------------------------------------
BIAS = {"protocol": "wtmetad", "args": ["cn"], "pace": 10, "height": 1.0, "sigma": [0.1], "biasfactor": 10}
OPES = {"protocol": "opes", "args": ["cn"], "pace": 10, "barrier": 20.0, "sigma": [0.1]}
CN = {"name": "cn", "type": "coordination", "a": "Ag", "b": "S", "r0": 3.0}


@pytest.mark.parametrize("config, message", [
    (cfg([dict(CN, b="Xe")]), r"unknown atom group 'Xe'.*available groups: Ag, S, N, O, all"),
    (cfg([dict(CN, b="empty")]), r"atom group 'empty'.* is empty"),
    (cfg([dict(CN, b="ids:5-20")]), r"reaches atom 20, but the system has 12"),
    (cfg([{"name": "d", "type": "distance", "atoms": ["ids:1", [13]]}]), r"outside the system's atoms 1-12"),
    (cfg([CN], bias=dict(BIAS, sigma=[0.0])), r"sigma\[0\] must be > 0"),
    (cfg([CN], bias=dict(BIAS, sigma=[-1])), r"sigma\[0\] must be > 0"),
    (cfg([CN], bias=dict(BIAS, biasfactor=1.0)), r"biasfactor must be > 1"),
    (cfg([CN], bias=dict(OPES, barrier=0)), r"barrier must be > 0"),
    (cfg([CN], bias=dict(BIAS, pace=0)), r"pace must be >= 1"),
    (cfg([CN], bias=dict(OPES, pace=0)), r"pace must be >= 1"),
    (cfg([CN], walls=[{"arg": "s9", "upper": 1.0, "kappa": 10}]), r"no CV named 's9'.*defined so far: cn"),
    (cfg([CN], bias=dict(BIAS, args=["nope"])), r"no CV named 'nope'"),
    (cfg([dict(CN, type="torsion")]), r"unknown CV type 'torsion'"),
    (cfg([dict(CN, rzero=3.0)]), r"unknown key\(s\) rzero"),
    (cfg([dict(CN, nn=8, mm=8)]), r"nn and mm must differ"),
    (cfg([CN, CN]), r"name 'cn' is already defined"),
    (cfg([CN], bias=dict(BIAS, sigma=[0.1, 0.2])), r"sigma needs 1 value"),
    (cfg([CN], bias={"protocol": "abf"}), r"unknown protocol 'abf'"),
    ({"preset": "ag6/nothing"}, r"unknown PLUMED preset 'ag6/nothing'; available: .*ag6/monomer_dimer"),
    ({"preset": "ag6/monomer_dimer", "overrides": {"cvs": {"zz": {"r0": 1}}}}, r"no entry named 'zz'"),
    (cfg([{"name": "d", "type": "distance", "atoms": ["Ag", "S"]}]), r"must be one atom or point, but it holds 2"),
    (cfg([{"name": "d", "type": "distance", "atoms": ["self", "S"]}]), r"'self' is only meaningful inside an `each:`"),
])
def test_bad_input_is_a_clear_error(toy, config, message):
    data, groups = toy
    groups.groups["empty"] = np.array([], dtype=np.int64)
    with pytest.raises(NucleateError, match=message):
        render_plumed(config, groups, data, temperature_K=300)


def test_groups_from_another_system_are_rejected(toy, tmp_path):
    data, _ = toy
    other = Groups.from_types([1, 1, 2], TYPE_MAP)
    with pytest.raises(NucleateError, match="different systems"):
        render_plumed(cfg([CN]), other, data, temperature_K=300)


def test_cli_show_and_list(toy, tmp_path):
    data, groups = toy
    groups.write(tmp_path / "groups.json")
    spec = tmp_path / "spec.yaml"
    spec.write_text("plumed:\n  units: {length: A}\n  cvs:\n    - {name: cn, type: coordination, a: Ag, b: S, r0: 3.0}\n")
    run = [sys.executable, "-m", "nucleate.cli", "cvs"]
    shown = subprocess.run(run + ["show", str(spec), "--data", str(data.path), "--groups", str(tmp_path / "groups.json")],
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "cn: COORDINATION GROUPA=1,4 GROUPB=2,5 R_0=3 NN=6 MM=12" in shown.stdout
    listed = subprocess.run(run + ["list"], capture_output=True, text=True, timeout=60)
    assert "ag6/monomer_dimer" in listed.stdout and "wtmetad" in listed.stdout
    bad = subprocess.run(run + ["show", "ag6/none", "--data", str(data.path), "--groups", str(tmp_path / "groups.json")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown PLUMED preset" in bad.stderr


def test_cli_show_takes_the_type_map_of_the_groups_file_or_the_masses(toy, tmp_path):
    """No study type map as a default: --groups brings its own, else the data file's masses name the types."""
    data, groups = toy
    groups.write(tmp_path / "groups.json")
    spec = tmp_path / "spec.yaml"
    spec.write_text("plumed:\n  units: {length: A}\n  cvs:\n    - {name: cn, type: coordination, a: Ag, b: S, r0: 3.0}\n")
    run = [sys.executable, "-m", "nucleate.cli", "cvs", "show", str(spec), "--data", str(data.path)]
    with_groups = run + ["--groups", str(tmp_path / "groups.json")]
    assert subprocess.run(with_groups, capture_output=True, text=True, timeout=60).returncode == 0
    same = subprocess.run(with_groups + ["--type-map", ",".join(TYPE_MAP)], capture_output=True, text=True, timeout=60)
    assert same.returncode == 0, same.stderr
    other = subprocess.run(with_groups + ["--type-map", "Ag,S,N,C,O,H"], capture_output=True, text=True, timeout=60)
    assert other.returncode == 2 and "differs from the type map Ag,S,N,C,H,O of" in other.stderr, other.stderr
    from_masses = subprocess.run(run, capture_output=True, text=True, timeout=60)  # the toy file has Masses
    assert from_masses.returncode == 0, from_masses.stderr
    assert "GROUPA=1,4 GROUPB=2,5" in from_masses.stdout
    bare = tmp_path / "bare.data"
    bare.write_text(TOY.split("Masses")[0] + "Atoms" + TOY.split("Atoms", 1)[1])
    asked = subprocess.run(run[:-1] + [str(bare)], capture_output=True, text=True, timeout=60)
    assert asked.returncode == 2 and "give them in type order with --type-map" in asked.stderr, asked.stderr
    given = subprocess.run(run[:-1] + [str(bare), "--type-map", ",".join(TYPE_MAP)], capture_output=True, text=True,
                           timeout=60)
    assert given.returncode == 0, given.stderr
