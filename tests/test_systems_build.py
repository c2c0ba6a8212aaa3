"""Presets: composition, atom counts, densities, contacts under periodic boundaries, round trips."""

import json

import numpy as np
import pytest

from nucleate.systems import Groups, build, read_data
from nucleate.systems.elements import MASSES, VDW_RADII

AVOGADRO = 6.02214076e23
TYPE_MAP = ["Ag", "S", "N", "C", "H", "O"]


def min_intermolecular_distance(data, groups):
    """Brute-force minimum image over all atom pairs of different molecules (independent of the builder)."""
    mol_of = np.zeros(data.natoms, dtype=int)
    for k, mol in enumerate(groups.molecules):
        mol_of[np.asarray(mol["atoms"]) - 1] = k
    box = data.lengths
    best = np.inf
    for i in range(data.natoms):
        delta = data.positions[i + 1:] - data.positions[i]
        delta -= box * np.round(delta / box)
        d = np.sqrt((delta**2).sum(axis=1))
        other = mol_of[i + 1:] != mol_of[i]
        if other.any():
            best = min(best, d[other].min())
    return best


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("presets")
    return {name: build(f"ag6/{name}", root / name) for name in
            ("monomer_dimer", "dimer_octahedral", "ag6l6_methanol_liquid")}


@pytest.mark.parametrize("name, natoms, composition", [
    ("monomer_dimer", 732, {"AgL": 2, "methanol": 120}),
    ("dimer_octahedral", 726, {"Ag2L2": 3, "methanol": 115}),
])
def test_study_presets_match_the_papers_atom_counts(built, name, natoms, composition):
    result = built[name]
    data = read_data(result.data_path)
    groups = Groups.read(result.groups_path)
    assert data.natoms == natoms == groups.natoms
    assert result.composition == composition
    names = [m["name"] for m in groups.molecules]
    assert {n: names.count(n) for n in set(names)} == composition
    assert np.allclose(data.lengths, 20.0)
    # element counts: AgL = Ag S N C H2, methanol = C H4 O
    assert groups["solvent_O"].size == composition["methanol"]
    assert groups["solvent_HO"].size == composition["methanol"]
    assert groups["solvent_HC"].size == 3 * composition["methanol"]
    assert groups["Ag"].size == (2 if name == "monomer_dimer" else 6)
    assert min_intermolecular_distance(data, groups) >= 2.0


def test_groups_follow_the_naming_convention(built):
    groups = Groups.read(built["dimer_octahedral"].groups_path)
    data = read_data(built["dimer_octahedral"].data_path)
    elements = np.array(TYPE_MAP)[data.types - 1]
    for k in (1, 2, 3):
        ids = groups[f"mol{k}"]
        assert ids.size == 12 and list(groups[f"mol{k}_Ag"]) == [i for i in ids if elements[i - 1] == "Ag"]
    assert "mol4" not in groups
    assert np.array_equal(groups["solute"], np.arange(1, 37))
    assert np.all(elements[groups["solvent_HO"] - 1] == "H")
    # each hydroxyl H sits 0.956 A from an O; methyl H 1.09 A from a C
    o = data.positions[groups["solvent_O"] - 1]
    ho = data.positions[groups["solvent_HO"] - 1]
    d = ho - o
    d -= 20.0 * np.round(d / 20.0)
    assert np.allclose(np.linalg.norm(d, axis=1), 0.956, atol=1e-3)


def test_liquid_density_preset_is_within_two_percent(built):
    result = built["ag6l6_methanol_liquid"]
    data = read_data(result.data_path)
    groups = Groups.read(result.groups_path)
    n_meoh = groups["solvent_O"].size
    # free volume: box minus the vdW volume of the cluster, estimated here by Monte Carlo
    rng = np.random.default_rng(0)
    ag6 = data.positions[groups["mol1"] - 1]
    radii = np.array([VDW_RADII[TYPE_MAP[t - 1]] for t in data.types[groups["mol1"] - 1]])
    lo, hi = ag6.min(0) - 2, ag6.max(0) + 2
    samples = rng.uniform(lo, hi, size=(200_000, 3))
    inside = np.zeros(len(samples), bool)
    for c, r in zip(ag6, radii):
        inside |= ((samples - c) ** 2).sum(1) < r * r
    v_cluster = inside.mean() * np.prod(hi - lo)
    mass_meoh = MASSES["C"] + 4 * MASSES["H"] + MASSES["O"]
    density = n_meoh * mass_meoh / AVOGADRO / ((8000.0 - v_cluster) * 1e-24)
    assert density == pytest.approx(0.787, rel=0.02)
    assert result.solvent_density_g_cm3 == pytest.approx(0.787, rel=0.02)
    report = json.loads((result.outdir / "build.json").read_text())
    assert "GFN2-xTB" not in report["molecules"]["methanol"].get("relaxed", "")


def test_ag6l6_core_geometry_at_the_papers_distances(built):
    data = read_data(built["ag6l6_methanol_liquid"].data_path)
    ag = data.positions[:6]
    d = np.linalg.norm(ag[:, None] - ag[None], axis=-1)
    edges = np.sort(d[np.triu_indices(6, 1)])
    assert np.allclose(edges[:12], 2.97, atol=0.02)          # octahedron: 12 edges
    assert np.allclose(edges[12:], 2.97 * np.sqrt(2), atol=0.05)  # 3 body diagonals
    # the cluster sits at the box centre
    assert np.allclose(data.positions[:36].mean(0), 10.0, atol=1e-6)


def test_thirty_dispersed_dimers(tmp_path):
    result = build("ag6/dimers30", tmp_path / "d30", seed=2)
    data = read_data(result.data_path)
    groups = Groups.read(result.groups_path)
    assert result.composition["Ag2L2"] == 30 and np.allclose(data.lengths, 50.0)
    assert result.solvent_density_g_cm3 == pytest.approx(0.787, rel=0.02)
    # every pair of dimers at least 6 A apart (minimum image), checked atom by atom
    dimers = [data.positions[groups[f"mol{k}"] - 1] for k in range(1, 31)]
    closest = np.inf
    for a in range(30):
        for b in range(a + 1, 30):
            delta = dimers[a][:, None] - dimers[b][None]
            delta -= 50.0 * np.round(delta / 50.0)
            closest = min(closest, np.sqrt((delta**2).sum(-1)).min())
    assert closest >= 6.0
    assert result.closest_contact >= 2.0


def test_lammps_and_mdanalysis_read_the_same_system(built):
    from nucleate.runtime import lammps_class
    import MDAnalysis

    path = built["monomer_dimer"].data_path
    ours = read_data(path)
    lmp = lammps_class()(cmdargs=["-log", "none", "-screen", "none"])
    try:
        lmp.command("units metal")
        lmp.command("atom_style atomic")
        lmp.command("atom_modify map array sort 0 0.0")
        lmp.command(f"read_data {path}")
        lmp.command("pair_style zero 6.0")
        lmp.command("pair_coeff * *")
        ids = np.array(lmp.numpy.extract_atom("id"))
        order = np.argsort(ids)
        x = np.array(lmp.numpy.extract_atom("x"))[order]
        types = np.array(lmp.numpy.extract_atom("type"))[order]
        masses = np.array(lmp.numpy.extract_atom("mass"))[1:]
        boxlo, boxhi, *_ = lmp.extract_box()
    finally:
        lmp.close()
    assert np.array_equal(ids[order], np.arange(1, 733))
    assert np.allclose(x, ours.positions, atol=1e-6)
    assert np.array_equal(types, ours.types)
    assert np.allclose(masses, [MASSES[el] for el in TYPE_MAP], atol=1e-5)
    assert np.allclose(np.array(boxhi) - np.array(boxlo), 20.0)

    u = MDAnalysis.Universe(str(path), format="DATA", atom_style="id type x y z")
    assert np.array_equal(u.atoms.ids, ours.ids)
    assert np.allclose(u.atoms.positions, ours.positions, atol=1e-4)
    assert np.array_equal(u.atoms.types.astype(int), ours.types)
    assert np.allclose(u.atoms.masses, [MASSES[TYPE_MAP[t - 1]] for t in ours.types], atol=1e-4)
    assert np.allclose(u.dimensions[:3], 20.0)


def test_same_seed_same_box_other_seed_other_box(tmp_path):
    a = build("ag6/monomer_dimer", tmp_path / "a", seed=7)
    b = build("ag6/monomer_dimer", tmp_path / "b", seed=7)
    c = build("ag6/monomer_dimer", tmp_path / "c", seed=8)
    pa, pb, pc = (read_data(r.data_path).positions for r in (a, b, c))
    assert np.array_equal(pa, pb)
    assert not np.allclose(pa, pc)


def test_study_ag6l6_box_has_150_methanol_above_liquid_density(tmp_path):
    result = build("ag6/ag6l6_methanol", tmp_path / "ag6")
    assert result.composition == {"Ag6L6": 1, "methanol": 150} and result.natoms == 36 + 900
    whole_box_meoh = 150 * (MASSES["C"] + 4 * MASSES["H"] + MASSES["O"]) / AVOGADRO / 8000e-24
    assert whole_box_meoh / 0.787 == pytest.approx(1.27, abs=0.01)  # "about 26% above" liquid methanol
    assert result.closest_contact >= 2.0
