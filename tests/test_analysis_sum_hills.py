"""FES from hills equals `plumed sum_hills` on every grid point (1e-6 kJ/mol).

HILLS files are written by PLUMED itself (METAD through the Python cmd API, on a particle
doing a random walk), so the format is PLUMED's: well-tempered heights with a biasf column,
`kerneltype stretched-gaussian`, periodic domains.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from nucleate.analysis.cli import register  # noqa: F401  (the CLI module must import cheaply)
from nucleate.analysis.fes_grid import read_grid
from nucleate.analysis.hills import auto_grid, read_hills, sum_hills
from nucleate.cli import main
from nucleate.runtime import plumed_cli, plumed_module

TOL = 1e-6  # kJ/mol


def write_hills(path, cv_lines, metad_args, steps, seed, step_sizes, periodic_x=False):
    plumed = plumed_module().Plumed()
    plumed.cmd("setMDEngine", "python")
    plumed.cmd("setNatoms", 1)
    plumed.cmd("setTimestep", 0.001)
    plumed.cmd("setKbT", 2.494)
    plumed.cmd("setLogFile", str(path.parent / "plumed.log"))
    plumed.cmd("init")
    for line in ["p: POSITION ATOM=1 NOPBC"] + cv_lines + [f"metad: METAD {metad_args} TEMP=300 FILE={path}"]:
        plumed.cmd("readInputLine", line)
    rng = np.random.default_rng(seed)
    pos, forces = np.zeros((1, 3)), np.zeros((1, 3))
    for step in range(steps):
        pos[0, :2] += rng.normal(0.0, step_sizes)
        pos[0, 1] = np.clip(pos[0, 1], -1.5, 1.5)
        if periodic_x:
            pos[0, 0] = (pos[0, 0] + np.pi) % (2 * np.pi) - np.pi
        else:
            pos[0, 0] = np.clip(pos[0, 0], -2.0, 2.0)
        forces[:] = 0.0
        plumed.cmd("setStep", step)
        plumed.cmd("setMasses", np.ones(1))
        plumed.cmd("setPositions", pos)
        plumed.cmd("setForces", forces)
        plumed.cmd("setVirial", np.zeros((3, 3)))
        plumed.cmd("calc")
    plumed.finalize()
    return path


@pytest.fixture(scope="module")
def hills_files(tmp_path_factory):
    work = tmp_path_factory.mktemp("hills")
    files = {
        "1d": write_hills(work / "HILLS_1d", [], "ARG=p.x SIGMA=0.12 HEIGHT=1.2 PACE=4 BIASFACTOR=6",
                          1600, 1, [0.05, 0.0]),
        "2d": write_hills(work / "HILLS_2d", [], "ARG=p.x,p.y SIGMA=0.1,0.15 HEIGHT=1.2 PACE=4 BIASFACTOR=8",
                          2400, 2, [0.05, 0.05]),
        "periodic": write_hills(work / "HILLS_periodic",
                                ["t: CUSTOM ARG=p.x FUNC=x PERIODIC=-pi,pi", "u: CUSTOM ARG=p.y FUNC=x PERIODIC=NO"],
                                "ARG=t,u SIGMA=0.3,0.2 HEIGHT=1.2 PACE=4 BIASFACTOR=8", 2400, 3, [0.3, 0.05],
                                periodic_x=True),
        "plain": write_hills(work / "HILLS_plain", [], "ARG=p.x,p.y SIGMA=0.1,0.15 HEIGHT=0.5 PACE=4",
                             800, 4, [0.05, 0.05]),
    }
    # an older-style file: plain Gaussians cut to a box of grid points
    text = files["2d"].read_text().replace("kerneltype stretched-gaussian", "kerneltype gaussian")
    files["gaussian"] = work / "HILLS_gaussian"
    files["gaussian"].write_text(text)
    return files


def plumed_sum_hills(hills_path, workdir, *options):
    cmd, env = plumed_cli()
    out = workdir / "plumed_fes.dat"
    done = subprocess.run(cmd + ["sum_hills", "--hills", str(hills_path), "--outfile", str(out), *options],
                          env=env, cwd=workdir, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out


def assert_same_grid_values(ours, reference_file):
    grid, values = read_grid(reference_file)
    assert grid.shape == ours.grid.shape
    np.testing.assert_allclose(grid.mins, ours.grid.mins, rtol=0, atol=1e-9)
    np.testing.assert_allclose(grid.maxs, ours.grid.maxs, rtol=0, atol=1e-9)
    assert grid.periodic == ours.grid.periodic
    reference = values["file.free"]
    assert np.isfinite(ours.free).all()
    assert np.abs(ours.free - reference).max() < TOL
    assert np.abs(reference).max() > 10.0  # a real surface, not zeros


@pytest.mark.parametrize("kind", ["1d", "2d", "periodic", "plain", "gaussian"])
def test_automatic_grid_matches_plumed(hills_files, tmp_path, kind):
    hills = read_hills(hills_files[kind])
    reference = plumed_sum_hills(hills_files[kind], tmp_path)
    assert_same_grid_values(sum_hills(hills)[-1], reference)


@pytest.mark.parametrize("kind, options, bins, mins, maxs", [
    ("1d", ["--min", "-2.5", "--max", "1.7", "--bin", "77"], [77], [-2.5], [1.7]),
    # a grid that cuts through the hills: hills outside it still add their tails
    ("2d", ["--min", "-1,-1", "--max", "1,0.8", "--bin", "40,33"], [40, 33], [-1, -1], [1, 0.8]),
    ("periodic", ["--bin", "37,20"], [37, 20], None, None),
    ("gaussian", ["--min", "-2.2,-2", "--max", "2.2,2", "--bin", "51,47"], [51, 47], [-2.2, -2], [2.2, 2]),
])
def test_given_grid_matches_plumed(hills_files, tmp_path, kind, options, bins, mins, maxs):
    hills = read_hills(hills_files[kind])
    reference = plumed_sum_hills(hills_files[kind], tmp_path, *options)
    assert_same_grid_values(sum_hills(hills, auto_grid(hills, bins=bins, mins=mins, maxs=maxs))[-1], reference)


def test_stride_snapshots_and_mintozero_match_plumed(hills_files, tmp_path):
    hills = read_hills(hills_files["2d"])
    grid = auto_grid(hills, bins=[60, 50], mins=[-2.5, -2.5], maxs=[2.5, 2.5])
    plumed_sum_hills(hills_files["2d"], tmp_path, "--min", "-2.5,-2.5", "--max", "2.5,2.5", "--bin", "60,50",
                     "--stride", "200", "--mintozero")
    ours = sum_hills(hills, grid, stride=200, mintozero=True)
    assert len(ours) == -(-len(hills) // 200)
    for number, fes in enumerate(ours):
        reference = tmp_path / f"plumed_fes.dat{number}.dat"
        if not reference.exists():
            reference = tmp_path / f"plumed_fes.dat_{number}.dat"
        assert_same_grid_values(fes, reference)
        assert fes.free.min() == 0.0


def test_negbias_is_the_bias(hills_files, tmp_path):
    hills = read_hills(hills_files["1d"])
    reference = plumed_sum_hills(hills_files["1d"], tmp_path, "--negbias")
    ours = sum_hills(hills, negbias=True)[-1]
    _, values = read_grid(reference)
    assert np.abs(ours.free - next(iter(values.values()))).max() < TOL
    # minus the bias = (gamma-1)/gamma * free energy for a well-tempered run (gamma = 6)
    free = sum_hills(hills)[-1].free
    np.testing.assert_allclose(ours.free, free * 5.0 / 6.0, atol=1e-12)


def test_cli_fes_writes_plumed_grid_and_png(hills_files, tmp_path, capsys):
    out = tmp_path / "fes.dat"
    assert main(["fes", str(hills_files["2d"]), "--bin", "60,50", "--min", "-2.5,-2.5", "--max", "2.5,2.5",
                 "-o", str(out)]) == 0
    reference = plumed_sum_hills(hills_files["2d"], tmp_path, "--min", "-2.5,-2.5", "--max", "2.5,2.5",
                                 "--bin", "60,50")
    grid, ours = read_grid(out)
    _, theirs = read_grid(reference)
    assert np.abs(ours["free"] - theirs["file.free"]).max() < TOL
    assert out.with_suffix(".png").stat().st_size > 1000
    # kcal/mol output is the same surface divided by 4.184
    assert main(["fes", str(hills_files["2d"]), "--bin", "60,50", "--min", "-2.5,-2.5", "--max", "2.5,2.5",
                 "--units", "kcal/mol", "--no-plot", "-o", str(tmp_path / "kcal.dat")]) == 0
    _, kcal = read_grid(tmp_path / "kcal.dat")
    np.testing.assert_allclose(kcal["free"] * 4.184, theirs["file.free"], atol=5e-6)
