"""Basins, minimum free-energy paths and block errors on surfaces known in closed form."""

from __future__ import annotations

import numpy as np

from nucleate.analysis.basins import find_basins, minimum_free_energy_path
from nucleate.analysis.blocks import block_average, effective_sample_size
from nucleate.analysis.fes_grid import FES, GridSpec

KT = 2.5


def surface(function, grid):
    x, y = grid.mesh()
    return FES(grid=grid, free=function(x, y), energy_unit="kj/mol", kt=KT)


def test_two_gaussian_wells_give_their_weights():
    """F = -kT ln(w1 N(mu1) + w2 N(mu2)): basin free energies differ by kT ln(w1/w2) exactly."""
    grid = GridSpec(("a", "b"), (-3.0, -2.0), (3.0, 2.0), (120, 80), (False, False))
    w1, w2, s = 0.7, 0.3, 0.25

    def free(x, y):
        p = (w1 * np.exp(-((x + 1.2) ** 2 + y ** 2) / (2 * s * s))
             + w2 * np.exp(-((x - 1.3) ** 2 + (y - 0.5) ** 2) / (2 * s * s)))
        return -KT * np.log(p + 1e-300)

    basins = find_basins(surface(free, grid), max_free=20 * KT)
    assert [b.name for b in basins] == ["A", "B"]
    np.testing.assert_allclose(basins[0].location, (-1.2, 0.0), atol=1e-9)
    np.testing.assert_allclose(basins[1].location, (1.3, 0.5), atol=1e-9)
    assert abs(basins[1].free_basin - KT * np.log(w1 / w2)) < 1e-3 * KT


def test_path_crosses_the_saddle_with_the_known_barrier():
    grid = GridSpec(("a", "b"), (-2.0, -1.0), (2.0, 1.0), (80, 40), (False, False))
    fes = surface(lambda x, y: 3 * KT * (x * x - 1) ** 2 + 2 * KT * (y - 0.3 * x * x) ** 2 * 4, grid)
    basins = find_basins(fes)
    path = minimum_free_energy_path(fes, basins[0].index, basins[1].index)
    assert abs(path.barrier - 3 * KT) < 0.05 * KT      # crosses at the saddle (0, 0), within a grid step
    assert np.abs(path.points[:, 1] - 0.3 * path.points[:, 0] ** 2).max() < 0.11  # along the valley floor


def test_l_shaped_valley_path_goes_round_the_corner():
    """Drying then reorganisation: the path follows the L, not the diagonal."""
    grid = GridSpec(("s3", "s4"), (-0.5, -0.5), (1.5, 1.5), (40, 40), (False, False))
    fes = surface(lambda x, y: 8 * KT * np.minimum(y ** 2, (x - 1) ** 2) / 0.05 + 0.5 * KT * (x - 1) ** 2
                  + 1.0 * KT * (y - 1) ** 2 * (np.abs(x - 1) < 0.1), grid)
    start = (np.argmin(np.abs(grid.axis(0) - 0.0)), np.argmin(np.abs(grid.axis(1) - 0.0)))
    end = (np.argmin(np.abs(grid.axis(0) - 1.0)), np.argmin(np.abs(grid.axis(1) - 1.0)))
    path = minimum_free_energy_path(fes, start, end)
    corner = np.hypot(path.points[:, 0] - 1.0, path.points[:, 1]).min()
    assert corner < 0.15  # the diagonal passes 0.7 from the corner
    assert path.free.max() < 2 * KT


def test_block_errors_cover_the_truth_at_the_advertised_rate():
    """30 replicas of 20000 iid N(0,1) samples: |F - F_exact| < 2 sigma on ~95 % of points."""
    centres = np.linspace(-2, 2, 21)
    hits, total = 0, 0
    for seed in range(30):
        x = np.random.default_rng(seed).normal(size=20000)
        idx = np.rint((x + 2) / 0.2).astype(int)
        ok = (idx >= 0) & (idx < 21)
        blocks = np.array_split(np.arange(len(x)), 10)
        hist = np.array([np.bincount(idx[b][ok[b]], minlength=21) for b in blocks], dtype=float)
        mean, err, k_eff = block_average(hist, np.array([len(b) for b in blocks], dtype=float))
        free, free_err = -np.log(mean), err / mean
        cell = -np.log(np.array([np.exp(-0.5 * np.linspace(c - 0.1, c + 0.1, 101) ** 2).mean()
                                 for c in centres]) * 0.2 / np.sqrt(2 * np.pi))
        hits += np.sum(np.abs(free - cell) < 2 * free_err)
        total += free.size
        assert abs(k_eff - 10) < 1e-9
    assert 0.88 < hits / total <= 1.0


def test_effective_sample_size():
    assert effective_sample_size(np.ones(50)) == 50
    assert abs(effective_sample_size(np.r_[np.ones(10), 1e-12 * np.ones(90)]) - 10) < 1e-6
