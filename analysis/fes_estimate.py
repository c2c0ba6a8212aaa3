"""Free-energy surfaces from weighted samples: weighted histogram or exact Gaussian KDE on a grid,
with block-analysis errors (contiguous blocks in time, or one block per walker).

F(g) = -kT ln D(g), shifted to a minimum of 0, where D is the weighted histogram or kernel density
(`kernel_density`).  The grid defaults to the samples' range (a periodic CV's whole domain), and
on a periodic CV `--min/--max` narrower than its domain give a window that keeps its period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nucleate.analysis.blocks import block_average
from nucleate.analysis.fes_grid import FES, GridSpec, axis_extent
from nucleate.analysis.kernel_density import grid_indices, kernel_densities, rule_of_thumb_bandwidth, weighted_histogram
from nucleate.analysis.weight_checks import WeightCheck, check_weights
from nucleate.analysis.weighted_samples import WeightedSamples
from nucleate.errors import NucleateError

AUTO = "auto"          # bandwidth: Silverman's rule on the Kish effective sample size
WALKERS = "walkers"    # blocks: one per walker file


@dataclass
class ReweightResult:
    """What a reweighting produced; energies in `fes.energy_unit`."""

    fes: FES
    log_weights: np.ndarray      # of the samples used, max 0
    samples: np.ndarray          # (n, d) CV values of the samples used
    times: np.ndarray            # (n,) their times
    n_effective: float           # Kish effective sample size (sum w)^2 / sum w^2
    n_outside: int               # samples outside the grid range
    n_blocks: int | None = None
    blocks_effective: float | None = None  # effective number of blocks (sum W_b)^2 / sum W_b^2
    weighting: str = ""
    notes: list[str] = field(default_factory=list)
    bandwidth: list[float] | None = None   # KDE bandwidth per CV (None: histogram)
    bandwidth_rule: str = ""               # where the bandwidth came from
    check: WeightCheck | None = None

    @property
    def n_samples(self) -> int:
        return len(self.log_weights)

    @property
    def warning(self) -> str | None:
        return None if self.check is None else self.check.warning


def default_grid(samples: WeightedSamples, bins=None, mins=None, maxs=None) -> GridSpec:
    """The samples' range (a periodic CV's domain, or a window of it), 100 bins in 1D, 80 x 80 in 2D."""
    names, lo, hi, nb, wraps, periods = [], [], [], [], [], []
    for k, (name, domain) in enumerate(zip(samples.names, samples.domains)):
        low = float(mins[k]) if mins is not None else None
        high = float(maxs[k]) if maxs is not None else None
        if domain is None:
            column = samples.values[:, k]
            low = float(column.min()) if low is None else low
            high = float(column.max()) if high is None else high
            if high <= low and mins is None and maxs is None:
                high = low + 1.0
        low, high, wrap, period = axis_extent(name, domain, low, high, samples.source)
        names.append(name)
        lo.append(low)
        hi.append(high)
        nb.append(int(bins[k]) if bins is not None else (100 if len(samples.names) == 1 else 80))
        wraps.append(wrap)
        periods.append(period)
    return GridSpec(tuple(names), tuple(lo), tuple(hi), tuple(nb), tuple(wraps), tuple(periods))


def _bandwidth(bandwidth, grid: GridSpec, samples: WeightedSamples, weights: np.ndarray) -> tuple[list | None, str]:
    if bandwidth is None:
        return None, "histogram"
    if isinstance(bandwidth, str):
        if bandwidth != AUTO:
            raise NucleateError(f"--bandwidth {bandwidth!r}: give numbers (one per CV) or {AUTO!r}")
        chosen, n_eff = rule_of_thumb_bandwidth(grid, samples.values, weights)
        return chosen, f"Silverman's rule on the Kish effective sample size {n_eff:.1f}"
    values = [float(b) for b in (bandwidth if np.iterable(bandwidth) else [bandwidth])]
    if len(values) != grid.ndim or not all(0 < b < math.inf for b in values):  # NaN fails too
        raise NucleateError(f"--bandwidth needs one positive value per CV (got {values})")
    return values, "given"


def _blocks(samples: WeightedSamples, blocks) -> list:
    """The samples of each block: slices for contiguous blocks in time, boolean masks for walkers."""
    if blocks == WALKERS:
        if samples.walkers is None or len(samples.walker_names) < 2:
            raise NucleateError(f"--blocks {WALKERS} needs two or more walker files (--walkers)")
        return [samples.walkers == walker for walker in range(len(samples.walker_names))]
    count = int(blocks) if blocks else 1
    if count <= 1:
        return [slice(None)]
    if count > len(samples) // 2:
        raise NucleateError(f"{count} blocks need at least {2 * count} samples (have {len(samples)})")
    bounds = np.linspace(0, len(samples), count + 1).astype(int)
    return [slice(int(first), int(last)) for first, last in zip(bounds[:-1], bounds[1:])]


def _count_inside(grid: GridSpec, values: np.ndarray, chunk: int = 1 << 16) -> int:
    """How many samples lie in the grid's range, a chunk at a time (no temporaries of the run's length)."""
    return sum(int(np.count_nonzero(grid_indices(grid, values[first:first + chunk])[1]))
               for first in range(0, len(values), chunk))


def _refuse_empty_range(samples: WeightedSamples, grid: GridSpec, n_inside: int) -> None:
    if n_inside:
        return
    ranges = ", ".join(f"{n} in [{samples.values[:, k].min():.6g}, {samples.values[:, k].max():.6g}]"
                       for k, n in enumerate(samples.names))
    asked = ", ".join(f"{n} in [{grid.mins[k]:.6g}, {grid.maxs[k]:.6g}]" for k, n in enumerate(samples.names))
    raise NucleateError(f"{samples.source}: no sample in the grid range ({asked}); the data has {ranges}")


def estimate_fes(samples: WeightedSamples, kt: float, energy_unit: str, grid: GridSpec | None = None, *,
                 bins=None, mins=None, maxs=None, bandwidth=None, blocks=None, time_unit: str = "",
                 meta: dict | None = None) -> ReweightResult:
    """F on the grid from the weighted samples.  bandwidth: None (histogram), numbers (one per CV, CV
    units) or "auto"; blocks: a number K >= 2 of contiguous blocks, or "walkers"."""
    grid = grid or default_grid(samples, bins, mins, maxs)
    log_weights = samples.normalised_log_weights()
    weights = np.exp(log_weights)
    n_inside = _count_inside(grid, samples.values)
    _refuse_empty_range(samples, grid, n_inside)
    widths, rule = _bandwidth(bandwidth, grid, samples, weights)
    parts = [(samples.values[chosen], weights[chosen]) for chosen in _blocks(samples, blocks)]
    count = len(parts)
    if widths is None:
        block_density = [weighted_histogram(grid, part_values, part_weights) for part_values, part_weights in parts]
    else:
        block_density = kernel_densities(grid, parts, widths)
    block_weight = [part_weights.sum() for _, part_weights in parts]
    mean, err, blocks_eff = block_average(np.array(block_density), np.array(block_weight))
    with np.errstate(divide="ignore", invalid="ignore"):
        free = np.where(mean > 0, -kt * np.log(np.where(mean > 0, mean, 1.0)), np.inf)
        free_err = None
        if count > 1:
            free_err = np.where(mean > 0, kt * err / np.where(mean > 0, mean, 1.0), np.inf)
    check = check_weights(samples, time_unit, weights=weights)
    header = {"sample_size": str(len(samples)), "effective_sample_size": f"{check.n_effective:.6g}"}
    if widths is not None:
        header |= {f"bandwidth_{name}": f"{h:.6g}" for name, h in zip(grid.names, widths)}
    if count > 1:
        header |= {"blocks": str(count), "effective_blocks": f"{blocks_eff:.6g}"}
    notes = [f"weights: {'; '.join(samples.weighting) or 'unbiased'}"] + \
        ([f"bandwidth: {rule}"] if widths is not None else []) + \
        ([f"warning: {check.warning}"] if check.warning else [])
    fes = FES(grid=grid, free=free, energy_unit=energy_unit, free_err=free_err, kt=kt,
              meta={"source": samples.source} | (meta or {}), header=header, notes=notes).shifted_to_zero()
    return ReweightResult(fes=fes, log_weights=log_weights, samples=samples.values,
                          times=samples.times, n_effective=check.n_effective, n_outside=len(samples) - n_inside,
                          n_blocks=count if count > 1 else None, blocks_effective=blocks_eff if count > 1 else None,
                          weighting="; ".join(samples.weighting), notes=list(samples.weighting), bandwidth=widths,
                          bandwidth_rule=rule, check=check)
