"""The 1D KDE through fine-bin moments (`kde_series`, the default for many samples) against the
brute-force Gaussian kernel sum: relative error below its stated bound (3.3e-11) at bandwidths
from 0.2 to 5 grid spacings, periodic and not, with samples outside the grid and far from it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nucleate.analysis import kde_series
from nucleate.analysis.fes_grid import GridSpec
from nucleate.analysis.kernel_density import kernel_density
from test_analysis_kde_exact import brute_force

GRIDS = {
    "1d": GridSpec(("x",), (-2.0,), (2.0,), (40,), (False,)),
    "1d periodic": GridSpec(("t",), (-math.pi,), (math.pi,), (36,), (True,)),
}


def test_stated_bound():
    assert kde_series.RELATIVE_ERROR < 3.4e-11


@pytest.mark.parametrize("name", list(GRIDS))
@pytest.mark.parametrize("spacings", [0.2, 0.5, 1.0, 2.0, 5.0])
def test_series_is_the_kernel_sum(name, spacings):
    grid = GRIDS[name]
    rng = np.random.default_rng(11)
    samples = np.concatenate([rng.uniform(-3.5, 3.5, 4000), rng.normal(0.3, 0.2, 1000), [60.0, -1e4]])
    weights = np.exp(rng.normal(0.0, 2.0, len(samples)))
    h = spacings * grid.spacing[0]
    exact = brute_force(grid, samples[:, None], weights, [h])
    ours = kde_series.kernel_sum_1d(grid, samples, weights, h)
    assert (exact > 0).all()
    np.testing.assert_allclose(ours, exact, rtol=kde_series.RELATIVE_ERROR, atol=0)


def test_default_path_uses_the_series_for_many_samples_and_keeps_the_exact_one():
    grid = GridSpec(("x",), (-4.0,), (4.0,), (100,), (False,))
    rng = np.random.default_rng(5)
    samples = rng.normal(size=(300_000, 1))
    weights = np.exp(rng.normal(size=300_000))
    assert kde_series.applies(grid, len(samples), [0.1])
    series = kernel_density(grid, samples, weights, [0.1])
    exact = kernel_density(grid, samples, weights, [0.1], series=False)
    np.testing.assert_allclose(series, exact, rtol=kde_series.RELATIVE_ERROR, atol=0)
    # a window of a periodic CV and 2D grids always take the exact sum
    window = GridSpec(("t",), (-1.0,), (1.0,), (50,), (False,), (2 * math.pi,))
    assert not kde_series.applies(window, 10**7, [0.1])
    assert not kde_series.applies(GridSpec(("a", "b"), (0, 0), (1, 1), (10, 10), (False, False)), 10**7, [0.1, 0.1])


@pytest.mark.parametrize("name", list(GRIDS))
def test_blocks_share_the_grid_side_and_keep_their_sums(name):
    """kernel_sums_1d (the blocks of a run at once, Gaussians between grid points and fine bins
    computed once) gives each block's kernel_sum_1d to rounding: bins a block leaves empty add 0."""
    grid = GRIDS[name]
    rng = np.random.default_rng(13)
    parts = [(rng.uniform(-3.5, 3.5, 3000), np.exp(rng.normal(0.0, 2.0, 3000))),
             (rng.normal(1.0, 0.1, 2000), np.exp(rng.normal(0.0, 1.0, 2000))),
             (np.array([60.0, -1e4]), np.ones(2))]  # nothing within reach of the grid
    h = grid.spacing[0]
    together = kde_series.kernel_sums_1d(grid, parts, h)
    for (values, weights), sums in zip(parts, together):
        np.testing.assert_allclose(sums, kde_series.kernel_sum_1d(grid, values, weights, h), rtol=1e-13, atol=0)
