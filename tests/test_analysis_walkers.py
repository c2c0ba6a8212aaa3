"""Multiple-walker WT-MetaD (issue 19, 3): one COLVAR per walker, weights from each walker's own
LABEL.rbias (PLUMED computes it from the bias all walkers share), walkers as blocks.

Two PLUMED instances run side by side as walkers 0 and 1 of one METAD (WALKERS_N/ID/DIR/RSTRIDE:
each writes HILLS.k in the shared folder and reads the other's), each printing its own COLVAR.
The FES and Delta G from `--walkers` must be the plain weighted sums over both files' rows, and
`--blocks walkers` the block error with one block per file.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from analysis_runs import PlumedWalk, random_walk
from nucleate.analysis.blocks import block_average, ratio_error
from nucleate.analysis.fes_grid import GridSpec, read_grid
from nucleate.analysis.hills import read_hills, sum_hills
from nucleate.analysis.kernel_density import weighted_histogram
from nucleate.analysis.plumed_files import read_plumed
from nucleate.cli import main
from nucleate.runtime import plumed_cli

KT = 2.494339
STEPS = 1500


@pytest.fixture(scope="module")
def walkers(tmp_path_factory):
    root = tmp_path_factory.mktemp("walkers")
    (root / "hills").mkdir()
    runs = [PlumedWalk(root / f"w{k}", [
        "p: POSITION ATOM=1 NOPBC",
        f"metad: METAD ARG=p.x SIGMA=0.1 HEIGHT=1.0 PACE=5 BIASFACTOR=8 TEMP=300 FILE=HILLS CALC_RCT "
        f"GRID_MIN=-2 GRID_MAX=2 GRID_BIN=200 WALKERS_N=2 WALKERS_ID={k} WALKERS_DIR={root / 'hills'} "
        "WALKERS_RSTRIDE=5",
        "PRINT ARG=p.x,metad.rbias STRIDE=1 FILE=@COLVAR"]) for k in range(2)]
    paths = [random_walk(STEPS, seed=20 + k, start=(0.6 * k - 0.3, 0.0)) for k in range(2)]
    for step in range(STEPS):
        for run, path in zip(runs, paths):
            run.step(step, path[step])
    for run in runs:
        run.close()
    return [root / f"w{k}" / "COLVAR" for k in range(2)], root / "hills"


def walker_columns(files):
    tables = [read_plumed(f) for f in files]
    return ([t.column("p.x") for t in tables], [t.column("metad.rbias") for t in tables],
            [t.column("time") for t in tables])


def test_fes_from_walkers_with_walker_blocks(walkers, tmp_path, capsys):
    files, hills = walkers
    assert sorted(p.name for p in hills.iterdir()) == ["HILLS.0", "HILLS.1"]
    out = tmp_path / "fes.dat"
    assert main(["reweight", *map(str, files), "--walkers", "--cv", "p.x", "--bias", "metad.rbias", "--kt", str(KT),
                 "--histogram", "--bin", "30", "--min", "-1.5", "--max", "1.5", "--blocks", "walkers", "--no-plot",
                 "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{2 * STEPS} samples from 2 walkers" in printed and "2 walker blocks" in printed
    grid, values = read_grid(out)
    x, rbias, _ = walker_columns(files)
    top = max(r.max() for r in rbias)
    per_walker = np.array([weighted_histogram(grid, xs[:, None], np.exp((r - top) / KT)) for xs, r in zip(x, rbias)])
    weights = np.array([np.exp((r - top) / KT).sum() for r in rbias])
    mean, err, _ = block_average(per_walker, weights)
    seen = mean > 0
    free = -KT * np.log(mean[seen])
    np.testing.assert_allclose(values["free"][seen], free - free.min(), atol=1e-8)
    np.testing.assert_allclose(values["free_err"][seen], KT * err[seen] / mean[seen], rtol=1e-7, atol=1e-9)
    assert seen.sum() > 20


def test_time_blocks_and_deltag_over_both_walkers(walkers, tmp_path, capsys):
    files, _ = walkers
    out = tmp_path / "dg.dat"
    assert main(["deltag", *map(str, files), "--walkers", "--cv", "p.x", "--bias", "metad.rbias", "--kt", str(KT),
                 "--basin", "left=-1.5:-0.1", "--basin", "right=0.1:1.5", "--points", "3", "--blocks", "walkers",
                 "--no-plot", "-o", str(out)]) == 0
    x, rbias, times = walker_columns(files)
    top = max(r.max() for r in rbias)
    right = np.array([np.sum(np.exp((r - top) / KT) * ((xs >= 0.1) & (xs <= 1.5))) for xs, r in zip(x, rbias)])
    left = np.array([np.sum(np.exp((r - top) / KT) * ((xs >= -1.5) & (xs <= -0.1))) for xs, r in zip(x, rbias)])
    ratio, ratio_err = ratio_error(right, left)
    last = np.loadtxt(out)[-1]
    assert last[0] == pytest.approx(times[0][-1])
    assert last[1] == pytest.approx(-KT * np.log(ratio), rel=1e-8)  # written with 9 digits
    assert last[2] == pytest.approx(KT * ratio_err / ratio, rel=1e-8)
    # with time blocks the samples of both walkers are in time order: the first half of the run is
    # each walker's first half
    capsys.readouterr()
    assert main(["reweight", *map(str, files), "--walkers", "--cv", "p.x", "--bias", "metad.rbias", "--kt", str(KT),
                 "--histogram", "--bin", "30", "--min", "-1.5", "--max", "1.5", "--blocks", "2", "--no-plot",
                 "-o", str(tmp_path / "f.dat")]) == 0
    grid = GridSpec(("p.x",), (-1.5,), (1.5,), (30,), (False,))
    halves = [weighted_histogram(grid, np.r_[x[0][part], x[1][part]][:, None],
                                 np.exp((np.r_[rbias[0][part], rbias[1][part]] - top) / KT))
              for part in (slice(0, STEPS // 2), slice(STEPS // 2, None))]
    weights = [np.exp((np.r_[rbias[0][part], rbias[1][part]] - top) / KT).sum()
               for part in (slice(0, STEPS // 2), slice(STEPS // 2, None))]
    mean, err, _ = block_average(np.array(halves), np.array(weights))
    _, values = read_grid(tmp_path / "f.dat")
    seen = mean > 0
    np.testing.assert_allclose(values["free_err"][seen], KT * err[seen] / mean[seen], rtol=1e-7, atol=1e-9)


def test_walker_blocks_need_walkers(walkers, tmp_path, capsys):
    files, _ = walkers
    code = main(["reweight", str(files[0]), "--cv", "p.x", "--bias", "metad.rbias", "--kt", str(KT),
                 "--blocks", "walkers", "--no-plot", "-o", str(tmp_path / "f.dat")])
    assert code == 2 and "--blocks walkers needs two or more walker files (--walkers)" in capsys.readouterr().err


def test_fes_from_all_walkers_hills_equals_plumed(walkers, tmp_path):
    _, hills = walkers
    files = [hills / "HILLS.0", hills / "HILLS.1"]
    cmd, env = plumed_cli()
    out = tmp_path / "plumed.dat"
    done = subprocess.run(cmd + ["sum_hills", "--hills", ",".join(map(str, files)), "--outfile", str(out)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    _, theirs = read_grid(out)
    ours = sum_hills(read_hills(files))[-1]
    assert np.abs(ours.free - theirs["file.free"]).max() < 1e-6
