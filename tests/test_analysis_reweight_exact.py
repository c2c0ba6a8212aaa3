"""Reweighting recovers a free energy known exactly.

A particle on an analytic potential U(x, y) = A (x^2-1)^2 + k/2 (y-x)^2 (kJ/mol, nm) is
integrated with BAOAB Langevin dynamics in numpy (its configurational sampling error is tiny:
exact for harmonic potentials), with the bias from PLUMED through its Python cmd API.
Exact references: F(x) = A (x^2-1)^2; F(y) = -kT ln int exp(-U/kT) dx; F(x, y) = U.  The
estimator is a Gaussian KDE evaluated exactly at the grid points, so the reference is the exact
density convolved with the same kernel, at the grid points.  Surfaces are aligned by their
Boltzmann-weighted mean difference and compared where the reference is below 8 kT, with 0.5 kT
tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from nucleate.analysis.hills import ct_at_times, ct_from_hills, read_hills
from nucleate.analysis.fes_grid import GridSpec
from nucleate.analysis.plumed_files import read_plumed
from nucleate.analysis.reweight import Reweighter
from nucleate.runtime import plumed_module
from nucleate.units import KB_KJMOL

KT = KB_KJMOL * 300.0           # kJ/mol
A = 4.0 * KT                    # double-well barrier along x
K = 50.0 * KT                   # y follows x with spread sqrt(kT/K) = 0.14 nm
TOLERANCE = 0.5 * KT
BANDWIDTH = 0.1                 # nm


def potential(x, y):
    return A * (x * x - 1.0) ** 2 + 0.5 * K * (y - x) ** 2


def force(x, y):
    return -(4.0 * A * x * (x * x - 1.0) - K * (y - x)), -K * (y - x)


def simulate(workdir, plumed_lines, nsteps, seed=1, dt=0.04, friction=3.0):
    """BAOAB Langevin (mass 1 g/mol, dt in ps) with PLUMED adding its bias forces every step."""
    plumed = plumed_module().Plumed()
    plumed.cmd("setMDEngine", "python")
    plumed.cmd("setNatoms", 1)
    plumed.cmd("setTimestep", dt)
    plumed.cmd("setKbT", KT)
    plumed.cmd("setLogFile", str(workdir / "plumed.log"))
    plumed.cmd("init")
    for line in plumed_lines:
        plumed.cmd("readInputLine", line.replace("@", str(workdir) + "/"))
    rng = np.random.default_rng(seed)
    pos = np.zeros((1, 3))
    pos[0, :2] = -1.0
    vel = np.zeros(2)
    bias_force = np.zeros((1, 3))
    masses, virial, box = np.ones(1), np.zeros((3, 3)), np.zeros((3, 3))
    damping = np.exp(-friction * dt)
    kicks = rng.normal(size=(nsteps, 2)) * np.sqrt((1.0 - damping ** 2) * KT)
    plumed.cmd("setMasses", masses)

    def total_force(step):
        fx, fy = force(pos[0, 0], pos[0, 1])
        bias_force[:] = 0.0
        plumed.cmd("setStep", step)
        plumed.cmd("setPositions", pos)
        plumed.cmd("setForces", bias_force)
        plumed.cmd("setVirial", virial)
        plumed.cmd("setBox", box)
        plumed.cmd("calc")
        return np.array([fx + bias_force[0, 0], fy + bias_force[0, 1]])

    f = total_force(0)
    for step in range(1, nsteps):
        vel += 0.5 * dt * f
        pos[0, :2] += 0.5 * dt * vel
        vel = damping * vel + kicks[step]
        pos[0, :2] += 0.5 * dt * vel
        f = total_force(step)
        vel += 0.5 * dt * f
    plumed.finalize()


def _kernel_smoothed(grid, density_on, bandwidth=BANDWIDTH):
    """The exact density convolved with the Gaussian kernel, at the grid points: evaluated on a grid
    15 times finer (the grid points among its points), convolved there (scipy's filter, to 6
    sigma), then read at the grid points."""
    sub = 15
    offsets = (np.arange(sub) + 0.5) / sub - 0.5
    axes = [np.repeat(grid.axis(k), sub) + np.tile(offsets * grid.spacing[k], grid.shape[k])
            for k in range(grid.ndim)]
    fine = density_on(*np.meshgrid(*axes, indexing="ij"))
    sigma = [bandwidth * sub / dx for dx in grid.spacing]
    smoothed = gaussian_filter(fine, sigma, mode="constant", truncate=6.0)
    centre = tuple(slice(sub // 2, None, sub) for _ in range(grid.ndim))
    return -KT * np.log(smoothed[centre])


def reference_1d(grid, cv):
    if cv == "p.x":
        return _kernel_smoothed(grid, lambda x: np.exp(-(A * (x ** 2 - 1) ** 2) / KT))
    across = np.linspace(-5, 5, 4001)
    # F(y): integrate x out exactly (Gaussian in y - x), i.e. the x-density convolved with N(0, kT/K)
    return _kernel_smoothed(grid, lambda y: np.array(
        [np.trapezoid(np.exp(-potential(across, v) / KT), across) for v in y]))


def reference_2d(grid, bandwidth):
    return _kernel_smoothed(grid, lambda x, y: np.exp(-potential(x, y) / KT), bandwidth)


def assert_matches(estimate, reference, label, tolerance=TOLERANCE):
    reference = reference - reference.min()
    region = reference < 8.0 * KT
    assert np.isfinite(estimate[region]).all(), f"{label}: empty bins where F < 8 kT"
    boltzmann = np.exp(-reference[region] / KT)
    offset = np.sum(boltzmann * (estimate[region] - reference[region])) / boltzmann.sum()
    worst = np.abs(estimate[region] - offset - reference[region]).max()
    assert worst < tolerance, f"{label}: max |F - F_exact| = {worst / KT:.2f} kT over {region.sum()} points"
    return worst / KT


GRID_X = GridSpec(("p.x",), (-2.4,), (2.4,), (48,), (False,))
GRID_Y = GridSpec(("p.y",), (-3.0,), (3.0,), (60,), (False,))


@pytest.fixture(scope="module")
def metad_1d(tmp_path_factory):
    work = tmp_path_factory.mktemp("metad1d")
    simulate(work, ["p: POSITION ATOM=1 NOPBC",
                    "metad: METAD ARG=p.x SIGMA=0.1 HEIGHT=2.0 PACE=25 BIASFACTOR=15 TEMP=300 FILE=@HILLS "
                    "CALC_RCT RCT_USTRIDE=1 GRID_MIN=-3 GRID_MAX=3 GRID_BIN=300",
                    "PRINT ARG=p.x,p.y,metad.* FILE=@COLVAR STRIDE=1"], nsteps=40000)
    return work


@pytest.mark.parametrize("cv, grid", [("p.x", GRID_X), ("p.y", GRID_Y)])
@pytest.mark.parametrize("source", ["rct column", "rbias column", "hills"])
def test_wt_metad_reweighting_recovers_exact_free_energy(metad_1d, cv, grid, source):
    if source == "hills":
        # drop PLUMED's own c(t) so that it must come from HILLS
        colvar = read_plumed(metad_1d / "COLVAR", columns=["time", "p.x", "p.y", "metad.bias"])
        hills = read_hills(metad_1d / "HILLS")
        bias = ["metad.bias"]
    else:
        colvar, hills = read_plumed(metad_1d / "COLVAR"), None
        bias = ["metad.bias"] if source == "rct column" else ["metad.rbias"]
    reweighter = Reweighter(colvar, [cv], bias, KT, skip=0.1, hills=hills)
    result = reweighter.run(grid, bandwidth=[BANDWIDTH], blocks=5)
    assert " - " in result.weighting or source == "rbias column"
    assert_matches(result.fes.free, reference_1d(grid, cv), f"{source} {cv}")
    assert np.isfinite(result.fes.free_err[np.isfinite(result.fes.free)]).all()


def test_final_bias_reweighting_is_close(metad_1d):
    colvar = read_plumed(metad_1d / "COLVAR")
    hills = read_hills(metad_1d / "HILLS")
    # exp(V_final/kT) is right only where the bias was already quasi-static: skip the first half
    # and allow 1 kT (the c(t) weights above use every sample with 0.5 kT)
    result = Reweighter(colvar, ["p.x"], ["metad.bias"], KT, skip=0.5, hills=hills, method="final").run(
        GRID_X, bandwidth=[BANDWIDTH])
    assert "final bias" in result.weighting
    assert_matches(result.fes.free, reference_1d(GRID_X, "p.x"), "final bias p.x", tolerance=1.0 * KT)


def test_ct_from_hills_matches_calc_rct_on_the_same_grid(metad_1d):
    """Same grid as METAD's (GRID_MIN/MAX/BIN): identical sums, so only the 6-decimal COLVAR
    print limits the agreement (5e-6 kJ/mol)."""
    colvar = read_plumed(metad_1d / "COLVAR")
    hills = read_hills(metad_1d / "HILLS")
    grid = GridSpec(("p.x",), (-3.0,), (3.0,), (300,), (False,))
    hill_times, ct = ct_from_hills(hills, KT, grid=grid, ustride=1)
    ours = ct_at_times(hill_times, ct, colvar.column("time"))
    assert np.abs(ours - colvar.column("metad.rct")).max() < 5e-6
    assert colvar.column("metad.rct").max() > 5 * KT  # a real, growing c(t)


@pytest.fixture(scope="module")
def opes_1d(tmp_path_factory):
    work = tmp_path_factory.mktemp("opes1d")
    simulate(work, ["p: POSITION ATOM=1 NOPBC",
                    "opes: OPES_METAD ARG=p.x PACE=25 BARRIER=30 TEMP=300 FILE=@KERNELS",
                    "PRINT ARG=p.x,p.y,opes.* FILE=@COLVAR STRIDE=1"], nsteps=40000, seed=2)
    return work


@pytest.mark.parametrize("cv, grid", [("p.x", GRID_X), ("p.y", GRID_Y)])
def test_opes_reweighting_recovers_exact_free_energy(opes_1d, cv, grid):
    colvar = read_plumed(opes_1d / "COLVAR")
    result = Reweighter(colvar, [cv], ["opes.bias"], KT, skip=0.1).run(grid, bandwidth=[BANDWIDTH], blocks=5)
    assert result.weighting == "opes.bias as is"
    assert_matches(result.fes.free, reference_1d(grid, cv), f"OPES {cv}")


@pytest.fixture(scope="module")
def metad_2d(tmp_path_factory):
    work = tmp_path_factory.mktemp("metad2d")
    simulate(work, ["p: POSITION ATOM=1 NOPBC",
                    "metad: METAD ARG=p.x,p.y SIGMA=0.1,0.1 HEIGHT=2.0 PACE=25 BIASFACTOR=15 TEMP=300 FILE=@HILLS "
                    "CALC_RCT GRID_MIN=-3,-3 GRID_MAX=3,3 GRID_BIN=120,120",
                    "PRINT ARG=p.x,p.y,metad.* FILE=@COLVAR STRIDE=1"], nsteps=40000, seed=3)
    return work


@pytest.mark.parametrize("source", ["rct column", "hills"])
def test_wt_metad_2d_reweighting_recovers_exact_free_energy(metad_2d, source):
    if source == "hills":
        colvar = read_plumed(metad_2d / "COLVAR", columns=["time", "p.x", "p.y", "metad.bias"])
        hills = read_hills(metad_2d / "HILLS")
        # c(t) on METAD's own grid range, as the run would have had it
        ct_grid = GridSpec(("p.x", "p.y"), (-3.0, -3.0), (3.0, 3.0), (120, 120), (False, False))
    else:
        colvar, hills, ct_grid = read_plumed(metad_2d / "COLVAR"), None, None
    grid = GridSpec(("p.x", "p.y"), (-2.4, -2.4), (2.4, 2.4), (32, 32), (False, False))
    bandwidth = 1.5 * BANDWIDTH  # 2D bins hold fewer samples: smooth a little more
    result = Reweighter(colvar, ["p.x", "p.y"], ["metad.bias"], KT, skip=0.1, hills=hills, ct_grid=ct_grid).run(
        grid, bandwidth=[bandwidth, bandwidth], blocks=5)
    assert_matches(result.fes.free, reference_2d(grid, bandwidth), f"2D {source}")
