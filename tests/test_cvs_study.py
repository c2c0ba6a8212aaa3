"""The ag6 presets against the study's own plumed.dat, both evaluated by PLUMED (`plumed driver`)
on the study's two starting configurations: s1, s2 / s3, s4 and the restraint distance must agree
to 1e-6 (PLUMED units of the inputs: A, kcal/mol), and so must every wall CV (as sets).

The groups come from `systems.import_data` when it exists; otherwise from the small fixture
below. Bonding decides everything except which Ag belongs to which ligand: dimer_octahedral's
conf.lmp is already partly aggregated (every S sits 2.4-2.7 A from two Ag), and two different
Ag2L2 ring assignments fit it equally well (total S-Ag 15.23 vs 15.24 A). The fixture therefore
takes the Ag-S / Ag-N bonds from the study's own per-molecule restraints (dags*, d*s, d*n), as a
system builder would record them.

The study's `dHH: DISTANCES GROUPA=Hgrp GROUPB=Hgrp MIN=...` monitor is dropped from its file in
the fast tests: it pairs every H with itself (so it is always 0), nothing reads it, and PLUMED 2.11
needs over 2 minutes to set up its 230,000 distances. The untouched files run through the engine in
tests/test_engine_study_files.py.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nucleate.errors import NucleateError
from nucleate.plumed_cvs import render_plumed
from nucleate.runtime import plumed_cli
from nucleate.systems import Groups, read_data

STUDY = Path(__file__).resolve().parent / "data" / "ag6_paper_inputs"  # vendored: the study's own inputs
TYPE_MAP = ["Ag", "S", "N", "C", "H", "O"]
MASSES = {"Ag": 107.8682, "S": 32.06, "N": 14.007, "C": 12.011, "H": 1.008, "O": 15.999}
# the study's typed nucleation points (A)
STUDY_C_BOX = {"monomer_dimer": [11.075, 10.526, 10.622], "dimer_octahedral": [10.63933, 9.75917, 9.83800]}

_COVALENT_A = {frozenset(p): cut for p, cut in [(("C", "H"), 1.35), (("N", "H"), 1.3), (("O", "H"), 1.3),
               (("C", "S"), 2.0), (("C", "N"), 1.6), (("C", "O"), 1.65)]}


def study_groups(folder: Path):
    data = read_data(folder / "conf.lmp")
    groups = Groups.from_types(data.types, TYPE_MAP, source=str(folder / "conf.lmp"))
    element = np.array(TYPE_MAP)[data.types - 1]
    bonds = _covalent_bonds(data, element) + _study_silver_bonds(folder / "plumed.dat")
    parent = list(range(data.natoms + 1))
    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    for i, j in bonds:
        parent[find(i)] = find(j)
    components = {}
    for atom in range(1, data.natoms + 1):
        components.setdefault(find(atom), []).append(atom)
    solute, solvent = [], []
    for atoms in sorted(components.values()):
        formula = sorted(element[np.array(atoms) - 1])
        (solvent if formula == ["C", "H", "H", "H", "H", "O"] else solute).append(atoms)
    molecules = []
    for k, atoms in enumerate(solute, start=1):
        groups.add(f"mol{k}", atoms)
        for el in TYPE_MAP:
            members = [a for a in atoms if element[a - 1] == el]
            if members:
                groups.add(f"mol{k}_{el}", members)
        n_ag = sum(element[a - 1] == "Ag" for a in atoms)
        molecules.append({"name": "AgL" if n_ag == 1 else f"Ag{n_ag}L{n_ag}", "atoms": atoms})
    solvent_ids = sorted(a for atoms in solvent for a in atoms)
    groups.add("solute", sorted(a for atoms in solute for a in atoms))
    groups.add("solvent", solvent_ids)
    for el in ("C", "O", "H"):
        groups.add(f"solvent_{el}", [a for a in solvent_ids if element[a - 1] == el])
    hydroxyl = {j if element[j - 1] == "H" else i for i, j in bonds
                if {element[i - 1], element[j - 1]} == {"O", "H"}}
    groups.add("solvent_HO", sorted(hydroxyl & set(solvent_ids)))
    groups.add("solvent_HC", [a for a in solvent_ids if element[a - 1] == "H" and a not in hydroxyl])
    molecules += [{"name": "methanol", "atoms": atoms} for atoms in solvent]
    groups.molecules = molecules
    return data, groups


def _covalent_bonds(data, element):
    heavy = np.flatnonzero(element != "Ag") + 1
    pos = data.positions
    L = data.lengths
    bonds = []
    for i in heavy:
        d = pos[heavy - 1] - pos[i - 1]
        d -= L * np.round(d / L)
        r = np.linalg.norm(d, axis=1)
        for j, rij in zip(heavy, r):
            if j > i:
                cut = _COVALENT_A.get(frozenset((element[i - 1], element[j - 1])))
                if cut and rij < cut:
                    bonds.append((int(i), int(j)))
    return bonds


def _study_silver_bonds(plumed_dat):
    """The Ag-S / Ag-N bonds the study itself restrains (its dags*, d*s, d*n distances)."""
    pairs = []
    for line in plumed_dat.read_text().splitlines():
        m = re.match(r"^(dags\d|d\ds|d\dn):\s+DISTANCE\s+ATOMS=(\d+),(\d+)", line.strip())
        if m:
            pairs.append((int(m.group(2)), int(m.group(3))))
    return pairs


COMPOSITION = {"monomer_dimer": {"AgL": 2}, "dimer_octahedral": {"Ag2L2": 3}}


def _solute_molecules(groups) -> set:
    return {frozenset(m["atoms"]) for m in groups.molecules if m["name"] != "methanol"}


def system(name: str):
    """Groups from systems.import_data when it finds the study's molecules, else the fixture."""
    folder = STUDY / name
    data, groups = study_groups(folder)
    try:
        from nucleate.systems import import_data
    except ImportError:
        return data, groups
    imported_data, imported = import_data(folder / "conf.lmp", TYPE_MAP, composition=COMPOSITION[name])
    if _solute_molecules(imported) == _solute_molecules(groups):
        return imported_data, imported
    return data, groups  # dimer_octahedral: bonding alone picks another, equally good, ring assignment


def write_driver_inputs(data, folder: Path) -> tuple[Path, Path]:
    xyz = folder / "conf.xyz"
    element = np.array(TYPE_MAP)[data.types - 1]
    lines = [str(data.natoms), " ".join(f"{x:.10f}" for x in data.lengths)]
    lines += [f"{e} {p[0]:.10f} {p[1]:.10f} {p[2]:.10f}" for e, p in zip(element, data.positions)]
    xyz.write_text("\n".join(lines) + "\n")
    mc = folder / "masses"
    mc.write_text("#! FIELDS index mass charge\n" + "".join(f"{i} {MASSES[e]} 0\n" for i, e in enumerate(element)))
    return xyz, mc


def driver(plumed_text: str, folder: Path, xyz: Path, mc: Path, timeout: float = 120) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plumed.dat").write_text(plumed_text)
    cmd, env = plumed_cli()
    env["OMP_NUM_THREADS"] = "1"  # the machine is shared; PLUMED's OpenMP threads only contend
    result = subprocess.run(cmd + ["driver", "--plumed", "plumed.dat", "--ixyz", str(xyz), "--length-units", "A",
                                   "--mc", str(mc)], cwd=folder, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def run_driver(plumed_text: str, folder: Path, xyz: Path, mc: Path, colvar: str) -> dict[str, float]:
    driver(plumed_text, folder, xyz, mc)
    return read_colvar(folder / colvar)


def read_colvar(path: Path) -> dict[str, float]:
    lines = path.read_text().splitlines()
    fields = lines[0].split()[3:]
    values = [float(v) for v in lines[1].split()[1:]]
    return dict(zip(fields, values))


def study_input(name: str, args: list[str]) -> str:
    """The study's own file, with only its PRINT replaced so values come out with 12 decimals."""
    text = without_dhh((STUDY / name / "plumed.dat").read_text())
    text = re.sub(r"^PRINT .*$", f"PRINT STRIDE=1 FILE=study.colvar FMT=%.12f ARG={','.join(args)}", text, flags=re.M)
    return text.replace("FILE=HILLS", "FILE=study.hills")


def without_dhh(text: str) -> str:
    return re.sub(r"^dHH: DISTANCES .*$", "", text, flags=re.M)


def preset_input(name: str, data, groups) -> str:
    # monitor_stride: null puts the study's coordinations (the presets print them to GUARDS every 1000
    # steps) back in COLVAR, beside the CVs they are compared with
    config = {"preset": f"ag6/{name}",
              "overrides": {"cvs": {"c_box": {"at": STUDY_C_BOX[name]}}, "print_stride": 1, "print_format": "%.12f",
                            "guards": {"monitor_stride": None}}}
    return render_plumed(config, groups, data, temperature_K=300.0)


# the study's label -> ours; families compared as sets of values
PAIRS = {
    "monomer_dimer": {
        "scalars": {"s1": "s1", "cn": "s2", "d": "d_com", "cn_CH3_lowest": "guard_ch_lowest", "cn_CO_lowest": "guard_co_lowest"},
        "families": {"d_core": ["d1", "d2", "d3", "d4", "d5", "d6"], "a_san": ["a1", "a2"],
                     "d_ags": ["dags1", "dags2"], "d_sc": ["dsc1", "dsc2"], "d_nh": ["dnh1", "dnh2"]},
    },
    "dimer_octahedral": {
        "scalars": {"s1": "s3", "cn": "s4", "d": "d_com", "cn_CH3_lowest": "guard_ch_lowest", "cn_CO_lowest": "guard_co_lowest"},
        "families": {"cn_s_other": [f"S{k}" for k in range(1, 7)], "a_pair": ["a1", "a2", "a3"],
                     "a_trans": ["a4", "a5", "a6"], "d_ag": [f"d{k}" for k in range(1, 7)],
                     "d_s": [f"d{k}cs" for k in range(1, 7)], "d_n": [f"d{k}cn" for k in range(1, 7)],
                     "d_nag": [f"d{k}n" for k in range(1, 7)], "d_sag": [f"d{k}s" for k in range(1, 7)],
                     "cn_s_ag": [f"cn_s{k}" for k in range(1, 7)]},
    },
}


@pytest.mark.parametrize("name", ["monomer_dimer", "dimer_octahedral"])
def test_preset_matches_study(name, tmp_path):
    data, groups = system(name)
    xyz, mc = write_driver_inputs(data, tmp_path)
    pairs = PAIRS[name]
    # PLUMED 2.11 prints the component x.lowest as x_lowest
    study_args = [a.replace("_lowest", ".lowest") for a in pairs["scalars"]]
    study_args += [a for fam in pairs["families"].values() for a in fam]
    theirs = run_driver(study_input(name, study_args), tmp_path / "study", xyz, mc, "study.colvar")
    ours = run_driver(preset_input(name, data, groups), tmp_path / "ours", xyz, mc, "COLVAR")
    for their_label, our_label in pairs["scalars"].items():
        assert ours[our_label] == pytest.approx(theirs[their_label], abs=1e-6), (their_label, our_label)
    for family, their_labels in pairs["families"].items():
        mine = sorted(v for k, v in ours.items() if re.fullmatch(rf"{family}_\d+", k))
        assert len(mine) == len(their_labels), family
        np.testing.assert_allclose(mine, sorted(theirs[t] for t in their_labels), atol=1e-6, err_msg=family)
    # the CVs are not trivially zero: the comparison has teeth
    assert min(abs(theirs["s1"]), abs(theirs["cn"])) > 1e-3


@pytest.mark.parametrize("name", ["monomer_dimer", "dimer_octahedral"])
def test_preset_walls_as_pairs_keep_the_bias_and_forces(name, monkeypatch):
    """The presets' walls on distance families, computed as COORDINATION ... PAIR (issue 16), give the same static
    bias (walls, restraint, guards) and forces as PLUMED's own walls on the DISTANCE actions, here with the solutes
    moved so that the walls push and the nucleation point moved off the Ag centre."""
    from nucleate.plumed_cvs import restraints
    from nucleate.plumed_cvs.static_bias import StaticBias

    data, groups = system(name)
    config = {"preset": f"ag6/{name}", "overrides": {"cvs": {"c_box": {"at": [9.0, 9.5, 9.0]}}}}
    rng = np.random.default_rng(7)
    moved = data.positions.copy()
    solute = groups["solute"] - 1
    moved[solute] += rng.normal(0.0, 0.4, (solute.size, 3))
    results = []
    for fused in (True, False):
        monkeypatch.setattr(restraints, "PAIR_WALLS", fused)
        with StaticBias(config, groups, data) as static:
            assert ("_pairs: COORDINATION" in static.text) == fused
            results.append([static.energy_forces(x) for x in (data.positions, moved)])
    for (e_fused, f_fused), (e_plain, f_plain) in zip(*results):
        assert e_fused == pytest.approx(e_plain, rel=1e-10) and e_plain > 1.0
        np.testing.assert_allclose(f_fused, f_plain, rtol=1e-8, atol=1e-8)


def _run_study_file(name: str, tmp_path: Path, text: str, timeout: float) -> Path:
    data, _ = system(name)
    xyz, mc = write_driver_inputs(data, tmp_path)
    driver(text, tmp_path / "run", xyz, mc, timeout=timeout)
    header = (tmp_path / "run" / "colvar").read_text().splitlines()[0].split()
    assert "metad.bias" in header and "res.bias" in header and "s1" in header
    assert (tmp_path / "run" / "HILLS").exists()
    return tmp_path / "run"


@pytest.mark.parametrize("name", ["monomer_dimer", "dimer_octahedral"])
def test_study_files_parse_and_compute(name, tmp_path):
    """The study's plumed.dat (minus its dHH monitor, see above) runs one step in plumed driver."""
    text = without_dhh((STUDY / name / "plumed.dat").read_text()).replace("ARG=*", "ARG=s1,cn,metad.bias,res.bias")
    _run_study_file(name, tmp_path, text, timeout=120)


def test_study_virtual_atom_727_is_the_ag_centre(tmp_path):
    """The study's ANGLE ATOMS=1,13,727 uses atom 727 = its first virtual atom, the Ag COM `c`."""
    data, _ = system("dimer_octahedral")
    xyz, mc = write_driver_inputs(data, tmp_path)
    text = study_input("dimer_octahedral", ["a1"]).replace("PRINT STRIDE", "a1c: ANGLE ATOMS=1,13,c\nPRINT STRIDE")
    text = text.replace("ARG=a1\n", "ARG=a1,a1c\n")
    values = run_driver(text, tmp_path / "run", xyz, mc, "study.colvar")
    assert values["a1"] == pytest.approx(values["a1c"], abs=1e-9)


def test_fixed_point_rule_is_the_study_point_within_tolerance():
    """dimer_octahedral's typed c_box is the Ag centroid of its conf.lmp to 1.3e-4 A."""
    data, groups = system("dimer_octahedral")
    centroid = data.positions[groups["Ag"] - 1].mean(axis=0)
    assert np.max(np.abs(centroid - STUDY_C_BOX["dimer_octahedral"])) < 1.3e-4


def test_preset_needs_molecules():
    data = read_data(STUDY / "monomer_dimer" / "conf.lmp")
    groups = Groups.from_types(data.types, TYPE_MAP)
    with pytest.raises(NucleateError, match="mol1_Ag"):
        render_plumed({"preset": "ag6/monomer_dimer"}, groups, data, temperature_K=300)


def test_example_schema_renders_and_runs(tmp_path):
    """plumed_cvs/presets/example.yaml (the documented schema) renders on the study's system and runs."""
    import yaml

    from nucleate.plumed_cvs import plumed_units

    example = Path(__file__).parents[1] / "plumed_cvs" / "presets" / "example.yaml"
    config = yaml.safe_load(example.read_text())["plumed"]
    config["print_stride"] = 1
    assert plumed_units(config) == {"length": "A", "energy": "kcal/mol", "time": "fs"}
    assert plumed_units({"preset": "ag6/monomer_dimer"})["energy"] == "kcal/mol"
    data, groups = system("monomer_dimer")
    xyz, mc = write_driver_inputs(data, tmp_path)
    values = run_driver(render_plumed(config, groups, data, temperature_K=300), tmp_path / "run", xyz, mc, "COLVAR")
    assert values["d_sc_1"] == pytest.approx(1.75, abs=0.01)     # the S-C bond of ligand 1
    assert "metad.rct" in values and "nsolv" in values
