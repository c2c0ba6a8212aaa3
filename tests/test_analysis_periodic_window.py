"""A periodic CV gridded over part of its period (issue 19, 1a).

`fes`: the hills keep the CV's own period (from `#! SET min_X/max_X`), only the grid is cut.
`plumed sum_hills` ignores --min/--max on a periodic CV and writes the whole period, so its grid
is the reference: on a window whose points are among its points, the values must be the same
(1e-6 kJ/mol), also for a window across the CV's boundary (-pi/pi).
`reweight`: a histogram leaves out the samples outside the window (they used to be folded into it
with a period equal to the window); a KDE on a window equals the KDE on the whole period at the
same points.  Files are written by PLUMED (a torsion-like CUSTOM CV with PERIODIC=-pi,pi).
"""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest

from analysis_runs import plumed_run, random_walk
from nucleate.analysis.fes_grid import GridSpec, read_grid
from nucleate.analysis.hills import auto_grid, read_hills, sum_hills
from nucleate.analysis.plumed_files import read_plumed
from nucleate.analysis.reweight import Reweighter
from nucleate.cli import main
from nucleate.errors import NucleateError
from nucleate.runtime import plumed_cli

BINS = 60                      # sum_hills grid over the period: points -pi + k * 2pi/60
DX = 2 * math.pi / BINS
KT = 2.494339


@pytest.fixture(scope="module")
def periodic_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("periodic")
    path = random_walk(3000, seed=5, step_size=(0.25, 0.05), periodic_x=True)
    return plumed_run(work, ["p: POSITION ATOM=1 NOPBC", "t: CUSTOM ARG=p.x FUNC=x PERIODIC=-pi,pi",
                             "metad: METAD ARG=t,p.y SIGMA=0.3,0.2 HEIGHT=1.2 PACE=5 BIASFACTOR=8 TEMP=300 "
                             "FILE=@HILLS CALC_RCT GRID_MIN=-pi,-2 GRID_MAX=pi,2 GRID_BIN=60,40",
                             "PRINT ARG=t,p.y,metad.rbias STRIDE=1 FILE=@COLVAR"], path)


def plumed_full_period(hills_file, workdir) -> np.ndarray:
    """F on sum_hills' grid: t over its whole period (60 points), p.y in [-2, 2] (41 points)."""
    cmd, env = plumed_cli()
    out = workdir / "plumed_fes.dat"
    done = subprocess.run(cmd + ["sum_hills", "--hills", str(hills_file), "--outfile", str(out), "--bin", f"{BINS},40",
                                 "--min", "-pi,-2", "--max", "pi,2"], env=env, cwd=workdir, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    grid, values = read_grid(out)
    assert grid.periodic == (True, False) and grid.shape == (BINS, 41)
    return values["file.free"]


@pytest.mark.parametrize("first, last", [(10, 30), (50, 70), (-8, 8), (0, 59)])
def test_fes_window_keeps_the_period_and_matches_sum_hills(periodic_run, tmp_path, first, last):
    """Windows inside the period, across its boundary from both sides, and nearly all of it."""
    reference = plumed_full_period(periodic_run / "HILLS", tmp_path)
    hills = read_hills(periodic_run / "HILLS")
    grid = auto_grid(hills, bins=[last - first, 40], mins=[-math.pi + first * DX, -2], maxs=[-math.pi + last * DX, 2])
    assert grid.periodic == (False, False) and grid.periods[0] == pytest.approx(2 * math.pi)
    ours = sum_hills(hills, grid)[-1].free
    theirs = reference[np.arange(first, last + 1) % BINS]
    assert np.abs(ours - theirs).max() < 1e-6
    assert np.ptp(theirs) > 5.0  # a real surface


def test_fes_cli_window_with_pi_bounds(periodic_run, tmp_path):
    """`--min -pi/3 --max 2pi/3` as PLUMED users write them; the window is not periodic in the file."""
    reference = plumed_full_period(periodic_run / "HILLS", tmp_path)
    out = tmp_path / "window.dat"
    assert main(["fes", str(periodic_run / "HILLS"), "--min", "-pi/3,-2", "--max", "2*pi/3,2", "--bin", "30,40",
                 "--no-plot", "-o", str(out)]) == 0
    grid, values = read_grid(out)
    assert grid.periodic == (False, False) and grid.mins[0] == pytest.approx(-math.pi / 3)
    assert np.abs(values["free"] - reference[20:51]).max() < 1e-6


def test_window_wider_than_the_period_is_refused(periodic_run, tmp_path, capsys):
    code = main(["fes", str(periodic_run / "HILLS"), "--min", "-4,-2", "--max", "4,2", "--no-plot",
                 "-o", str(tmp_path / "f.dat")])
    err = capsys.readouterr().err
    assert code == 2 and "span 8, more than its period 6.28319" in err and str(periodic_run / "HILLS") in err


def exact_histogram(values, weights, lo, dx, points):
    """Sum of the weights of the samples nearest each window point; samples outside left out."""
    index = np.rint((values - lo) / dx)
    inside = (index >= 0) & (index < points)
    return np.bincount(index[inside].astype(int), weights=weights[inside], minlength=points)


def test_reweight_histogram_window_leaves_out_samples_outside(periodic_run):
    colvar = read_plumed(periodic_run / "COLVAR")
    reweighter = Reweighter(colvar, ["t"], ["metad.rbias"], KT)
    lo, hi, bins = -1.0, 1.0, 20
    result = reweighter.run(bins=[bins], mins=[lo], maxs=[hi])
    t, weights = colvar.column("t"), np.exp(reweighter.log_weights())
    expected = exact_histogram(t, weights, lo, (hi - lo) / bins, bins + 1)
    free = -KT * np.log(expected)
    np.testing.assert_allclose(result.fes.free, free - free.min(), atol=1e-9)
    outside = int((np.rint((t - lo) / 0.1) < 0).sum() + (np.rint((t - lo) / 0.1) > bins).sum())
    assert result.n_outside == outside > len(t) // 4  # a real share of the run lies outside the window


def test_reweight_window_across_the_boundary(periodic_run):
    """[2, 4] on a CV in [-pi, pi): samples near -3 belong at 3.28; a KDE there equals the KDE of
    the whole period at the same points."""
    colvar = read_plumed(periodic_run / "COLVAR")
    reweighter = Reweighter(colvar, ["t"], ["metad.rbias"], KT)
    t, weights = colvar.column("t"), np.exp(reweighter.log_weights())
    shifted = np.where(t < 0, t + 2 * math.pi, t)
    histogram = reweighter.run(bins=[20], mins=[2.0], maxs=[4.0])
    expected = -KT * np.log(exact_histogram(shifted, weights, 2.0, 0.1, 21))
    np.testing.assert_allclose(histogram.fes.free, expected - expected.min(), atol=1e-9)
    window = GridSpec(("t",), (-math.pi + 10 * DX,), (-math.pi + 70 * DX,), (60,), (False,), (2 * math.pi,))
    whole = GridSpec(("t",), (-math.pi,), (math.pi,), (BINS,), (True,))
    in_window = reweighter.run(window, bandwidth=[0.15]).fes.free
    on_period = reweighter.run(whole, bandwidth=[0.15]).fes.free
    points = on_period[np.arange(10, 71) % BINS]
    np.testing.assert_allclose(in_window - in_window.min(), points - points[np.isfinite(points)].min(), atol=1e-9)


def test_grid_refuses_a_window_wider_than_the_period():
    from nucleate.analysis.fes_grid import axis_extent

    with pytest.raises(NucleateError, match="more than its period"):
        axis_extent("t", (-math.pi, math.pi), -3.5, 3.5, "COLVAR")
    assert axis_extent("t", (-math.pi, math.pi), None, None, "COLVAR")[2] is True
