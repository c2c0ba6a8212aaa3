"""Gaussian kernel density estimates and their maxima (the paper's 'KDE maxima').

Bandwidth: Scott's rule (scipy.stats.gaussian_kde's default), h = std * n^(-1/5), unless a
bandwidth is given in the samples' own unit (A for distances, degrees for angles).  Every
local maximum at least `min_height` (fraction of the highest) is reported, because some
angles have two populations (N-Ag-Ag: ~81 and ~138 degrees in the study); each position is
refined by a parabola through the three grid points around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nucleate.errors import NucleateError


@dataclass
class KDEResult:
    label: str
    unit: str
    n_samples: int
    bandwidth: float              # kernel standard deviation, in `unit`
    grid: np.ndarray
    density: np.ndarray           # 1/unit, integrates to 1
    maxima: list[float] = field(default_factory=list)
    heights: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        return {"quantity": self.label, "unit": self.unit, "n_samples": self.n_samples,
                "bandwidth": round(self.bandwidth, 6), "maxima": [round(m, 4) for m in self.maxima],
                "heights": [round(h, 6) for h in self.heights]}


def kde(samples, label: str = "", unit: str = "", bandwidth: float | None = None,
        grid: np.ndarray | None = None, min_height: float = 0.1, points: int = 1024) -> KDEResult:
    """Density of 1-D `samples` on a grid and its maxima; bandwidth None means Scott's rule."""
    from scipy.stats import gaussian_kde

    samples = np.asarray(samples, dtype=float).ravel()
    if samples.size < 2 or np.ptp(samples) == 0.0:
        raise NucleateError(f"{label or 'quantity'}: {samples.size} sample(s) with no spread, no density to estimate; "
                            "check the groups and cutoffs (no bonded pairs within the cutoff?)")
    std = samples.std(ddof=1)
    bw_method = None if bandwidth is None else float(bandwidth) / std
    estimator = gaussian_kde(samples, bw_method=bw_method)
    h = float(np.sqrt(estimator.covariance[0, 0]))
    if grid is None:
        low, high = samples.min() - 3 * h, samples.max() + 3 * h
        if unit == "deg":  # angles live in [0, 180]
            low, high = max(low, 0.0), min(high, 180.0)
        grid = np.linspace(low, high, points)
    density = estimator(grid)
    maxima, heights = _local_maxima(grid, density, min_height)
    return KDEResult(label, unit, int(samples.size), h, grid, density, maxima, heights)


def _local_maxima(grid: np.ndarray, density: np.ndarray, min_height: float) -> tuple[list[float], list[float]]:
    inner = (density[1:-1] > density[:-2]) & (density[1:-1] >= density[2:])
    peaks = np.flatnonzero(inner) + 1
    peaks = peaks[density[peaks] >= min_height * density.max()]
    positions, heights = [], []
    step = grid[1] - grid[0]
    for k in peaks:
        left, mid, right = density[k - 1], density[k], density[k + 1]
        curvature = left - 2 * mid + right
        offset = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
        positions.append(float(grid[k] + offset * step))
        heights.append(float(mid - 0.25 * (left - right) * offset))
    return positions, heights
