"""The new user's path: build a study box, name a preset (or CVs) in the spec, read the generated
PLUMED input, run it."""

from __future__ import annotations

import numpy as np
import pytest

from nucleate.engine.render import render_run
from nucleate.engine.runner import execute
from nucleate.engine.spec import RunSpec
from nucleate.systems import Groups, build


@pytest.fixture(scope="module")
def monomer_box(tmp_path_factory):
    return build("ag6/monomer_dimer", tmp_path_factory.mktemp("box") / "box", seed=7)


def _spec(box, plumed):
    return RunSpec.from_dict({
        "name": "preset-run",
        "system": {"data": str(box.data_path), "groups": str(box.groups_path), "type_map": ["Ag", "S", "N", "C", "H", "O"]},
        "potential": {"pair_style": "zero 6.0", "pair_coeff": ["* *"]},
        "md": {"temperature_K": 300.0, "timestep_fs": 0.5, "steps": 4, "thermostat": "nose-hoover",
               "tdamp_fs": 5.0, "seed": 11},
        "output": {"thermo": 2, "dump": 2, "checkpoint": 4},
        "plumed": plumed,
    })


def test_preset_renders_readable_input_and_runs(monomer_box, tmp_path):
    run = render_run(_spec(monomer_box, {"preset": "ag6/monomer_dimer"}), tmp_path / "run")
    text = (run.path / "plumed.dat").read_text()
    assert text.startswith("#")  # commented header for PLUMED users
    assert "UNITS LENGTH=A ENERGY=kcal/mol TIME=fs" in text
    assert "TEMP=300" in text and "BIASFACTOR=25" in text and "SIGMA=0.05,0.01" in text
    # the preset's group names became the built box's atom ids: monomer 1's Ag with monomer 2's Ag and N
    groups = Groups.read(monomer_box.groups_path)
    ag1, ag2, n1, n2 = (int(groups[name][0]) for name in ("mol1_Ag", "mol2_Ag", "mol1_N", "mol2_N"))
    assert len({ag1, ag2, n1, n2}) == 4
    statements = {line.split(":", 1)[0]: line for line in text.splitlines() if not line.startswith("#")}
    for label, a, b in (("cn_agag", ag1, ag2), ("cn_ag1_n2", ag1, n2), ("cn_ag2_n1", ag2, n1)):
        assert f"GROUPA={a} GROUPB={b} " in statements[label] + " ", statements.get(label)
    execute(run.path)
    colvar = [l for l in (run.path / "COLVAR").read_text().splitlines() if not l.startswith("#")]
    assert len(colvar) >= 1


def test_cvs_and_protocol_in_the_spec(monomer_box, tmp_path):
    """'WT-MetaD on the Ag-N coordination and the methanol count around the box centre'."""
    plumed = {
        "units": {"length": "A", "energy": "kj/mol", "time": "ps"},
        "cvs": [
            {"name": "centre", "type": "fixed_point", "at": "box_centre"},
            {"name": "cn_agn", "type": "coordination", "a": "Ag", "b": "N", "r0": 3.25, "nn": 6, "mm": 8},
            {"name": "nsolv", "type": "solvent_count", "group": "solvent_O", "point": "centre", "r0": 3.0,
             "nn": 6, "mm": 10, "range": [0, 10]},
        ],
        "bias": {"protocol": "wtmetad", "args": ["cn_agn", "nsolv"], "pace": 2, "height": 1.0,
                 "sigma": [0.1, 0.2], "biasfactor": 10, "grid": "auto"},
        "print_stride": 1,
    }
    run = render_run(_spec(monomer_box, plumed), tmp_path / "cv-run")
    text = (run.path / "plumed.dat").read_text()
    assert "GROUPA=1,7 GROUPB=3,9" in text  # the Ag and N of the built box (molecule order)
    assert "CALC_RCT" in text and "TEMP=300" in text
    execute(run.path)
    header = (run.path / "COLVAR").read_text().splitlines()[0].split()
    for column in ("cn_agn", "nsolv", "metad.bias", "metad.rbias", "metad.rct"):
        assert column in header, column
    hills = np.loadtxt(run.path / "HILLS", comments="#", ndmin=2)
    assert len(hills) == 2  # steps 2 and 4
