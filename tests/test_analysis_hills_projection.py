"""FES from hills of runs that biased 2 or 3 CVs, projected (`plumed sum_hills --idw`) or not.

HILLS files are written by PLUMED itself (METAD through the Python cmd API, as in
test_analysis_sum_hills), and every number is checked against `plumed sum_hills` on the same file:
- `nucleate fes --idw A --kt kT` equals `sum_hills --idw A --kt kT` (2D -> 1D, periodic too, and
  3D -> 2D with the kept CVs in either order);
- `nucleate fes` on 3-CV hills equals `sum_hills` on a small 3D grid; a grid too large is refused;
- multivariate hills (ADAPTIVE=DIFF and GEOM, a Cholesky factor of each hill's covariance in the file)
  equal sum_hills, on its automatic bounds and on given ones, periodic too.
"""

from __future__ import annotations

import numpy as np
import pytest

from nucleate.analysis.fes_grid import read_grid
from nucleate.analysis.fes_projection import project_fes
from nucleate.analysis.hills import read_hills, sum_hills
from nucleate.cli import main
from test_analysis_sum_hills import plumed_sum_hills, write_hills

KT = 2.494
TOL = 1e-6  # kJ/mol: sum_hills prints 9 decimals


@pytest.fixture(scope="module")
def hills_files(tmp_path_factory):
    work = tmp_path_factory.mktemp("hills_projection")
    return {
        "2d": write_hills(work / "HILLS_2d", [], "ARG=p.x,p.y SIGMA=0.1,0.15 HEIGHT=1.2 PACE=4 BIASFACTOR=8",
                          2400, 2, [0.05, 0.05]),
        "periodic": write_hills(work / "HILLS_periodic",
                                ["t: CUSTOM ARG=p.x FUNC=x PERIODIC=-pi,pi", "u: CUSTOM ARG=p.y FUNC=x PERIODIC=NO"],
                                "ARG=t,u SIGMA=0.3,0.2 HEIGHT=1.2 PACE=4 BIASFACTOR=8", 2400, 3, [0.3, 0.05],
                                periodic_x=True),
        "3d": write_hills(work / "HILLS_3d", ["q: CUSTOM ARG=p.x,p.y FUNC=x*y PERIODIC=NO"],
                          "ARG=p.x,p.y,q SIGMA=0.1,0.15,0.1 HEIGHT=1.2 PACE=8 BIASFACTOR=8", 1600, 5, [0.05, 0.05]),
        "adaptive": write_hills(work / "HILLS_adaptive", [], "ARG=p.x,p.y SIGMA=20 ADAPTIVE=DIFF HEIGHT=1.2 PACE=4 "
                                "BIASFACTOR=8", 400, 2, [0.05, 0.05]),
        "geometric": write_hills(work / "HILLS_geometric",
                                 ["t: CUSTOM ARG=p.x FUNC=x PERIODIC=-pi,pi", "u: CUSTOM ARG=p.y FUNC=x PERIODIC=NO"],
                                 "ARG=t,u SIGMA=0.2 ADAPTIVE=GEOM HEIGHT=1.2 PACE=4 BIASFACTOR=8", 600, 7, [0.3, 0.05],
                                 periodic_x=True),
    }


def plumed_values(path):
    grid, values = read_grid(path)
    return grid, values[next(name for name in values if name in ("projection", "file.free"))]


@pytest.mark.parametrize("kind, keep, options", [
    ("2d", "p.x", []),
    ("2d", "p.y", ["--min", "-2,-2", "--max", "1.5,2", "--bin", "70,80"]),
    ("periodic", "t", []),
    ("periodic", "u", []),
    ("3d", "p.x,q", ["--bin", "24,20,22"]),
    ("3d", "q,p.y", ["--bin", "24,20,22"]),
])
def test_idw_equals_plumed_sum_hills(hills_files, tmp_path, kind, keep, options):
    reference = plumed_sum_hills(hills_files[kind], tmp_path, "--idw", keep, "--kt", str(KT), *options)
    out = tmp_path / "ours.dat"
    assert main(["fes", str(hills_files[kind]), "--idw", keep, "--kt", str(KT), *options, "--no-plot",
                 "-o", str(out)]) == 0
    grid, ours = read_grid(out)
    plumed_grid, theirs = plumed_values(reference)
    assert grid.names == tuple(keep.split(",")) == plumed_grid.names
    assert grid.shape == plumed_grid.shape
    np.testing.assert_allclose(grid.mins, plumed_grid.mins, atol=1e-9)
    np.testing.assert_allclose(grid.maxs, plumed_grid.maxs, atol=1e-9)
    assert np.abs(ours["free"] - theirs).max() < TOL
    assert np.ptp(theirs) > 5.0  # a real surface


def test_projection_is_the_log_sum_over_the_integrated_cvs(hills_files):
    """The Python API, against the sum written out point by point."""
    fes = sum_hills(read_hills(hills_files["3d"]))[0]
    projected = project_fes(fes, ["p.y"], KT)
    expected = [-KT * np.log(np.sum(np.exp(-fes.free[:, j, :] / KT))) for j in range(fes.grid.shape[1])]
    np.testing.assert_allclose(projected.free, expected, rtol=1e-12, atol=1e-9)
    assert projected.kt == KT and projected.grid.names == ("p.y",)


def test_three_cv_hills_equal_plumed_sum_hills(hills_files, tmp_path):
    reference = plumed_sum_hills(hills_files["3d"], tmp_path, "--bin", "20,18,16")
    out = tmp_path / "ours.dat"
    assert main(["fes", str(hills_files["3d"]), "--bin", "20,18,16", "-o", str(out)]) == 0
    grid, values = read_grid(out)
    plumed_grid, theirs = plumed_values(reference)
    assert grid.shape == plumed_grid.shape == (21, 19, 17)
    np.testing.assert_allclose(grid.mins, plumed_grid.mins, atol=1e-9)
    assert np.abs(values["free"] - theirs).max() < TOL
    assert np.abs(theirs).max() > 10.0
    assert not out.with_suffix(".png").exists()  # no plot in 3D, said so instead


def test_three_cv_grid_too_large_is_refused(hills_files, tmp_path, capsys):
    assert main(["fes", str(hills_files["3d"]), "--bin", "400,400,400", "--no-plot", "-o", str(tmp_path / "f")]) == 2
    message = capsys.readouterr().err
    assert "HILLS_3d" in message and "--bin" in message and "1e+07" in message
    assert "Traceback" not in message


def test_idw_needs_kt_and_known_cvs(hills_files, tmp_path, capsys):
    out = str(tmp_path / "f.dat")
    assert main(["fes", str(hills_files["2d"]), "--idw", "p.x", "--no-plot", "-o", out]) == 2
    assert "--kt" in capsys.readouterr().err
    assert main(["fes", str(hills_files["2d"]), "--idw", "p.z", "--kt", "2.5", "--no-plot", "-o", out]) == 2
    assert "p.x, p.y" in capsys.readouterr().err


@pytest.mark.parametrize("kind, options", [
    ("adaptive", ["--bin", "60,60"]),                                    # sum_hills' automatic bounds
    ("adaptive", ["--min", "-1.5,-2", "--max", "1.5,1", "--bin", "120,90"]),
    ("geometric", ["--min", "-pi,-1.6", "--max", "pi,1.6", "--bin", "90,80"]),
])
def test_multivariate_hills_equal_plumed_sum_hills(hills_files, tmp_path, kind, options):
    text = hills_files[kind].read_text()
    assert "multivariate true" in text and "sigma_" in text
    reference = plumed_sum_hills(hills_files[kind], tmp_path, *options)
    out = tmp_path / "ours.dat"
    assert main(["fes", str(hills_files[kind]), *options, "--no-plot", "-o", str(out)]) == 0
    grid, ours = read_grid(out)
    plumed_grid, theirs = plumed_values(reference)
    assert grid.shape == plumed_grid.shape
    np.testing.assert_allclose(grid.mins, plumed_grid.mins, atol=1e-9)
    np.testing.assert_allclose(grid.maxs, plumed_grid.maxs, atol=1e-9)
    assert np.abs(ours["free"] - theirs).max() < TOL
    assert np.ptp(theirs) > 5.0


def test_multivariate_covariance_is_the_cholesky_product(hills_files):
    """The file holds L (lower Cholesky factor of each covariance); Sigma = L L^T is positive definite even
    where the raw off-diagonal field is larger than the diagonal ones allow of a covariance."""
    hills = read_hills(hills_files["adaptive"])
    assert hills.multivariate and hills.covariances.shape == (len(hills), 2, 2)
    rows = np.loadtxt(hills_files["adaptive"], comments="#")
    fields = hills_files["adaptive"].read_text().splitlines()[0].split()[2:]
    lxx, lyy, lyx = (rows[:, fields.index(f)] for f in ("sigma_p.x_p.x", "sigma_p.y_p.y", "sigma_p.y_p.x"))
    np.testing.assert_allclose(hills.covariances[:, 0, 0], lxx ** 2, rtol=1e-12)
    np.testing.assert_allclose(hills.covariances[:, 1, 0], lxx * lyx, rtol=1e-12)
    np.testing.assert_allclose(hills.covariances[:, 1, 1], lyx ** 2 + lyy ** 2, rtol=1e-12)
    assert (np.linalg.eigvalsh(hills.covariances) > 0).all()
