"""Free energies on 1 or 2 of several biased CVs (issue 19, 5): a METAD on three CVs, reweighted
onto one and onto two of them from the bias PLUMED printed (LABEL.rbias, or LABEL.bias with the
previous row's LABEL.rct), equals the weighted sums over the COLVAR's rows; its 3-CV HILLS file,
projected onto q by `fes --idw q`, equals `plumed sum_hills --idw q`.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis_runs import plumed_run, random_walk
from nucleate.analysis.fes_grid import read_grid
from nucleate.analysis.kernel_density import weighted_histogram
from nucleate.analysis.plumed_files import read_plumed
from nucleate.cli import main

KT = 2.494339


@pytest.fixture(scope="module")
def three_cv_run(tmp_path_factory):
    return plumed_run(tmp_path_factory.mktemp("proj"), [
        "p: POSITION ATOM=1 NOPBC", "q: CUSTOM ARG=p.x,p.y FUNC=x*y PERIODIC=NO",
        "metad: METAD ARG=p.x,p.y,q SIGMA=0.2,0.2,0.2 HEIGHT=1.0 PACE=5 BIASFACTOR=8 TEMP=300 FILE=@HILLS CALC_RCT "
        "GRID_MIN=-2,-2,-3 GRID_MAX=2,2,3 GRID_BIN=20,20,30",
        "PRINT ARG=p.x,p.y,q,metad.* STRIDE=1 FILE=@COLVAR"], random_walk(2000, seed=8))


@pytest.mark.parametrize("bias", ["metad.rbias", "metad.bias"])
@pytest.mark.parametrize("cvs, bins", [("q", "24"), ("p.x,q", "16,24")])
def test_reweighting_onto_some_of_the_biased_cvs(three_cv_run, tmp_path, bias, cvs, bins):
    out = tmp_path / "fes.dat"
    lows, highs = ("-1.2", "1.2") if cvs == "q" else ("-1.5,-1.2", "1.5,1.2")
    assert main(["reweight", str(three_cv_run / "COLVAR"), "--cv", cvs, "--bias", bias, "--kt", str(KT),
                 "--histogram", "--bin", bins, "--min", lows, "--max", highs, "--no-plot", "-o", str(out)]) == 0
    grid, values = read_grid(out)
    table = read_plumed(three_cv_run / "COLVAR")
    rbias = table.column("metad.rbias")
    samples = np.column_stack([table.column(c) for c in cvs.split(",")])
    density = weighted_histogram(grid, samples, np.exp((rbias - rbias.max()) / KT))
    seen = density > 0
    expected = -KT * np.log(density[seen])
    # rbias is printed with 6 decimals, bias - rct rebuilds it to 2e-6 kJ/mol
    assert np.abs(values["free"][seen] - (expected - expected.min())).max() < 1e-5
    assert seen.sum() > 10 and np.ptp(expected) > 1.0


def test_three_cv_hills_projected_like_plumed_sum_hills(three_cv_run, tmp_path):
    """The run's 3-CV HILLS file, projected onto q (`fes --idw q`), equals `plumed sum_hills --idw q`."""
    from test_analysis_sum_hills import plumed_sum_hills

    options = ["--idw", "q", "--kt", str(KT), "--bin", "30,30,40"]
    reference = plumed_sum_hills(three_cv_run / "HILLS", tmp_path, *options)
    out = tmp_path / "f.dat"
    assert main(["fes", str(three_cv_run / "HILLS"), *options, "--no-plot", "-o", str(out)]) == 0
    grid, values = read_grid(out)
    plumed_grid, theirs = read_grid(reference)
    assert grid.names == plumed_grid.names == ("q",) and grid.shape == plumed_grid.shape
    assert np.abs(values["free"] - theirs["projection"]).max() < 1e-6
