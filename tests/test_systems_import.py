"""Importing data files (the study's own), specs and the errors a user can cause."""

from pathlib import Path

import numpy as np
import pytest

from nucleate.errors import NucleateError
from nucleate.systems import Groups, build, import_data, read_data, write_data
from nucleate.systems.cli import register  # noqa: F401  (the CLI module must import cleanly)

STUDY = Path(__file__).resolve().parent / "data" / "ag6_paper_inputs"  # vendored: the study's own inputs
STUDY_TYPE_MAP = "Ag,S,N,C,H,O"  # the authors' conf.lmp files have no Masses section


def test_monomer_dimer_conf_is_two_agl_and_120_methanol():
    data, groups = import_data(STUDY / "monomer_dimer/conf.lmp", "Ag,S,N,C,H,O", composition={"AgL": 2, "methanol": 120})
    names = [m["name"] for m in groups.molecules]
    assert names.count("AgL") == 2 and names.count("methanol") == 120
    # the authors' PLUMED file: Osol = 17-732:6, Hsol (hydroxyl H) = 18-732:6; ligand 1 = Ag1 S3 N5 C7 H9 H10
    assert np.array_equal(groups["solvent_O"], np.arange(17, 733, 6))
    assert np.array_equal(groups["solvent_HO"], np.arange(18, 733, 6))
    assert list(groups["mol1"]) == [1, 3, 5, 7, 9, 10]
    assert list(groups["mol2"]) == [2, 4, 6, 8, 11, 12]
    assert np.array_equal(groups["solute"], np.arange(1, 13))


def test_dimer_octahedral_conf_is_three_dimers_and_115_methanol():
    data, groups = import_data(STUDY / "dimer_octahedral/conf.lmp", STUDY_TYPE_MAP,
                               composition={"Ag2L2": 3, "methanol": 115})
    names = [m["name"] for m in groups.molecules]
    assert names.count("Ag2L2") == 3 and names.count("methanol") == 115
    # O of methanol: the authors' O_S group 41-726:6
    assert np.array_equal(groups["solvent_O"], np.arange(41, 727, 6))
    for k in (1, 2, 3):
        assert groups[f"mol{k}_Ag"].size == 2 and groups[f"mol{k}_S"].size == 2 and groups[f"mol{k}_H"].size == 4
    assert sorted(np.concatenate([groups[f"mol{k}_Ag"] for k in (1, 2, 3)])) == [1, 2, 3, 12, 13, 14]


def test_auto_recognition_and_impossible_expectation():
    _, groups = import_data(STUDY / "dimer_octahedral/conf.lmp", STUDY_TYPE_MAP)
    assert [m["name"] for m in groups.molecules][0] == "Ag6L6"  # the authors' start is already a distorted octahedron
    with pytest.raises(NucleateError, match="cannot recognise 5 AgL"):
        import_data(STUDY / "monomer_dimer/conf.lmp", STUDY_TYPE_MAP, composition={"AgL": 5})


def test_a_data_file_without_masses_needs_a_type_map(tmp_path):
    """No guessed (study) order: the elements come from the masses or from --type-map."""
    from nucleate.cli import main

    with pytest.raises(NucleateError, match=r"conf.lmp: cannot tell the elements of its 6 atom types \(it has no Masses "
                       r"section\); give them in type order with --type-map"):
        import_data(STUDY / "monomer_dimer/conf.lmp")
    assert main(["import-system", str(STUDY / "monomer_dimer/conf.lmp"), "-o", str(tmp_path / "imp")]) == 2
    assert not (tmp_path / "imp").exists()
    x = np.array([[1.0, 1.0, 1.0], [4.0, 4.0, 4.0]])
    odd = write_data(tmp_path / "odd.data", x, [1, 2], [10, 10, 10], {"Ar": 39.948, "Ne": 20.18}, ["Ar", "Ne"])
    text = odd.read_text().replace("20.18", "77.7")  # a mass of no known element
    odd.write_text(text)
    with pytest.raises(NucleateError, match="types 2 have masses of no known element"):
        import_data(odd)
    assert import_data(odd, "Ar,Xe")[1].type_map == ["Ar", "Xe"]


def test_box_type_map_defaults_to_its_elements_presets_name_the_study_map(tmp_path):
    from nucleate.systems.spec import BoxSpec, load_box_spec, presets

    methanol = {"box": 14.0, "seed": 3, "solvent": {"molecule": "methanol", "count": 20}}
    assert load_box_spec(methanol).type_map == ["C", "H", "O"]  # order of first appearance in the molecule
    spec = load_box_spec({"box": 20, "solutes": [{"molecule": "AgL"}], "solvent": {"molecule": "methanol", "count": 5}})
    assert spec.type_map == ["Ag", "S", "N", "C", "H", "O"]  # solutes first, then what the solvent adds
    assert BoxSpec(box=np.full(3, 14.0), solvent=load_box_spec(methanol).solvent).type_map == ["C", "H", "O"]
    study = [name for name in presets() if name.startswith("ag6/")]
    assert len(study) >= 4
    for name in study:  # the DeePMD models' order, which the default would not give every box
        assert load_box_spec(name).type_map == ["Ag", "S", "N", "C", "H", "O"], name
    built = build(methanol, tmp_path / "meoh")
    data = read_data(built.data_path)
    assert data.ntypes == 3 and Groups.read(built.groups_path).type_map == ["C", "H", "O"]
    assert sorted(data.masses.values()) == pytest.approx([1.00794, 12.0107, 15.9994])


def test_arbitrary_data_file_still_gets_element_groups(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 12, size=(40, 3))
    path = write_data(tmp_path / "argon.data", x, np.ones(40, int), [12, 12, 12], {"Ar": 39.948}, ["Ar"])
    data, groups = import_data(path)
    assert groups.type_map == ["Ar"] and np.array_equal(groups["Ar"], np.arange(1, 41))
    assert np.allclose(data.positions, x, atol=1e-7)


def test_write_data_round_trip_keeps_box_types_and_masses(tmp_path):
    x = np.array([[0.5, 1.0, 1.5], [2.0, 2.5, 3.0], [9.9, 0.1, 4.0]])
    path = write_data(tmp_path / "s.data", x, [1, 6, 5], [10, 11, 12],
                      {"Ag": 107.8682, "S": 32.065, "N": 14.0067, "C": 12.0107, "H": 1.00794, "O": 15.9994},
                      ["Ag", "S", "N", "C", "H", "O"])
    data = read_data(path)
    assert data.ntypes == 6 and list(data.types) == [1, 6, 5]
    assert np.allclose(data.lengths, [10, 11, 12]) and np.allclose(data.positions, x)
    assert data.masses[1] == pytest.approx(107.8682) and data.masses[6] == pytest.approx(15.9994)


def test_type_map_lacking_an_element_is_refused(tmp_path):
    spec = {"box": 20, "solutes": [{"molecule": "AgL"}], "solvent": {"molecule": "methanol", "count": 5},
            "type_map": ["Ag", "S", "N", "C", "H"]}
    with pytest.raises(NucleateError, match="lacks O"):
        build(spec, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_unknown_molecule_and_preset_list_the_choices(tmp_path):
    with pytest.raises(NucleateError, match="Ag6L6.*methanol"):
        build({"box": 20, "solutes": [{"molecule": "Au25"}]}, tmp_path / "x")
    with pytest.raises(NucleateError, match="ag6/monomer_dimer"):
        build("ag6/nope", tmp_path / "y")


def test_box_too_small_says_what_fits_and_leaves_nothing(tmp_path):
    with pytest.raises(NucleateError, match=r"at most \d+ fit"):
        build({"box": 12, "solvent": {"molecule": "methanol", "count": 300}}, tmp_path / "x")
    with pytest.raises(NucleateError, match="could place only"):
        build({"box": 15, "solutes": [{"molecule": "Ag2L2", "count": 40, "placement": "dispersed",
                                       "min_separation": 6.0}]}, tmp_path / "y")
    assert list(tmp_path.iterdir()) == []


def test_toml_spec_and_cli(tmp_path, capsys):
    from nucleate.cli import main

    spec = tmp_path / "box.toml"
    spec.write_text('box = 16.0\nseed = 3\n[[solutes]]\nmolecule = "AgL"\nplacement = "center"\n'
                    '[solvent]\nmolecule = "methanol"\ndensity = "liquid"\n')
    assert main(["build", str(spec), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "1 AgL" in out and "closest intermolecular contact" in out
    groups = Groups.read(tmp_path / "out" / "groups.json")
    assert groups.molecules[0]["name"] == "AgL" and groups["mol1"].size == 6
    assert main(["build", str(spec), "-o", str(tmp_path / "out")]) == 2  # exists: refuses without --force
    assert main(["import-system", str(tmp_path / "out" / "system.data"), "-o", str(tmp_path / "imp"),
                 "--expect", "AgL:1"]) == 0
    again = Groups.read(tmp_path / "imp" / "groups.json")
    assert np.array_equal(again["mol1"], groups["mol1"]) and np.array_equal(again["solvent_HO"], groups["solvent_HO"])
