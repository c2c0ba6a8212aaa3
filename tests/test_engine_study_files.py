"""The study's own plumed.dat files, unchanged, run through the engine for a few steps.

No DeePMD model is needed for that (the study's models were never published): the potential is
`pair_style zero`, so the atoms move under the study's walls and restraint alone.  The check is
that PLUMED accepts the files exactly as published through our coupling (UNITS A/kcal/mol/fs,
TEMP, COMBINE, LOWEST guards, walls, restraint, METAD) and that its first COLVAR row agrees with
an independent evaluation of s1 by our Python switching function.  About 3 minutes per file:
PLUMED 2.11 spends them on the study's 490x490 `dHH` distance matrix and on PRINT ARG=*.
"""

from __future__ import annotations

import numpy as np
import pytest

from nucleate.analysis.switching import RationalSwitch
from nucleate.engine.render import render_run
from nucleate.engine.runner import execute
from nucleate.engine.spec import RunSpec
from nucleate.systems import read_data

from conftest import REFERENCE

STUDY = REFERENCE / "ag6_paper_inputs"


def _s1_monomer_dimer(positions, box):
    """s1 = CN(Ag1-Ag2) + CN(Ag1-N6) + CN(Ag2-N5), R_0=3.25 A, NN=6, MM=8, minimum image."""
    switch = RationalSwitch(r0=3.25, nn=6, mm=8)
    total = 0.0
    for i, j in ((1, 2), (1, 6), (2, 5)):
        d = positions[j - 1] - positions[i - 1]
        d -= box * np.round(d / box)
        total += float(switch(np.array([np.linalg.norm(d)]))[0])
    return total


@pytest.mark.slow
@pytest.mark.parametrize("name", ["monomer_dimer", "dimer_octahedral"])
def test_study_plumed_file_runs_unchanged_through_the_engine(name, tmp_path):
    folder = STUDY / name
    spec = RunSpec.from_dict({
        "name": f"study-{name}",
        "system": {"data": str(folder / "conf.lmp"), "type_map": ["Ag", "S", "N", "C", "H", "O"]},
        "potential": {"pair_style": "zero 6.0", "pair_coeff": ["* *"]},
        # the study's settings: 0.5 fs, Nose-Hoover at 300 K with tdamp = 100 * 0.05e-3 ps
        "md": {"temperature_K": 300.0, "timestep_fs": 0.5, "steps": 2, "thermostat": "nose-hoover",
               "tdamp_fs": 5.0, "seed": 21734},
        "output": {"thermo": 1, "dump": 1, "checkpoint": 2},
        "plumed": {"file": str(folder / "plumed.dat")},
    })
    run = render_run(spec, tmp_path / name)
    assert (run.path / "plumed.dat").read_bytes() == (folder / "plumed.dat").read_bytes()
    result = execute(run.path)
    assert result.status == "completed" and result.end_step == 2

    lines = (run.path / "colvar").read_text().splitlines()
    fields = lines[0].split()[2:]
    first = np.array(lines[1].split(), dtype=float)
    row = dict(zip(fields, first))
    assert row["time"] == 0.0
    # PRINT ARG=* also prints every element of the study's matrices (~900,000 columns, some of
    # them NaN by PLUMED's own definition, e.g. an atom's distance to itself); check what matters
    for column in ("s1", "cn", "metad.bias", "res.bias", "cn_wall.bias"):
        assert column in row and np.isfinite(row[column]), column
    assert row["metad.bias"] == 0.0  # no hill before the first PACE
    if name == "monomer_dimer":
        data = read_data(folder / "conf.lmp")
        assert row["s1"] == pytest.approx(_s1_monomer_dimer(data.positions, data.lengths), abs=2e-6)
    thermo = np.loadtxt(run.path / "thermo.csv", comments="#", ndmin=2)
    assert thermo.shape[0] == 3 and np.isfinite(thermo).all()
