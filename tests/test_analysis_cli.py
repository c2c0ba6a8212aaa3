"""`nucleate reweight / deltag / basins / plot` end to end, bad input, and import weight.

Samples are drawn exactly (inverse CDF) from a biased distribution exp(-(F + V)/kT) with a
static bias V written as `opes.bias`, so the reweighted FES must be F and block errors must
cover the true deviations as often as a standard error should.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from nucleate.analysis.fes_grid import read_grid
from nucleate.cli import main
from nucleate.units import KB_KJMOL

KT = KB_KJMOL * 300.0


def free_energy(x):
    return KT * 3.0 * (x * x - 1.0) ** 2          # double well, 3 kT barrier


def static_bias(x):
    return -0.7 * free_energy(x)                   # flattens the barrier, as a converged bias would


def draw(n, seed, density):
    rng = np.random.default_rng(seed)
    fine = np.linspace(-2.2, 2.2, 20001)
    cdf = np.cumsum(density(fine))
    return np.interp(rng.random(n) * cdf[-1], cdf, fine)


def write_colvar(path, n=200000, seed=0, energy="kj/mol"):
    x = draw(n, seed, lambda s: np.exp(-(free_energy(s) + static_bias(s)) / KT))
    y = np.random.default_rng(seed + 1).normal(size=n)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        handle.write("#! FIELDS time x y opes.bias opes.zed\n")
        np.savetxt(handle, np.column_stack([np.arange(n) * 0.1, x, y, static_bias(x), np.ones(n)]), fmt="%.8f")
    (path.parent / "manifest.json").write_text(json.dumps({"plumed_units": {"energy": energy, "length": "nm",
                                                                             "time": "ps"}}))
    return path


@pytest.fixture(scope="module")
def colvar(tmp_path_factory):
    return write_colvar(tmp_path_factory.mktemp("run") / "COLVAR")


def test_reweight_cli_recovers_f_with_honest_errors(colvar, tmp_path, capsys):
    out = tmp_path / "fes.dat"
    assert main(["reweight", str(colvar), "--cv", "x", "--bias", "opes.bias", "--temp", "300", "--bin", "44",
                 "--min", "-1.6", "--max", "1.6", "--blocks", "10", "--histogram", "-o", str(out)]) == 0
    grid, values = read_grid(out)
    x = grid.axis(0)
    # reference: the exact density averaged over each histogram cell
    cells = np.array([free_energy(np.linspace(a - grid.spacing[0] / 2, a + grid.spacing[0] / 2, 201)) for a in x])
    reference = -KT * np.log(np.exp(-cells / KT).mean(axis=1))
    reference -= reference.min()
    estimate, error = values["free"], values["free_err"]
    offset = np.average(estimate - reference, weights=np.exp(-reference / KT))
    deviation = np.abs(estimate - offset - reference)
    assert deviation.max() < 0.15 * KT
    assert (error > 0).all() and error.max() < 0.2 * KT
    # independent samples: a standard error covers about 68 % of the deviations
    assert np.mean(deviation < 2 * error) > 0.8
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    printed = capsys.readouterr().out
    assert "effective sample size" in printed and "10 blocks" in printed


def test_reweight_2d_kde_and_units(colvar, tmp_path):
    out = tmp_path / "fes2d.dat"
    assert main(["reweight", str(colvar), "--cv", "x,y", "--bias", "opes.bias", "--kt", str(KT), "--bin", "30,30",
                 "--min", "-1.6,-3", "--max", "1.6,3", "--bandwidth", "0.1,0.2", "--units", "kcal/mol",
                 "--skip", "0.2", "-o", str(out), "--no-plot"]) == 0
    text = out.read_text()
    assert "nan" not in text.lower()
    assert "#! SET nbins_x 31" in text and "#! SET periodic_y false" in text
    grid, values = read_grid(out)
    # F(x, y) = F(x) + y^2/2 kT: check the y profile at the well
    row = values["free"][np.argmin(np.abs(grid.axis(0) + 1.0))]
    y = grid.axis(1)
    inner = np.abs(y) < 2.0
    shape = row[inner] - row[inner].min()
    # y ~ N(0, 1) smoothed by a 0.2-wide kernel: variance 1.04; written in kcal/mol
    smoothed = 0.5 * KT * y[inner] ** 2 / (1 + 0.2 ** 2) / 4.184
    assert np.abs(shape - smoothed).max() < 0.3 * KT / 4.184


def test_empty_bins_are_inf_not_nan(colvar, tmp_path):
    out = tmp_path / "wide.dat"
    assert main(["reweight", str(colvar), "--cv", "x", "--bias", "opes.bias", "--temp", "300", "--min", "-4",
                 "--max", "4", "--bin", "80", "--blocks", "4", "--histogram", "--no-plot", "-o", str(out)]) == 0
    _, values = read_grid(out)
    assert np.isinf(values["free"]).any() and not np.isnan(values["free"]).any()
    assert "nan" not in out.read_text().lower()


def test_deltag_against_time_matches_exact_value(colvar, tmp_path, capsys):
    out = tmp_path / "dg.dat"
    assert main(["deltag", str(colvar), "--cv", "x", "--bias", "opes.bias", "--temp", "300",
                 "--basin", "left=-2:-0.3", "--basin", "right=0.3:2", "--points", "8", "-o", str(out)]) == 0
    data = np.loadtxt(out)
    assert data.shape == (8, 3) and np.all(np.diff(data[:, 0]) > 0)
    # the two wells are mirror images: Delta G = 0 exactly
    assert abs(data[-1, 1]) < 3 * data[-1, 2] + 1e-9 and data[-1, 2] < 0.05 * KT
    assert out.with_suffix(".png").exists()
    assert "G(right) - G(left)" in capsys.readouterr().out


def test_basins_and_plot_commands(colvar, tmp_path, capsys):
    grid_file = tmp_path / "fes2d.dat"
    assert main(["reweight", str(colvar), "--cv", "x,y", "--bias", "opes.bias", "--temp", "300", "--bin", "40,40",
                 "--min", "-1.8,-2.5", "--max", "1.8,2.5", "--bandwidth", "0.15,0.3", "--no-plot",
                 "-o", str(grid_file)]) == 0
    table = tmp_path / "basins.dat"
    assert main(["basins", str(grid_file), "--temp", "300", "--max-free", "10", "--radius", "4", "--path", "A,B",
                 "-o", str(table)]) == 0
    lines = [line for line in table.read_text().splitlines() if not line.startswith("#")]
    found = {line.split()[0]: [float(v) for v in line.split()[1:3]] for line in lines}
    assert set(found) == {"A", "B"}
    assert sorted(round(v[0]) for v in found.values()) == [-1, 1]
    path = np.loadtxt(tmp_path / "basins_path.dat")
    # the path crosses the barrier near x = 0 and stays in the valley y ~ 0
    assert np.abs(path[:, 1]).max() < 0.8 and path[:, 0].min() < -0.8 and path[:, 0].max() > 0.8
    assert table.with_suffix(".png").exists()
    svg = tmp_path / "fes2d.svg"
    assert main(["plot", str(grid_file), "-o", str(svg)]) == 0
    assert "<svg" in svg.read_text()[:500]


@pytest.mark.parametrize("argv, message", [
    (["--cv", "z", "--bias", "opes.bias"], "no column 'z'"),
    (["--cv", "x", "--bias", "y"], "column 'y' is a CV|does not look like a bias"),
    (["--cv", "x", "--bias", "time"], "not a bias|does not look like a bias"),
    (["--cv", "x", "--bias", "opes.bias", "--min", "5", "--max", "6"], "no sample in the grid range"),
])
def test_bad_input_is_one_clear_line(colvar, tmp_path, capsys, argv, message):
    code = main(["reweight", str(colvar), "--temp", "300", "-o", str(tmp_path / "o.dat"), "--no-plot", *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert str(colvar) in err
    import re
    assert re.search(message, err), err


def test_empty_header_only_and_mixed_units(tmp_path, capsys):
    empty = tmp_path / "empty" / "COLVAR"
    empty.parent.mkdir()
    empty.write_text("")
    header = tmp_path / "header" / "COLVAR"
    header.parent.mkdir()
    header.write_text("#! FIELDS time x opes.bias\n")
    kcal = write_colvar(tmp_path / "kcal" / "COLVAR", n=100, energy="kcal/mol")
    kj = write_colvar(tmp_path / "kj" / "COLVAR", n=100, energy="kj/mol")
    for files, message in [([empty], "empty"), ([header], "only a header"), ([kcal, kj], "mixed units")]:
        code = main(["reweight", *map(str, files), "--cv", "x", "--bias", "opes.bias", "--temp", "300",
                     "-o", str(tmp_path / "o.dat"), "--no-plot"])
        err = capsys.readouterr().err
        assert code == 2 and message in err and str(files[-1]) in err


def test_analysis_commands_do_not_load_lammps_or_tensorflow(colvar, tmp_path):
    script = (
        "import sys\n"
        "from nucleate.cli import main\n"
        f"main(['reweight', {str(colvar)!r}, '--cv', 'x', '--bias', 'opes.bias', '--temp', '300',"
        f" '-o', {str(tmp_path / 'f.dat')!r}])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('lammps', 'tensorflow', 'deepmd', 'MDAnalysis'))\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout, done.stdout
