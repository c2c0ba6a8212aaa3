"""Reweighted Gaussian KDE evaluated exactly on the grid, for any bandwidth (issue 19, 1e).

- kernel_density equals the plain sum over samples of w exp(-d^2 / 2h^2) at every grid point
  (nearest-image distances on periodic CVs), for bandwidths from 0.2 to 5 grid spacings.
- `nucleate reweight --bandwidth` equals FES_from_Reweighting.py (the published OPES tutorial
  script) on a COLVAR written by PLUMED, free energies and block errors alike, in 1D and in 2D
  with a periodic CV (the script prints 6 decimals).
- Without --bandwidth the bandwidth is Silverman's rule on the Kish effective sample size, and
  it is printed and written into the file.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import REFERENCE

from analysis_runs import plumed_run, random_walk
from nucleate.analysis.fes_grid import GridSpec, read_grid, read_grid_file
from nucleate.analysis.kernel_density import kernel_density, rule_of_thumb_bandwidth
from nucleate.cli import main

KT = 2.494339
PEER = REFERENCE / "peer-tools" / "FES_from_Reweighting.py"


def brute_force(grid, samples, weights, bandwidth):
    """sum_n w_n prod_k exp(-d_k^2 / 2 h_k^2) at each grid point, one point at a time."""
    points = np.stack([m.ravel() for m in grid.mesh()], axis=1)
    out = np.empty(len(points))
    for i, point in enumerate(points):
        exponent = np.zeros(len(samples))
        for k in range(grid.ndim):
            d = point[k] - samples[:, k]
            if grid.periods[k] is not None:
                d = d - grid.periods[k] * np.round(d / grid.periods[k])
            exponent -= 0.5 * (d / bandwidth[k]) ** 2
        out[i] = np.sum(weights * np.exp(exponent))
    return out.reshape(grid.shape)


GRIDS = {
    "1d": GridSpec(("x",), (-2.0,), (2.0,), (40,), (False,)),
    "1d periodic": GridSpec(("t",), (-math.pi,), (math.pi,), (36,), (True,)),
    "2d window": GridSpec(("t", "x"), (2.0, -2.0), (4.5, 2.0), (25, 20), (False, False), (2 * math.pi, None)),
}


@pytest.mark.parametrize("name", list(GRIDS))
@pytest.mark.parametrize("spacings", [0.2, 0.5, 1.0, 2.0, 5.0])
def test_kernel_density_is_the_exact_kernel_sum(name, spacings):
    grid = GRIDS[name]
    rng = np.random.default_rng(7)
    samples = np.column_stack([rng.uniform(-3.5, 3.5, 5000) for _ in range(grid.ndim)])
    weights = np.exp(rng.normal(0.0, 2.0, 5000))
    bandwidth = [spacings * dx for dx in grid.spacing]
    exact = brute_force(grid, samples, weights, bandwidth)
    ours = kernel_density(grid, samples, weights, bandwidth)
    np.testing.assert_allclose(ours, exact, rtol=1e-12, atol=1e-300)
    assert (exact > 0).all()


@pytest.fixture(scope="module")
def metad_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("kde")
    return plumed_run(work, ["p: POSITION ATOM=1 NOPBC", "t: CUSTOM ARG=p.x FUNC=x PERIODIC=-pi,pi",
                             "metad: METAD ARG=t,p.y SIGMA=0.3,0.15 HEIGHT=1.2 PACE=5 BIASFACTOR=8 TEMP=300 "
                             "FILE=@HILLS CALC_RCT GRID_MIN=-pi,-2 GRID_MAX=pi,2 GRID_BIN=60,40",
                             "PRINT ARG=t,p.y,metad.rbias STRIDE=1 FILE=@COLVAR"],
                      random_walk(3000, seed=9, step_size=(0.2, 0.05), periodic_x=True))


def peer(colvar, workdir, *options) -> np.ndarray:
    out = workdir / "peer.dat"
    done = subprocess.run([sys.executable, str(PEER), "--colvar", str(colvar), "--bias", "metad.rbias", "--kt", str(KT),
                           "--outfile", str(out), *options], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return np.loadtxt(out)


@pytest.mark.skipif(not PEER.exists(), reason="peer script not in ../shared/reference")
@pytest.mark.parametrize("cvs, sigma, bins, lows, highs, blocks", [
    ("p.y", "0.1", "50", "-1.5", "1.5", "5"),
    # the script needs as many points on both axes: 36 on the periodic t, 35 bins on p.y
    ("t,p.y", "0.3,0.15", "36,35", "-pi,-1.5", "pi,1.5", "1"),
])
def test_reweight_equals_fes_from_reweighting(metad_run, tmp_path, cvs, sigma, bins, lows, highs, blocks):
    theirs = peer(metad_run / "COLVAR", tmp_path, f"--cv={cvs}", f"--sigma={sigma}", f"--bin={bins}",
                  f"--min={lows}", f"--max={highs}", f"--blocks={blocks}")
    out = tmp_path / "ours.dat"
    assert main(["reweight", str(metad_run / "COLVAR"), "--cv", cvs, "--bias", "metad.rbias", "--kt", str(KT),
                 "--bandwidth", sigma, "--bin", bins, "--min", lows, "--max", highs, "--no-plot", "-o", str(out)]
                + (["--blocks", blocks] if blocks != "1" else [])) == 0
    grid, values = read_grid(out)
    ndim = grid.ndim
    # each row of the script's file has its own coordinates: match them to our grid points
    index = tuple(np.rint((theirs[:, k] - grid.mins[k]) / grid.spacing[k]).astype(int) for k in range(ndim))
    assert np.abs(values["free"][index] - theirs[:, ndim]).max() < 2e-6
    assert len(theirs) == values["free"].size and np.ptp(theirs[:, ndim]) > 2.0
    if blocks != "1":
        assert np.abs(values["free_err"][index] - theirs[:, ndim + 1]).max() < 2e-6


def test_automatic_bandwidth_is_silverman_on_the_kish_size(metad_run, tmp_path, capsys):
    rng = np.random.default_rng(3)
    samples = rng.normal(0.0, 0.5, (20000, 1))
    grid = GridSpec(("x",), (-2.0,), (2.0,), (40,), (False,))
    [h], n_eff = rule_of_thumb_bandwidth(grid, samples, np.ones(20000))
    spread = min(samples.std(), np.subtract(*np.percentile(samples, [75, 25])) / 1.349)
    assert n_eff == pytest.approx(20000) and h == pytest.approx(1.0592 * spread * 20000 ** -0.2, rel=1e-3)
    out = tmp_path / "auto.dat"
    assert main(["reweight", str(metad_run / "COLVAR"), "--cv", "p.y", "--bias", "metad.rbias", "--kt", str(KT),
                 "--no-plot", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "KDE bandwidth p.y " in printed and "Silverman's rule on the Kish effective sample size" in printed
    _, _, constants = read_grid_file(out)
    assert float(constants["bandwidth_p.y"]) > 0 and "effective_sample_size" in constants
