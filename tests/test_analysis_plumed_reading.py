"""Reading what PLUMED reads and writes (issue 19, 2): gzipped files, DUMPGRID grids.

- FILE=COLVAR.gz / HILLS.gz are written compressed by PLUMED (built with zlib): read the same
  values as the plain file PLUMED writes beside; the FES from HILLS.gz equals PLUMED's own
  `sum_hills --hills HILLS.gz`; a compressed file cut short by a killed run gives its complete rows.
- PLUMED 2.11's DUMPGRID writes `nbins_X` as the number of bins, one fewer than the points on a
  non-periodic axis (sum_hills writes the points), and derivative columns `dLABEL_X`: such a grid,
  2D with one periodic and one non-periodic axis, and a 1D CONVERT_TO_FES with inf, are read with
  the right shape and values, and `nucleate basins` runs on them.
"""

from __future__ import annotations

import logging
import subprocess

import numpy as np
import pytest

from analysis_runs import plumed_run, random_walk
from nucleate.analysis.fes_grid import read_grid, read_grid_file
from nucleate.analysis.hills import read_hills, sum_hills
from nucleate.analysis.plumed_files import TruncatedLineWarning, read_plumed
from nucleate.cli import main
from nucleate.runtime import plumed_cli

# the COLVAR's METAD bias has no c(t) column: the reweighting says so, which is not under test here
pytestmark = pytest.mark.filterwarnings(r"ignore:no c\(t\) for:UserWarning")


@pytest.fixture(scope="module")
def gz_run(tmp_path_factory):
    return plumed_run(tmp_path_factory.mktemp("gz"), [
        "p: POSITION ATOM=1 NOPBC",
        "metad: METAD ARG=p.x,p.y SIGMA=0.1,0.1 HEIGHT=1.0 PACE=5 BIASFACTOR=8 TEMP=300 FILE=@HILLS.gz",
        "PRINT ARG=p.x,p.y,metad.bias STRIDE=1 FILE=@COLVAR.gz",
        "PRINT ARG=p.x,p.y,metad.bias STRIDE=1 FILE=@COLVAR"], random_walk(1500, seed=6))


def test_gzipped_colvar_reads_as_the_plain_one(gz_run):
    assert (gz_run / "COLVAR.gz").read_bytes()[:2] == b"\x1f\x8b"
    plain, packed = read_plumed(gz_run / "COLVAR"), read_plumed(gz_run / "COLVAR.gz")
    assert packed.fields == plain.fields and len(packed) == 1500
    for name in plain.fields:
        np.testing.assert_array_equal(packed.column(name), plain.column(name))


def test_fes_from_gzipped_hills_equals_plumed(gz_run, tmp_path):
    cmd, env = plumed_cli()
    out = tmp_path / "plumed.dat"
    done = subprocess.run(cmd + ["sum_hills", "--hills", str(gz_run / "HILLS.gz"), "--outfile", str(out)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    _, theirs = read_grid(out)
    ours = sum_hills(read_hills(gz_run / "HILLS.gz"))[-1]
    assert np.abs(ours.free - theirs["file.free"]).max() < 1e-6 and len(read_hills(gz_run / "HILLS.gz")) == 299


def test_reweight_reads_a_gzipped_colvar(gz_run, tmp_path):
    for name in ("COLVAR", "COLVAR.gz"):
        assert main(["reweight", str(gz_run / name), "--cv", "p.x", "--bias", "metad.bias", "--temp", "300",
                     "--histogram", "--no-plot", "-o", str(tmp_path / f"{name}.dat")]) == 0
    assert (tmp_path / "COLVAR.dat").read_text() == (tmp_path / "COLVAR.gz.dat").read_text()


def test_a_gzip_stream_cut_short_gives_its_complete_rows(gz_run, tmp_path, caplog):
    cut = tmp_path / "COLVAR.gz"
    cut.write_bytes((gz_run / "COLVAR.gz").read_bytes()[:-200])
    with caplog.at_level(logging.WARNING, logger="nucleate.analysis.plumed_files"), pytest.warns(TruncatedLineWarning):
        table = read_plumed(cut)  # and its partial last row is dropped as in a plain file
    plain = read_plumed(gz_run / "COLVAR")
    assert 1000 < len(table) < 1500
    np.testing.assert_array_equal(table.column("p.x"), plain.column("p.x")[:len(table)])
    assert any("the compressed data ends early" in m for m in caplog.messages)


@pytest.fixture(scope="module")
def dumped(tmp_path_factory):
    return plumed_run(tmp_path_factory.mktemp("dump"), [
        "p: POSITION ATOM=1 NOPBC", "t: CUSTOM ARG=p.x FUNC=x PERIODIC=-pi,pi",
        "hh: HISTOGRAM ARG=t,p.y GRID_MIN=-pi,-2 GRID_MAX=pi,2 GRID_BIN=20,10 BANDWIDTH=0.4,0.3",
        "fhh: CONVERT_TO_FES ARG=hh TEMP=300", "DUMPGRID ARG=fhh FILE=@fes2d.dat STRIDE=400",
        "h1: HISTOGRAM ARG=p.y GRID_MIN=-2 GRID_MAX=2 GRID_BIN=10 BANDWIDTH=0.2",
        "f1: CONVERT_TO_FES ARG=h1 TEMP=300", "DUMPGRID ARG=f1 FILE=@fes1d.dat STRIDE=400"],
        random_walk(401, seed=2, step_size=(0.3, 0.1), periodic_x=True))  # dumped at step 400


def test_dumpgrid_2d_with_a_non_periodic_axis(dumped, capsys):
    path = dumped / "fes2d.dat"
    assert "#! SET nbins_p.y  10" in path.read_text()  # bins, not the 11 points written
    grid, values, _ = read_grid_file(path)
    assert grid.shape == (20, 11) and grid.periodic == (True, False) and list(values) == ["fhh"]
    rows = np.loadtxt(path)
    index = (np.rint((rows[:, 0] + np.pi) / grid.spacing[0]).astype(int),
             np.rint((rows[:, 1] + 2) / grid.spacing[1]).astype(int))
    np.testing.assert_array_equal(values["fhh"][index], rows[:, 2])
    assert main(["basins", str(path), "--temp", "300", "--no-plot"]) == 0
    assert "free_basin" in capsys.readouterr().out


def test_dumpgrid_1d_fes_with_inf(dumped, capsys):
    path = dumped / "fes1d.dat"
    grid, values = read_grid(path)
    assert grid.shape == (11,) and grid.maxs == (2.0,)
    rows = np.loadtxt(path)
    np.testing.assert_array_equal(values["f1"], rows[:, 1])
    assert np.isinf(values["f1"]).any()
    assert main(["basins", str(path), "--temp", "300", "--no-plot"]) == 0
