"""Reweighting biased samples (COLVAR rows) to a free-energy surface on any printed CV(s).

Weights, all as log-weights beta * (bias - correction):
- OPES and any static bias: w = exp(beta V), V = sum of the --bias columns.
- WT-MetaD with the Tiwary-Parrinello correction: w = exp(beta (V(s,t) - c(t))).  `LABEL.rbias`
  is that already.  From `LABEL.bias` and `LABEL.rct`: METAD computes the bias of a step before it
  adds that step's hill, and prints rct after updating it, so PLUMED's own rbias(t) is
  bias(t) - rct(t - 1): the previous row's rct is used (exact when every c(t) update falls on a
  printed row, i.e. the PRINT stride divides PACE x RCT_USTRIDE; otherwise print LABEL.rbias).
  From the HILLS file (`hills=`): c computed as CALC_RCT does, after the hills strictly before t.
- WT-MetaD with the final bias (method="final"): w = exp(beta V_final(s)), V_final from all hills.

Rows a restart wrote again are dropped first (`colvar_restarts`).  Estimation lives in
`fes_estimate`; several walkers' samples are combined in `weighted_samples.combine_walkers`.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import TYPE_CHECKING

import numpy as np

from nucleate.errors import NucleateError
from nucleate.analysis.colvar_restarts import drop_superseded_rows
from nucleate.analysis.fes_estimate import ReweightResult, estimate_fes
from nucleate.analysis.fes_grid import GridSpec
from nucleate.analysis.plumed_files import PlumedTable
from nucleate.analysis.weighted_samples import WeightedSamples

if TYPE_CHECKING:  # hills is imported where c(t) or the final bias comes from a HILLS file
    from nucleate.analysis.hills import Hills

_LOOKS_LIKE_BIAS = re.compile(r"bias", re.IGNORECASE)
_OPES_MARKERS = ("zed", "neff", "nker")

__all__ = ["Reweighter", "ReweightResult", "kt_from", "previous_row"]


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in value.split(",") if v]
    return list(value)


def previous_row(values: np.ndarray) -> np.ndarray:
    """Each row's predecessor (the first row keeps its own value: at a run's first step c is still 0)."""
    shifted = np.empty_like(values)
    shifted[1:] = values[:-1]
    shifted[:1] = values[:1]
    return shifted


class Reweighter:
    """Set up weights for the rows of a COLVAR table; `run()` estimates the FES.

    colvar: PlumedTable (read_plumed); cvs: one or two column names; bias: bias columns (summed);
    kt: k_B T in the COLVAR's energy unit; skip: fraction of rows dropped from the start; tmin:
    rows before this time dropped too; hills: HILLS of the METAD whose bias is the first bias
    column (for c(t) or the final bias); method: "ct" (bias minus c(t), or the bias as is for
    OPES/static biases) or "final".
    """

    def __init__(self, colvar: PlumedTable, cvs, bias, kt: float, *, skip: float = 0.0, tmin: float | None = None,
                 hills: Hills | None = None, method: str = "ct", ct_grid: GridSpec | None = None):
        self.cvs = _as_list(cvs)
        self.bias = _as_list(bias)
        self.kt = float(kt)
        self.skip = float(skip)
        self.tmin = tmin
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
        if tmin is not None and not math.isfinite(tmin):
            raise NucleateError(f"--tmin must be a finite time (got {tmin})")
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
        self.table = drop_superseded_rows(colvar)
        self._rows = slice(self._first_row(), len(self.table))
        for name in self.cvs + (["time"] if "time" in self.table else []):
            # a NaN or inf sample would set the grid range or fall outside it without a word
            self.table.finite_column(name, self._rows.start, why="every sample needs a finite CV value and time")

    def _first_row(self) -> int:
        rows = len(self.table)
        start = int(round(self.skip * rows))
        if self.tmin is not None:
            if "time" not in self.table:
                raise NucleateError(f"{self.table.describe()}: --tmin needs the `time` column")
            start = max(start, int(np.searchsorted(self.table.column("time"), self.tmin, side="left")))
        if start >= rows:
            asked = f"--skip {self.skip:g}" + (f" and --tmin {self.tmin:g}" if self.tmin is not None else "")
            raise NucleateError(f"{self.table.describe()}: {asked} leave no rows")
        return start

    # -- weights ---------------------------------------------------------------------------
    def times(self) -> np.ndarray:
        if "time" in self.table:
            return self.table.column("time")[self._rows]
        return np.arange(len(self.table), dtype=float)[self._rows]

    def samples(self) -> np.ndarray:
        # (n, d) as the transpose of a (d, n) array: each CV stays contiguous for the binning; one CV
        # is a view of its column (no copy of the run's length: fresh memory is slow to fault in)
        columns = [self.table.column(c)[self._rows] for c in self.cvs]
        return columns[0][:, None] if len(columns) == 1 else np.array(columns).T

    def _label(self, column: str) -> str:
        return column.rsplit(".", 1)[0] if "." in column else ""

    def _is_opes(self, label: str) -> bool:
        return any(f"{label}.{m}" in self.table for m in _OPES_MARKERS)

    def _is_static(self, column: str) -> bool:
        """A bias that does not change in time: PLUMED's walls and restraints print LABEL.force2 beside
        LABEL.bias, METAD and OPES do not."""
        return f"{self._label(column)}.force2" in self.table

    def _correction(self, column: str, first: bool) -> tuple[np.ndarray | float, str]:
        """What to subtract from one bias column: c(t) for a WT-MetaD bias, else 0."""
        label = self._label(column)
        if column.endswith(".rbias") or not column.endswith(".bias") or self._is_opes(label):
            return 0.0, f"{column} as is"
        if self._is_static(column):
            return 0.0, f"{column} as is (a static bias: {label}.force2 printed)"
        rct = f"{label}.rct"
        if rct in self.table:
            # rbias(t) = bias(t) - rct(t-1): the bias comes before the step's hill, rct after it
            return previous_row(self.table.column(rct))[self._rows], f"{column} - {rct} of the previous row"
        if first and self.hills is not None:
            from nucleate.analysis.hills import ct_acting_at, ct_from_hills

            if "time" not in self.table:
                raise NucleateError(f"{self.table.describe()}: c(t) from HILLS needs the `time` column")
            hill_times, ct = ct_from_hills(self.hills, self.kt, grid=self.ct_grid)
            return ct_acting_at(hill_times, ct, self.times()), f"{column} - c(t) from {self.hills.source}"
        warnings.warn(f"no c(t) for {column} (no {rct} column, no HILLS given): if it is a WT-MetaD bias, "
                      "weights exp(beta V(s,t)) over-weight the late part of the run", stacklevel=4)
        return 0.0, f"{column} as is (no c(t))"

    def _log_weight_parts(self) -> dict[str, np.ndarray]:
        """beta x (each bias column minus its correction), in column order."""
        self.notes = []
        parts = {}
        for i, column in enumerate(self.bias):
            if i == 0 and self.method == "final":
                values = self._final_bias()
                self.notes.append(f"{column} replaced by the final bias of {self.hills.source}")
            else:
                correction, note = self._correction(column, first=(i == 0))
                values = self.table.column(column)[self._rows]
                if not (isinstance(correction, float) and correction == 0.0):
                    values = values - correction
                self.notes.append(note)
            parts[column] = values / self.kt
        return parts

    def _raw_log_weights(self, parts: dict[str, np.ndarray]) -> np.ndarray:
        if len(parts) == 1:
            total = next(iter(parts.values()))  # read only from here on: no copy
        else:
            total = np.zeros(self._rows.stop - self._rows.start)
            for values in parts.values():
                total += values
        if not np.isfinite(total).all():
            bad = int(np.flatnonzero(~np.isfinite(total))[0])
            raise NucleateError(f"{self.table.where(bad + self._rows.start)}: the bias {' + '.join(self.bias)} is "
                                f"{total[bad] * self.kt} there ({'; '.join(self.notes)}), not a finite number")
        return total

    def log_weights(self) -> np.ndarray:
        """beta (bias - correction) of each sample, shifted to a maximum of 0."""
        logw = self._raw_log_weights(self._log_weight_parts())
        return logw - logw.max() if len(logw) else logw

    def weighted_samples(self) -> WeightedSamples:
        parts = self._log_weight_parts()
        return WeightedSamples(
            names=tuple(self.cvs), values=self.samples(), log_weights=self._raw_log_weights(parts), times=self.times(),
            domains=tuple(self.table.periodic_domain(name) for name in self.cvs), source=self.table.describe(),
            weighting=list(self.notes), parts=parts, static_columns=tuple(c for c in self.bias if self._is_static(c)))

    def _final_bias(self) -> np.ndarray:
        from nucleate.analysis.hills import bias_grid, interpolate_on_grid

        hills = self.hills
        for name in hills.names:
            if name not in self.table:
                raise NucleateError(f"{self.table.describe()}: the hills are on {name!r}, which is not a column here; "
                                    "print the METAD arguments in COLVAR")
        grid, values = bias_grid(hills)
        points = np.column_stack([self.table.column(n)[self._rows] for n in hills.names])
        return interpolate_on_grid(grid, values, points)

    # -- estimation ------------------------------------------------------------------------
    def run(self, grid: GridSpec | None = None, *, bins=None, mins=None, maxs=None, bandwidth=None,
            blocks: int | str | None = None) -> ReweightResult:
        """Weighted histogram, or exact Gaussian KDE with `bandwidth` (one per CV in CV units, or
        "auto"), on the grid; with `blocks` K >= 2, a block-analysis error on every grid point."""
        return estimate_fes(self.weighted_samples(), self.kt, self.table.units.energy, grid, bins=bins, mins=mins,
                            maxs=maxs, bandwidth=bandwidth, blocks=blocks, time_unit=self.table.units.time,
                            meta={"bias": list(self.bias), "skip": self.skip})


def kt_from(temperature_k: float | None, kt: float | None, energy_unit: str) -> float:
    """k_B T in energy_unit from exactly one of a temperature (K) or kT (energy_unit)."""
    from nucleate.units import kbt

    if (temperature_k is None) == (kt is None):
        raise NucleateError("give exactly one of --temp (K) or --kt (in the file's energy unit)")
    if kt is not None:
        if not kt > 0 or not math.isfinite(kt):
            raise NucleateError(f"--kt must be a positive energy (got {kt})")
        return float(kt)
    if not temperature_k > 0 or not math.isfinite(temperature_k):
        raise NucleateError(f"--temp must be a positive temperature in K (got {temperature_k})")
    return kbt(temperature_k, energy_unit)
