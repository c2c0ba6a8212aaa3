"""Grids and free-energy surfaces, with PLUMED's grid conventions and grid-file format.

Conventions (those of `plumed sum_hills --bin N`): a non-periodic axis with N bins has N+1
points min, min+dx, ..., max with dx = (max-min)/N; a periodic axis has N points
min, ..., max-dx.  Arrays are indexed in CV order (`free[ix, iy]`); files list the first CV
fastest, with a blank line between blocks, as PLUMED writes them.

Empty bins (no samples) have free = +inf and free_err = +inf; they are written as `inf`,
which numpy, gnuplot and PLUMED read back as infinity.  No NaN is ever written.

A periodic CV may be gridded over part of its period only (`--min/--max` narrower than the
`#! SET min_X/max_X` domain): that axis is then an ordinary non-periodic grid axis, but
distances along it keep the CV's own period (`GridSpec.periods`), so hills and kernels centred
across the boundary still count at their nearest image.

Files written here carry `#! SET energy_unit` and, for sampled surfaces, `#! SET kT` (in that
unit); `FES.read` honours them, so a surface in kcal/mol is never read back as kJ/mol.  PLUMED
2.11's DUMPGRID writes `nbins_X` as the number of bins (points - 1 on a non-periodic axis) where
sum_hills writes the number of points; `read_grid` counts the points in the file itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from nucleate.analysis.output_files import write_output
from nucleate.errors import NucleateError
from nucleate.units import energy_factor

# 8 bytes each and a few arrays of them: beyond this the machine runs out of memory, not the user
MAX_GRID_POINTS = 100_000_000


@dataclass(frozen=True)
class GridSpec:
    """A regular grid over one or two CVs; `nbins` counts intervals as PLUMED's --bin does.

    `periodic[k]`: axis k wraps (it covers a whole period).  `periods[k]`: the CV's period, used
    for distances, also on an axis that covers only part of it; None for a non-periodic CV.
    Left out, it is max - min on periodic axes."""

    names: tuple[str, ...]
    mins: tuple[float, ...]
    maxs: tuple[float, ...]
    nbins: tuple[int, ...]
    periodic: tuple[bool, ...]
    periods: tuple[float | None, ...] | None = None

    def __post_init__(self):
        n = len(self.names)
        if not (len(self.mins) == len(self.maxs) == len(self.nbins) == len(self.periodic) == n):
            raise NucleateError(f"grid for {', '.join(self.names)}: min/max/bin need one value per CV")
        for name, lo, hi, nb in zip(self.names, self.mins, self.maxs, self.nbins):
            if not (np.isfinite(lo) and np.isfinite(hi)):
                raise NucleateError(f"grid for {name}: min and max must be finite numbers (got {lo}, {hi})")
            if not hi > lo:
                raise NucleateError(f"grid for {name}: max ({hi}) must be larger than min ({lo})")
            if nb < 1:
                raise NucleateError(f"grid for {name}: need at least one bin (got {nb})")
        if self.periods is None:
            object.__setattr__(self, "periods", tuple((hi - lo) if per else None for lo, hi, per
                                                      in zip(self.mins, self.maxs, self.periodic)))
        elif len(self.periods) != n:
            raise NucleateError(f"grid for {', '.join(self.names)}: need one period (or None) per CV")
        points = math.prod(self.shape)
        if points > MAX_GRID_POINTS:
            raise NucleateError(f"grid for {', '.join(self.names)}: {' x '.join(map(str, self.shape))} = {points:.3g} "
                                f"points is more than {MAX_GRID_POINTS:.0e}; use fewer bins (--bin)")

    @property
    def ndim(self) -> int:
        return len(self.names)

    @property
    def spacing(self) -> tuple[float, ...]:
        return tuple((hi - lo) / nb for lo, hi, nb in zip(self.mins, self.maxs, self.nbins))

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(nb if per else nb + 1 for nb, per in zip(self.nbins, self.periodic))

    def axis(self, i: int) -> np.ndarray:
        return self.mins[i] + np.arange(self.shape[i]) * self.spacing[i]

    def axes(self) -> list[np.ndarray]:
        return [self.axis(i) for i in range(self.ndim)]

    def mesh(self) -> list[np.ndarray]:
        return np.meshgrid(*self.axes(), indexing="ij")

    def cell_volume(self) -> float:
        return float(np.prod(self.spacing))

    def is_window(self, k: int) -> bool:
        """Axis k covers only part of a periodic CV's period."""
        return self.periods[k] is not None and not self.periodic[k]

    def nearest_image(self, k: int, values: np.ndarray) -> np.ndarray:
        """Values of CV k moved by whole periods to the image nearest the middle of axis k (a no-op
        on a non-periodic CV): on a window, what lies across the CV's boundary is found again."""
        period = self.periods[k]
        if period is None:
            return values
        middle = 0.5 * (self.mins[k] + self.maxs[k])
        return values - period * np.rint((values - middle) / period)


def axis_extent(name: str, domain: tuple[float, float] | None, lo: float | None, hi: float | None,
                where: str) -> tuple[float, float, bool, float | None]:
    """(min, max, wraps, period) of the grid axis of CV `name` from its periodic domain (None: not
    periodic) and the bounds asked for (None: the domain's).  Bounds narrower than the domain make
    a window that keeps the CV's period; wider than one period is refused."""
    if domain is None:
        return lo, hi, False, None
    period = domain[1] - domain[0]
    lo = domain[0] if lo is None else float(lo)
    hi = domain[1] if hi is None else float(hi)
    tolerance = 1e-9 * period
    if abs(lo - domain[0]) <= tolerance and abs(hi - domain[1]) <= tolerance:
        return domain[0], domain[1], True, period
    if hi - lo > period + tolerance:
        raise NucleateError(f"{where}: --min/--max for the periodic CV {name} span {hi - lo:.6g}, more than its period "
                            f"{period:.6g} (#! SET min_{name}/max_{name}); give a range within one period")
    return lo, hi, False, period


@dataclass
class FES:
    """A free-energy surface on a grid, in `energy_unit`; free_err is one standard error (or None).

    `header`: further `#! SET` lines to write (sample sizes, bandwidths: what a reader needs to
    judge the surface); `notes`: `#` comment lines (warnings about the estimate)."""

    grid: GridSpec
    free: np.ndarray
    energy_unit: str
    free_err: np.ndarray | None = None
    kt: float | None = None  # k_B T in energy_unit, when the surface came from sampling
    meta: dict = field(default_factory=dict)
    header: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def names(self) -> tuple[str, ...]:
        return self.grid.names

    def shifted_to_zero(self) -> "FES":
        finite = np.isfinite(self.free)
        if not finite.any():
            raise NucleateError("the free-energy surface has no finite value (no samples in the grid range)")
        return replace(self, free=self.free - self.free[finite].min())

    def in_unit(self, unit: str) -> "FES":
        factor = energy_factor(self.energy_unit, unit)
        return replace(self, free=self.free * factor, energy_unit=unit.lower(),
                       free_err=None if self.free_err is None else self.free_err * factor,
                       kt=None if self.kt is None else self.kt * factor)

    def write(self, path, fmt: str = "%.9f") -> Path:
        constants = {"energy_unit": self.energy_unit} | ({} if self.kt is None else {"kT": f"{self.kt:.10g}"})
        return write_grid(path, self.grid, {"free": self.free} | ({} if self.free_err is None
                                                                   else {"free_err": self.free_err}),
                          fmt=fmt, constants=constants | self.header, comments=self.notes)

    @classmethod
    def read(cls, path, energy_unit: str | None = None, *, unit_if_unsaid: str = "kj/mol") -> "FES":
        """A grid file as a FES, in the file's own `#! SET energy_unit` and with its `kT`.
        energy_unit: what the user says the file is in (must agree with a file that says it);
        unit_if_unsaid: for files that do not say (PLUMED's own)."""
        grid, values, constants = read_grid_file(path)
        names = list(values)
        free_name = next((n for n in names if n.endswith("free") or n.endswith(".free")), names[0])
        declared = constants.get("energy_unit")
        if declared is not None and energy_unit is not None and declared.lower() != energy_unit.lower():
            raise NucleateError(f"{path}: the file says its energies are in {declared} (#! SET energy_unit), "
                                f"not {energy_unit}; leave out --input-units")
        unit = (declared or energy_unit or unit_if_unsaid).lower()
        energy_factor(unit, unit)  # an unknown unit is refused here, naming it
        kt = _optional_float(constants.get("kT"), "kT", path)
        axis_keys = {f"{kind}_{name}" for kind in ("min", "max", "nbins", "periodic") for name in grid.names}
        header = {k: v for k, v in constants.items() if k not in axis_keys | {"energy_unit", "kT"}}
        return cls(grid=grid, free=values[free_name], energy_unit=unit, free_err=values.get("free_err"), kt=kt,
                   header=header)


def _optional_float(text: str | None, name: str, path) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise NucleateError(f"{path}: #! SET {name} {text!r} is not a number") from None
    if not (value > 0 and math.isfinite(value)):
        raise NucleateError(f"{path}: #! SET {name} {text!r} must be a positive energy")
    return value


def _format_bound(value: float) -> str:
    return f"{value:.12g}"


def write_grid(path, grid: GridSpec, values: dict[str, np.ndarray], fmt: str = "%.9f",
               comments: list[str] | None = None, constants: dict[str, str] | None = None) -> Path:
    """Write arrays on `grid` as a PLUMED grid file (first CV fastest, blank line between blocks)."""
    path = Path(path)
    lines = ["#! FIELDS " + " ".join(list(grid.names) + list(values))]
    for i, name in enumerate(grid.names):
        lines += [f"#! SET min_{name} {_format_bound(grid.mins[i])}",
                  f"#! SET max_{name} {_format_bound(grid.maxs[i])}",
                  f"#! SET nbins_{name} {grid.shape[i]}",
                  f"#! SET periodic_{name} {'true' if grid.periodic[i] else 'false'}"]
    lines += [f"#! SET {key} {value}" for key, value in (constants or {}).items()]
    lines += [f"# {c}" for c in comments or []]
    mesh = grid.mesh()
    # first CV fastest: transpose the ij-indexed arrays
    columns = [m.T for m in mesh] + [np.asarray(v, dtype=float).T for v in values.values()]
    for arr in columns[grid.ndim:]:
        if np.isnan(arr).any():
            raise NucleateError(f"refusing to write NaN into {path}; this is a bug, please report it")
    stacked = np.stack([c.reshape(-1) for c in columns], axis=1)
    block = grid.shape[0] if grid.ndim > 1 else len(stacked)
    row = " ".join([fmt] * stacked.shape[1]) + "\n"

    def write(target: Path) -> None:
        with target.open("w") as handle:
            handle.write("\n".join(lines) + "\n")
            for start in range(0, len(stacked), block):
                # one %-format of the whole block: several times faster than np.savetxt's row loop
                part = stacked[start:start + block]
                handle.write((row * len(part)) % tuple(part.ravel().tolist()))
                if grid.ndim > 1:
                    handle.write("\n")

    return write_output(path, write)


def _grid_points(text: str, name: str, path) -> int:
    try:
        return int(text)
    except ValueError:
        raise NucleateError(f"{path}: #! SET nbins_{name} {text!r} is not a whole number") from None


def _points_on_axes(table, names: list[str], declared: list[int], periodic: list[bool], path) -> list[int]:
    """Points per axis.  sum_hills and nucleate write nbins_X as the number of points; PLUMED
    2.11's DUMPGRID writes the number of bins, one fewer on a non-periodic axis.  The reading that
    fits the file is taken: as many rows as the points make, and, the first CV running fastest,
    that many distinct first-CV values before the first one comes back."""
    rows = len(table)
    options = [declared, [n + (0 if per else 1) for n, per in zip(declared, periodic)]]
    for points in options:
        if math.prod(points) == rows and _coordinates_match(table, names, points):
            return points
    raise NucleateError(f"{path}: {rows} grid rows do not fit the grid of the header "
                        f"({' x '.join(f'{n}={p}' for n, p in zip(names, declared))} points or bins)")


def _coordinates_match(table, names: list[str], points: list[int]) -> bool:
    first = table.column(names[0])
    return len(np.unique(first[:points[0]])) == points[0] and (len(names) == 1 or len(first) == points[0]
                                                              or first[points[0]] == first[0])


def read_grid(path) -> tuple[GridSpec, dict[str, np.ndarray]]:
    """Read a PLUMED grid file (ours, `plumed sum_hills` or DUMPGRID output); derivative columns are skipped."""
    grid, values, _ = read_grid_file(path)
    return grid, values


def read_grid_file(path) -> tuple[GridSpec, dict[str, np.ndarray], dict[str, str]]:
    """(grid, value columns, the `#! SET` constants) of a PLUMED grid file."""
    from nucleate.analysis.plumed_files import read_plumed

    table = read_plumed(path, units="kj/mol")
    names = [f for f in table.fields if f"nbins_{f}" in table.constants]
    if not names:
        raise NucleateError(f"{path}: no `#! SET nbins_X` lines; this is not a PLUMED grid file")
    mins, maxs, declared, periodic = [], [], [], []
    for name in names:
        declared.append(_grid_points(table.constants[f"nbins_{name}"], name, path))
        periodic.append(table.constants.get(f"periodic_{name}", "false").strip().lower() == "true")
        bounds = table.periodic_domain(name)  # any grid axis has its min_X / max_X lines
        if bounds is None:
            raise NucleateError(f"{path}: no `#! SET min_{name}` / `max_{name}` lines for the grid axis {name}")
        mins.append(bounds[0])
        maxs.append(bounds[1])
    shape = _points_on_axes(table, names, declared, periodic, path)
    nbins = [points if per else points - 1 for points, per in zip(shape, periodic)]
    try:
        grid = GridSpec(tuple(names), tuple(mins), tuple(maxs), tuple(nbins), tuple(periodic))
    except NucleateError as exc:
        raise NucleateError(f"{path}: {exc}") from None
    values = {}
    for name in table.fields:
        if name in names or _is_derivative(name, names):
            continue
        values[name] = table.column(name).reshape(shape[::-1]).T
    return grid, values, dict(table.constants)


def _is_derivative(column: str, axes: list[str]) -> bool:
    """sum_hills writes `der_X`; DUMPGRID (PLUMED 2.10+) writes `dLABEL_X`."""
    return column.startswith("der_") or any(column.startswith("d") and column.endswith(f"_{axis}") for axis in axes)
