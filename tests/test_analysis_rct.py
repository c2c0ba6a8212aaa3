"""c(t) with the bias it belongs to (issue 19, 1b).

METAD computes a step's bias before adding that step's hill, and prints rct after updating it,
so PLUMED's own LABEL.rbias(t) = LABEL.bias(t) - LABEL.rct(t - 1).  Weights rebuilt from the
bias and rct columns, or from the bias and c(t) computed from HILLS, must equal PLUMED's printed
rbias (up to its 6 printed decimals; HILLS on METAD's own grid).  With the same row's rct they
would be off by the c(t) increment of every hill (checked, so the test can fail).
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis_runs import plumed_run, random_walk
from nucleate.analysis.fes_grid import GridSpec
from nucleate.analysis.hills import read_hills
from nucleate.analysis.plumed_files import read_plumed
from nucleate.analysis.reweight import Reweighter

KT = 2.494339  # METAD TEMP=300


@pytest.fixture(scope="module", params=[1, 2])
def metad_run(tmp_path_factory, request):
    """PRINT STRIDE 1 and 2 with PACE 4: every c(t) update falls on a printed row."""
    work = tmp_path_factory.mktemp(f"rct{request.param}")
    return plumed_run(work, ["p: POSITION ATOM=1 NOPBC",
                             "metad: METAD ARG=p.x SIGMA=0.1 HEIGHT=1.0 PACE=4 BIASFACTOR=8 TEMP=300 FILE=@HILLS "
                             "CALC_RCT RCT_USTRIDE=1 GRID_MIN=-3 GRID_MAX=3 GRID_BIN=300",
                             f"PRINT ARG=p.x,metad.bias,metad.rbias,metad.rct STRIDE={request.param} FILE=@COLVAR"],
                      random_walk(2000, seed=11))


def test_bias_minus_previous_rct_is_plumeds_rbias(metad_run):
    colvar = read_plumed(metad_run / "COLVAR")
    bias, rct, rbias = (colvar.column(c) for c in ("metad.bias", "metad.rct", "metad.rbias"))
    assert np.abs(bias - rct - rbias).max() > 0.05  # the same row's rct would be wrong by this much
    ours = Reweighter(colvar, ["p.x"], ["metad.bias"], KT).weighted_samples()
    theirs = Reweighter(colvar, ["p.x"], ["metad.rbias"], KT).weighted_samples()
    assert "metad.bias - metad.rct of the previous row" in ours.weighting
    assert np.abs(ours.log_weights - theirs.log_weights).max() * KT < 2.1e-6


def test_skipped_rows_still_use_the_row_before(metad_run):
    colvar = read_plumed(metad_run / "COLVAR")
    ours = Reweighter(colvar, ["p.x"], ["metad.bias"], KT, skip=0.37).weighted_samples()
    start = len(colvar) - len(ours)
    assert np.abs(ours.log_weights * KT - colvar.column("metad.rbias")[start:]).max() < 2.1e-6


def test_ct_from_hills_is_subtracted_before_the_steps_hill(metad_run):
    colvar = read_plumed(metad_run / "COLVAR", columns=["time", "p.x", "metad.bias", "metad.rbias"])
    hills = read_hills(metad_run / "HILLS")
    grid = GridSpec(("p.x",), (-3.0,), (3.0,), (300,), (False,))  # METAD's own grid: the same sums
    only_bias = read_plumed(metad_run / "COLVAR", columns=["time", "p.x", "metad.bias"])
    ours = Reweighter(only_bias, ["p.x"], ["metad.bias"], KT, hills=hills, ct_grid=grid).weighted_samples()
    assert "c(t) from" in ours.weighting[0]
    assert np.abs(ours.log_weights * KT - colvar.column("metad.rbias")).max() < 5e-6
