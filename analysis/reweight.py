"""Reweighting biased samples (COLVAR rows) to a free-energy surface on any printed CV(s).

Weights, all as log-weights beta * (bias - correction):
- OPES and any static bias: w = exp(beta V), V = sum of the --bias columns.
- WT-MetaD with the Tiwary-Parrinello correction: w = exp(beta (V(s,t) - c(t))).  c(t) comes
  from PLUMED's `LABEL.rct` column when it was printed (or use `LABEL.rbias` directly), else
  from the HILLS file (`hills=`), computed as CALC_RCT does.
- WT-MetaD with the final bias (method="final"): w = exp(beta V_final(s)), V_final from all hills.

Estimation (`Reweighter.run`) is separate from querying (the returned `ReweightResult`).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from nucleate.errors import NucleateError
from nucleate.analysis.fes_grid import FES, GridSpec
from nucleate.analysis.hills import Hills, bias_grid, ct_at_times, ct_from_hills, interpolate_on_grid
from nucleate.analysis.plumed_files import PlumedTable

_LOOKS_LIKE_BIAS = re.compile(r"bias", re.IGNORECASE)
_OPES_MARKERS = ("zed", "neff", "nker")


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

    @property
    def n_samples(self) -> int:
        return len(self.log_weights)


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.split(",") if v]
    return list(value)


class Reweighter:
    """Set up weights for the rows of a COLVAR table; `run()` estimates the FES.

    colvar: PlumedTable (read_plumed); cvs: one or two column names; bias: bias columns (summed);
    kt: k_B T in the COLVAR's energy unit; skip: fraction of rows dropped from the start;
    hills: HILLS of the METAD whose bias is the first bias column (for c(t) or the final bias);
    method: "ct" (bias minus c(t), or the bias as is for OPES/static biases) or "final".
    """

    def __init__(self, colvar: PlumedTable, cvs, bias, kt: float, *, skip: float = 0.0,
                 hills: Hills | None = None, method: str = "ct", ct_grid: GridSpec | None = None):
        self.table = colvar
        self.cvs = _as_list(cvs)
        self.bias = _as_list(bias)
        self.kt = float(kt)
        self.skip = float(skip)
        self.hills = hills
        self.method = method
        self.ct_grid = ct_grid
        self.notes: list[str] = []
        where = colvar.describe()
        if not 1 <= len(self.cvs) <= 2:
            raise NucleateError(f"give one or two CVs (got {len(self.cvs)}: {', '.join(self.cvs)})")
        if not (self.kt > 0 and math.isfinite(self.kt)):
            raise NucleateError(f"kT must be a positive number (got {kt})")
        if not 0.0 <= self.skip < 1.0:
            raise NucleateError(f"--skip is the fraction of rows dropped as equilibration, in [0, 1) (got {skip})")
        if method not in ("ct", "final"):
            raise NucleateError(f"unknown reweighting method {method!r} (ct, final)")
        if method == "final" and hills is None:
            raise NucleateError("reweighting with the final bias needs the HILLS file (--hills)")
        for name in self.cvs:
            colvar.column(name)
        for name in self.bias:
            colvar.column(name)
            if name in self.cvs or name == "time":
                raise NucleateError(f"{where}: column {name!r} is a CV or the time, not a bias")
            if not _LOOKS_LIKE_BIAS.search(name):
                raise NucleateError(f"{where}: column {name!r} does not look like a bias (PLUMED names them "
                                    "LABEL.bias or LABEL.rbias); pass the bias column(s) of your METAD/OPES/walls")
        start = int(round(self.skip * len(colvar)))
        self._rows = slice(start, len(colvar))
        if start >= len(colvar):
            raise NucleateError(f"{where}: --skip {skip} leaves no rows")
        for name in self.cvs + (["time"] if "time" in colvar else []):
            # a NaN or inf sample would set the grid range or fall outside it without a word
            colvar.finite_column(name, start, why="every sample needs a finite CV value and time")

    # -- weights ---------------------------------------------------------------------------
    def times(self) -> np.ndarray:
        if "time" in self.table:
            return self.table.column("time")[self._rows]
        return np.arange(len(self.table), dtype=float)[self._rows]

    def samples(self) -> np.ndarray:
        # (n, d) as the transpose of a (d, n) array: each CV stays contiguous for the binning
        return np.array([self.table.column(c)[self._rows] for c in self.cvs]).T

    def _label(self, column: str) -> str:
        return column.rsplit(".", 1)[0] if "." in column else ""

    def _is_opes(self, label: str) -> bool:
        return any(f"{label}.{m}" in self.table for m in _OPES_MARKERS)

    def _correction(self, column: str, first: bool) -> tuple[np.ndarray | float, str]:
        """What to subtract from one bias column: c(t) for a WT-MetaD bias, else 0."""
        label = self._label(column)
        if column.endswith(".rbias") or not column.endswith(".bias") or self._is_opes(label):
            return 0.0, f"{column} as is"
        rct = f"{label}.rct"
        if rct in self.table:
            return self.table.column(rct)[self._rows], f"{column} - {rct}"
        if first and self.hills is not None:
            if "time" not in self.table:
                raise NucleateError(f"{self.table.describe()}: c(t) from HILLS needs the `time` column")
            hill_times, ct = ct_from_hills(self.hills, self.kt, grid=self.ct_grid)
            return ct_at_times(hill_times, ct, self.times()), f"{column} - c(t) from {self.hills.source}"
        warnings.warn(f"no c(t) for {column} (no {rct} column, no HILLS given): if it is a WT-MetaD bias, "
                      "weights exp(beta V(s,t)) over-weight the late part of the run", stacklevel=4)
        return 0.0, f"{column} as is (no c(t))"

    def log_weights(self) -> np.ndarray:
        self.notes = []
        total = np.zeros(self._rows.stop - self._rows.start)
        for i, column in enumerate(self.bias):
            if i == 0 and self.method == "final":
                values = self._final_bias()
                self.notes.append(f"{column} replaced by the final bias of {self.hills.source}")
            else:
                correction, note = self._correction(column, first=(i == 0))
                values = self.table.column(column)[self._rows] - correction
                self.notes.append(note)
            total += values
        if not np.isfinite(total).all():
            bad = int(np.flatnonzero(~np.isfinite(total))[0])
            raise NucleateError(f"{self.table.where(bad + self._rows.start)}: the bias {' + '.join(self.bias)} is "
                                f"{total[bad]} there ({'; '.join(self.notes)}), not a finite number")
        logw = total / self.kt
        return logw - logw.max() if len(logw) else logw

    def _final_bias(self) -> np.ndarray:
        hills = self.hills
        for name in hills.names:
            if name not in self.table:
                raise NucleateError(f"{self.table.describe()}: the hills are on {name!r}, which is not a column here; "
                                    "print the METAD arguments in COLVAR")
        grid, values = bias_grid(hills)
        points = np.column_stack([self.table.column(n)[self._rows] for n in hills.names])
        return interpolate_on_grid(grid, values, points)

    # -- estimation ------------------------------------------------------------------------
    def default_grid(self, bins=None, mins=None, maxs=None) -> GridSpec:
        return self._default_grid(self.samples(), bins, mins, maxs)

    def _default_grid(self, samples: np.ndarray, bins=None, mins=None, maxs=None) -> GridSpec:
        names, lo, hi, nb, per = [], [], [], [], []
        for k, name in enumerate(self.cvs):
            domain = self.table.periodic_domain(name)
            column = samples[:, k]
            if domain is not None:
                low, high = domain
            else:
                low, high = float(column.min()), float(column.max())
                if high <= low:
                    high = low + 1.0
            names.append(name)
            lo.append(float(mins[k]) if mins is not None else low)
            hi.append(float(maxs[k]) if maxs is not None else high)
            nb.append(int(bins[k]) if bins is not None else (100 if len(self.cvs) == 1 else 80))
            per.append(domain is not None)
        return GridSpec(tuple(names), tuple(lo), tuple(hi), tuple(nb), tuple(per))

    def run(self, grid: GridSpec | None = None, *, bins=None, mins=None, maxs=None, bandwidth=None,
            blocks: int | None = None) -> ReweightResult:
        """Weighted histogram (or KDE with `bandwidth`, one per CV in CV units) on the grid;
        with `blocks` K >= 2, a block-analysis error on every grid point."""
        from nucleate.analysis.blocks import block_average  # noqa: PLC0415

        samples = self.samples()
        grid = grid or self._default_grid(samples, bins, mins, maxs)
        logw = self.log_weights()
        weights = np.exp(logw)
        index, inside = grid_indices(grid, samples)
        n_outside = int((~inside).sum())
        if not inside.any():
            ranges = ", ".join(f"{n} in [{samples[:, k].min():.6g}, {samples[:, k].max():.6g}]"
                               for k, n in enumerate(self.cvs))
            asked = ", ".join(f"{n} in [{grid.mins[k]:.6g}, {grid.maxs[k]:.6g}]" for k, n in enumerate(self.cvs))
            raise NucleateError(f"{self.table.describe()}: no sample in the grid range ({asked}); the data has {ranges}")
        sigma_points = None
        if bandwidth is not None:
            bandwidth = [float(b) for b in (bandwidth if np.iterable(bandwidth) else [bandwidth])]
            if len(bandwidth) != grid.ndim or not all(0 < b < math.inf for b in bandwidth):  # NaN fails too
                raise NucleateError(f"--bandwidth needs one positive value per CV (got {bandwidth})")
            sigma_points = [b / dx for b, dx in zip(bandwidth, grid.spacing)]
        k_blocks = int(blocks) if blocks else 1
        if k_blocks > 1 and k_blocks > len(samples) // 2:
            raise NucleateError(f"{k_blocks} blocks need at least {2 * k_blocks} samples (have {len(samples)})")
        bounds = np.linspace(0, len(samples), k_blocks + 1).astype(int)
        block_hist = []
        block_weight = []
        for b in range(k_blocks):
            part = slice(bounds[b], bounds[b + 1])
            w = np.where(inside[part], weights[part], 0.0)
            hist = np.bincount(index[part], weights=w, minlength=int(np.prod(grid.shape))).reshape(grid.shape)
            if sigma_points is not None:
                hist = smooth(hist, grid, sigma_points)
            block_hist.append(hist)
            block_weight.append(weights[part].sum())
        mean, err, blocks_eff = block_average(np.array(block_hist), np.array(block_weight))
        with np.errstate(divide="ignore", invalid="ignore"):
            free = np.where(mean > 0, -self.kt * np.log(np.where(mean > 0, mean, 1.0)), np.inf)
            free_err = None
            if k_blocks > 1:
                free_err = np.where(mean > 0, self.kt * err / np.where(mean > 0, mean, 1.0), np.inf)
        fes = FES(grid=grid, free=free, energy_unit=self.table.units.energy, free_err=free_err, kt=self.kt,
                  meta={"source": self.table.describe(), "bias": list(self.bias), "skip": self.skip}).shifted_to_zero()
        n_eff = float(weights.sum() ** 2 / (weights ** 2).sum())
        return ReweightResult(fes=fes, log_weights=logw, samples=samples, times=self.times(), n_effective=n_eff,
                              n_outside=n_outside, n_blocks=k_blocks if k_blocks > 1 else None,
                              blocks_effective=blocks_eff if k_blocks > 1 else None,
                              weighting="; ".join(self.notes), notes=list(self.notes))


def grid_indices(grid: GridSpec, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat index of the nearest grid point of each sample, and whether it lies in the grid's range
    (a non-periodic grid point collects samples within half a spacing of it)."""
    flat = np.zeros(len(samples), dtype=np.int64)
    inside = np.ones(len(samples), dtype=bool)
    for k in range(grid.ndim):
        # in place: 10^6-10^7 samples, so temporaries cost more than the arithmetic
        u = np.subtract(samples[:, k], grid.mins[k])
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


def smooth(hist: np.ndarray, grid: GridSpec, sigma_points) -> np.ndarray:
    """Binned Gaussian KDE: the weighted histogram convolved with the kernel (wraps periodic CVs)."""
    from scipy.ndimage import gaussian_filter  # noqa: PLC0415

    modes = ["wrap" if p else "constant" for p in grid.periodic]
    return gaussian_filter(hist, sigma=sigma_points, mode=modes, truncate=4.0)


def kt_from(temperature_k: float | None, kt: float | None, energy_unit: str) -> float:
    """k_B T in energy_unit from exactly one of a temperature (K) or kT (energy_unit)."""
    from nucleate.units import kbt  # noqa: PLC0415

    if (temperature_k is None) == (kt is None):
        raise NucleateError("give exactly one of --temp (K) or --kt (in the file's energy unit)")
    if kt is not None:
        if not kt > 0 or not math.isfinite(kt):
            raise NucleateError(f"--kt must be a positive energy (got {kt})")
        return float(kt)
    if not temperature_k > 0 or not math.isfinite(temperature_k):
        raise NucleateError(f"--temp must be a positive temperature in K (got {temperature_k})")
    return kbt(temperature_k, energy_unit)
