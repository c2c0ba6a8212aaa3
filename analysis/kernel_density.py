"""Weighted densities of samples on a grid: the histogram, and the Gaussian kernel density
evaluated exactly at every grid point (no binning first), for any bandwidth.

Kernel density: D(g) = sum_n w_n prod_k exp(-(g_k - x_nk)^2 / (2 h_k^2)), with distances along a
periodic CV taken to the sample's nearest image (the CV's own period, also on a grid that covers
only part of it).  It is the same sum as FES_from_Reweighting.py's, but evaluated as products of
per-axis kernel matrices: a 1D grid is one matrix-vector product per chunk of samples, a 2D grid
one matrix product (K_x^T diag(w) K_y), which BLAS runs at tens of GFlop/s.  Nothing is truncated,
so far tails are exact too (down to double precision's underflow).  A 1D grid with many samples
goes through fine-bin moments instead (`kde_series`: relative error <= 3.3e-11 at every point,
checked against the brute-force sum); `kernel_density(..., series=False)` keeps the exact sum.

Histogram: each sample counts at its nearest grid point; samples outside a non-periodic axis
(or outside a window of a periodic CV, after moving them to their nearest image) are left out.

Bandwidth rule when none is given: Silverman's rule of thumb in d dimensions on the Kish effective
sample size n_eff = (sum w)^2 / sum w^2, h_k = s_k (4 / ((d + 2) n_eff))^(1 / (d + 4)), where s_k
is the smaller of the weighted standard deviation and the weighted interquartile range / 1.349
(deviations from the circular mean on a periodic CV).
"""

from __future__ import annotations

import numpy as np

from nucleate.analysis import kde_series
from nucleate.analysis.blocks import effective_sample_size
from nucleate.analysis.fes_grid import GridSpec

# kernel values per axis and chunk of samples: 1 MB arrays stay in cache, and are large enough for BLAS
_CHUNK_VALUES = 1 << 17


def grid_indices(grid: GridSpec, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat index of the nearest grid point of each sample, and whether it lies in the grid's range
    (a non-periodic grid point collects samples within half a spacing of it)."""
    flat = np.zeros(len(samples), dtype=np.int64)
    inside = np.ones(len(samples), dtype=bool)
    for k in range(grid.ndim):
        # in place: 10^6-10^7 samples, so temporaries cost more than the arithmetic
        u = np.subtract(grid.nearest_image(k, samples[:, k]) if grid.is_window(k) else samples[:, k], grid.mins[k])
        np.divide(u, grid.spacing[k], out=u)
        np.rint(u, out=u)
        if grid.periodic[k]:
            u = np.mod(u.astype(np.int64), grid.shape[k])
        else:
            inside &= u >= 0
            inside &= u < grid.shape[k]
            u = u.astype(np.int64)
            np.clip(u, 0, grid.shape[k] - 1, out=u)
        flat *= grid.shape[k]
        flat += u
    return flat, inside


def weighted_histogram(grid: GridSpec, samples: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Sum of the weights of the samples nearest each grid point (samples outside: left out)."""
    index, inside = grid_indices(grid, samples)
    return np.bincount(index, weights=np.where(inside, weights, 0.0),
                       minlength=int(np.prod(grid.shape))).reshape(grid.shape)


def _axis_kernels(grid: GridSpec, k: int, values: np.ndarray, bandwidth: float) -> np.ndarray:
    """exp(-(g - x)^2 / 2h^2) for every sample x (rows) and grid point g of axis k (columns).
    Grid and samples are scaled by 1/(h sqrt 2) first, so the big array sees only four passes."""
    scale = 1.0 / (bandwidth * np.sqrt(2.0))
    distance = np.subtract.outer(values * scale, grid.axis(k) * scale)
    period = grid.periods[k]
    if period is not None:
        period *= scale
        distance -= period * np.rint(distance * (1.0 / period))
    np.square(distance, out=distance)
    np.negative(distance, out=distance)
    return np.exp(distance, out=distance)


def _one_blas_thread():
    """BLAS on one thread unless the user chose otherwise: on a shared machine OpenBLAS's spinning
    threads made the 2D product 1.4-15 s instead of a steady 2 s (10^6 samples, 100 x 100 grid)."""
    import contextlib
    import os

    if any(os.environ.get(name) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")):
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def kernel_density(grid: GridSpec, samples: np.ndarray, weights: np.ndarray, bandwidth, *,
                   series: bool = True) -> np.ndarray:
    """sum_n w_n K_h(g - x_n) at every grid point g (kernels not normalised: a constant factor).
    In 1D with many samples the sum goes through fine-bin moments (`kde_series`, relative error
    <= 3.3e-11); series=False always evaluates every kernel."""
    used = weights > 0  # weights that underflowed to 0 add nothing
    if not used.all():
        samples, weights = samples[used], weights[used]
    if series and kde_series.applies(grid, len(weights), bandwidth):
        return kde_series.kernel_sum_1d(grid, samples[:, 0], weights, bandwidth[0])
    density = np.zeros(grid.shape)
    chunk = max(1, _CHUNK_VALUES // max(grid.shape))
    with _one_blas_thread():
        for first in range(0, len(weights), chunk):
            part = slice(first, first + chunk)
            along_x = _axis_kernels(grid, 0, samples[part, 0], bandwidth[0])
            if grid.ndim == 1:
                density += weights[part] @ along_x
            else:
                along_x *= weights[part, None]
                density += along_x.T @ _axis_kernels(grid, 1, samples[part, 1], bandwidth[1])
    return density


def kernel_densities(grid: GridSpec, parts, bandwidth) -> list[np.ndarray]:
    """kernel_density of each (samples, weights) in `parts` (the blocks of a run): when the 1D series
    applies to every part, its grid-side work is done once for all of them."""
    kept = []
    for samples, weights in parts:
        used = weights > 0  # weights that underflowed to 0 add nothing
        kept.append((samples, weights) if used.all() else (samples[used], weights[used]))
    if len(kept) > 1 and all(kde_series.applies(grid, len(weights), bandwidth) for _, weights in kept):
        return kde_series.kernel_sums_1d(grid, [(samples[:, 0], weights) for samples, weights in kept], bandwidth[0])
    return [kernel_density(grid, samples, weights, bandwidth) for samples, weights in kept]


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, quantiles) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return np.interp(np.asarray(quantiles) * cumulative[-1], cumulative, values[order])


def _deviations(grid: GridSpec, k: int, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Deviations from the weighted mean; on a periodic CV from the circular mean, to the nearest image."""
    period = grid.periods[k]
    if period is None:
        return values - np.average(values, weights=weights)
    angle = 2.0 * np.pi * values / period
    mean = period / (2.0 * np.pi) * np.arctan2(np.average(np.sin(angle), weights=weights),
                                               np.average(np.cos(angle), weights=weights))
    deviation = values - mean
    return deviation - period * np.rint(deviation / period)


def rule_of_thumb_bandwidth(grid: GridSpec, samples: np.ndarray, weights: np.ndarray) -> tuple[list[float], float]:
    """(bandwidth per CV, n_eff): Silverman's rule on the Kish effective sample size.  A CV whose
    samples do not spread gets one grid spacing."""
    n_eff = effective_sample_size(weights)
    dims = samples.shape[1]
    factor = (4.0 / ((dims + 2.0) * max(n_eff, 1.0))) ** (1.0 / (dims + 4.0))
    bandwidth = []
    for k in range(dims):
        deviation = _deviations(grid, k, samples[:, k], weights)
        spread = float(np.sqrt(np.average(deviation ** 2, weights=weights)))
        low, high = _weighted_quantiles(deviation, weights, [0.25, 0.75])
        if high > low:
            spread = min(spread, float(high - low) / 1.349)
        bandwidth.append(spread * factor if spread > 0 else grid.spacing[k])
    return bandwidth, n_eff
