"""The 1D Gaussian kernel sum D(g) = sum_n w_n exp(-(g - x_n)^2 / 2h^2) on a grid, through fine bins
and a truncated series, with a bounded relative error (the fast Gauss transform's idea).

Each sample x lies in a fine bin of width delta = h / BINS_PER_BANDWIDTH centred at c, x = c + h t,
|t| <= 1 / (2 BINS_PER_BANDWIDTH).  With z = (g - c) / h,

    exp(-(z - t)^2 / 2) = exp(-z^2 / 2) exp(-t^2 / 2) sum_p (z t)^p / p!,

so D(g) = sum_c exp(-z^2 / 2) sum_{p <= ORDER} z^p / p! M_p(c), with the bin moments
M_p(c) = sum_{x in c} w exp(-t^2 / 2) t^p: ORDER + 1 weighted bincounts over the samples, then a
(bins x grid) sum, instead of samples x grid exponentials.

Error: a kernel only counts while |z - t| <= 38.6 (beyond, exp underflows to 0 in double precision
in the exact sum too), so |z t| <= 40 / (2 BINS_PER_BANDWIDTH) = 0.5.  The series' remainder is
then at most 0.5^(ORDER+1) / (ORDER+1)! e^0.5 of exp(z t), and exp(z t) >= e^-0.5: a relative error
of each sample's term below e * 0.5^11 / 11! = 3.3e-11 for ORDER = 10, so of every D(g) (all terms
are positive); samples further than 40 h from every grid point, whose exact terms underflow to 0,
are left out.  Rounding adds ~1e-14.  `tests/test_analysis_kde_exact.py` checks 1e-10 against the
brute-force sum.

A wrapping periodic axis keeps each sample's nearest image, as the exact sum does: the fine bins
are laid so that no bin straddles a point half a period from a grid point (all samples of a bin
then share the nearest image).  A window on a periodic CV is left to the exact sum.
"""

from __future__ import annotations

import math

import numpy as np

from nucleate.analysis.fes_grid import GridSpec

ORDER = 10
BINS_PER_BANDWIDTH = 40
REACH = 40.0             # in bandwidths: exp(-(REACH - 1/80)^2 / 2) underflows to 0
RELATIVE_ERROR = math.e * 0.5 ** (ORDER + 1) / math.factorial(ORDER + 1)
_MAX_FINE_BINS = 1 << 22  # moments cost ORDER+1 arrays of this many doubles


def applies(grid: GridSpec, n_samples: int, bandwidth) -> bool:
    """Whether the series is the faster way: a 1D grid that is not a window of a periodic CV, and
    fewer fine-bin moments than samples (the series costs ~(ORDER + 1) x (samples + bins x grid
    points), the exact sum samples x grid points)."""
    if grid.ndim != 1 or grid.is_window(0):
        return False
    bins = _fine_bins(grid, bandwidth[0])
    return bins is not None and 2 * (ORDER + 1) * bins[2] < n_samples


def _fine_bins(grid: GridSpec, h: float):
    """(first centre, width, count) of the fine bins, or None when they would be too many."""
    lo, hi = grid.mins[0], grid.maxs[0]
    if grid.periodic[0]:
        # width = spacing / (2m): bin edges fall on g_j + period/2 for every grid point g_j
        spacing = grid.spacing[0]
        half_steps = max(1, math.ceil(spacing * BINS_PER_BANDWIDTH / (2.0 * h)))
        width = spacing / (2 * half_steps)
        count = grid.shape[0] * 2 * half_steps
        return (lo + 0.5 * width, width, count) if count <= _MAX_FINE_BINS else None
    width = h / BINS_PER_BANDWIDTH
    first = lo - REACH * h
    count = int(math.ceil((hi - lo + 2 * REACH * h) / width)) + 1
    return (first, width, count) if count <= _MAX_FINE_BINS else None


def kernel_sum_1d(grid: GridSpec, values: np.ndarray, weights: np.ndarray, h: float) -> np.ndarray:
    """sum_n w_n exp(-(g - x_n)^2 / 2h^2) at the grid points, relative error <= RELATIVE_ERROR."""
    return kernel_sums_1d(grid, [(values, weights)], h)[0]


def kernel_sums_1d(grid: GridSpec, parts, h: float) -> list[np.ndarray]:
    """kernel_sum_1d of each (values, weights) in `parts` (the blocks of a run), on one grid: the
    distances and Gaussians between grid points and fine bins are computed once for all parts."""
    first, width, count = _fine_bins(grid, h)
    moments = [_moments(grid, values, weights, h, first, width, count) for values, weights in parts]
    filled = [m[0] > 0 for m in moments]
    used = np.flatnonzero(filled[0] if len(filled) == 1 else np.any(filled, axis=0))
    if not len(used):
        return [np.zeros(grid.shape) for _ in parts]
    centres = first + width * np.arange(count)
    z = np.subtract.outer(grid.axis(0), centres[used]) / h  # (grid points, bins)
    if grid.periodic[0]:
        scaled_period = grid.periods[0] / h
        z -= scaled_period * np.rint(z / scaled_period)
    gauss = np.square(z)
    gauss *= -0.5
    np.exp(gauss, out=gauss)
    sums = []
    for part_moments, part_filled in zip(moments, filled):
        if not part_filled.any():
            sums.append(np.zeros(grid.shape))
            continue
        # sum_p z^p / p! M_p by Horner, times exp(-z^2 / 2)
        total = np.broadcast_to(part_moments[ORDER, used] / math.factorial(ORDER), z.shape).copy()
        for p in range(ORDER - 1, -1, -1):
            total *= z
            total += part_moments[p, used] / math.factorial(p)
        total *= gauss
        sums.append(total.sum(axis=1))
    return sums


def _moments(grid: GridSpec, values: np.ndarray, weights: np.ndarray, h: float, first: float, width: float,
             count: int) -> np.ndarray:
    """M_p(c) = sum_{x in c} w exp(-t^2 / 2) t^p for p = 0..ORDER: (ORDER + 1, count)."""
    if grid.periodic[0]:
        period = grid.periods[0]
        shifted = np.mod(values - grid.mins[0], period)  # into [min, min + period), as the bins cover
        position = shifted / width - 0.5
    else:
        position = (values - first) / width
        near = (position > -0.5) & (position < count - 0.5)  # within REACH bandwidths of the grid
        if not near.all():
            position, weights = position[near], weights[near]
    index = np.rint(position)
    t = position - index
    t *= width / h
    index = index.astype(np.intp)
    if grid.periodic[0]:
        index %= count
    term = np.square(t)
    term *= -0.5
    np.exp(term, out=term)
    term *= weights
    moments = np.empty((ORDER + 1, count))
    for p in range(ORDER + 1):
        if p:
            term *= t
        moments[p] = np.bincount(index, weights=term, minlength=count)
    return moments
