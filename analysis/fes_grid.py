"""Grids and free-energy surfaces, with PLUMED's grid conventions and grid-file format.

Conventions (those of `plumed sum_hills --bin N`): a non-periodic axis with N bins has N+1
points min, min+dx, ..., max with dx = (max-min)/N; a periodic axis has N points
min, ..., max-dx.  Arrays are indexed in CV order (`free[ix, iy]`); files list the first CV
fastest, with a blank line between blocks, as PLUMED writes them.

Empty bins (no samples) have free = +inf and free_err = +inf; they are written as `inf`,
which numpy, gnuplot and PLUMED read back as infinity.  No NaN is ever written.
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
    """A regular grid over one or two CVs; `nbins` counts intervals as PLUMED's --bin does."""

    names: tuple[str, ...]
    mins: tuple[float, ...]
    maxs: tuple[float, ...]
    nbins: tuple[int, ...]
    periodic: tuple[bool, ...]

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


@dataclass
class FES:
    """A free-energy surface on a grid, in `energy_unit`; free_err is one standard error (or None)."""

    grid: GridSpec
    free: np.ndarray
    energy_unit: str
    free_err: np.ndarray | None = None
    kt: float | None = None  # k_B T in energy_unit, when the surface came from sampling
    meta: dict = field(default_factory=dict)

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
        return write_grid(path, self.grid, {"free": self.free} | ({} if self.free_err is None
                                                                   else {"free_err": self.free_err}),
                          fmt=fmt, comments=[f"energy unit {self.energy_unit}"] +
                          ([] if self.kt is None else [f"kT {self.kt:.10g} {self.energy_unit}"]))

    @classmethod
    def read(cls, path, energy_unit: str = "kj/mol") -> "FES":
        grid, values = read_grid(path)
        names = list(values)
        free_name = next((n for n in names if n.endswith("free") or n.endswith(".free")), names[0])
        err = values.get("free_err")
        return cls(grid=grid, free=values[free_name], energy_unit=energy_unit, free_err=err)


def _format_bound(value: float) -> str:
    return f"{value:.12g}"


def write_grid(path, grid: GridSpec, values: dict[str, np.ndarray], fmt: str = "%.9f",
               comments: list[str] | None = None) -> Path:
    """Write arrays on `grid` as a PLUMED grid file (first CV fastest, blank line between blocks)."""
    path = Path(path)
    lines = ["#! FIELDS " + " ".join(list(grid.names) + list(values))]
    for i, name in enumerate(grid.names):
        lines += [f"#! SET min_{name} {_format_bound(grid.mins[i])}",
                  f"#! SET max_{name} {_format_bound(grid.maxs[i])}",
                  f"#! SET nbins_{name} {grid.shape[i]}",
                  f"#! SET periodic_{name} {'true' if grid.periodic[i] else 'false'}"]
    lines += [f"# {c}" for c in comments or []]
    mesh = grid.mesh()
    # first CV fastest: transpose the ij-indexed arrays
    columns = [m.T for m in mesh] + [np.asarray(v, dtype=float).T for v in values.values()]
    for arr in columns[grid.ndim:]:
        if np.isnan(arr).any():
            raise NucleateError(f"refusing to write NaN into {path}; this is a bug, please report it")
    stacked = np.stack([c.reshape(-1) for c in columns], axis=1)
    block = grid.shape[0]

    def write(target: Path) -> None:
        with target.open("w") as handle:
            handle.write("\n".join(lines) + "\n")
            for start in range(0, len(stacked), block):
                np.savetxt(handle, stacked[start:start + block], fmt=fmt, delimiter=" ")
                if grid.ndim > 1:
                    handle.write("\n")

    return write_output(path, write)


def _grid_points(text: str, name: str, path) -> int:
    try:
        return int(text)
    except ValueError:
        raise NucleateError(f"{path}: #! SET nbins_{name} {text!r} is not a whole number") from None


def read_grid(path) -> tuple[GridSpec, dict[str, np.ndarray]]:
    """Read a PLUMED grid file (ours or `plumed sum_hills` output); derivative columns are skipped."""
    from nucleate.analysis.plumed_files import read_plumed  # noqa: PLC0415

    table = read_plumed(path, units="kj/mol")
    names = [f for f in table.fields if f"nbins_{f}" in table.constants]
    if not names:
        raise NucleateError(f"{path}: no `#! SET nbins_X` lines; this is not a PLUMED grid file")
    shape, mins, maxs, nbins, periodic = [], [], [], [], []
    for name in names:
        points = _grid_points(table.constants[f"nbins_{name}"], name, path)
        is_periodic = table.constants.get(f"periodic_{name}", "false").strip().lower() == "true"
        bounds = table.periodic_domain(name)  # any grid axis has its min_X / max_X lines
        if bounds is None:
            raise NucleateError(f"{path}: no `#! SET min_{name}` / `max_{name}` lines for the grid axis {name}")
        mins.append(bounds[0])
        maxs.append(bounds[1])
        nbins.append(points if is_periodic else points - 1)
        periodic.append(is_periodic)
        shape.append(points)
    try:
        grid = GridSpec(tuple(names), tuple(mins), tuple(maxs), tuple(nbins), tuple(periodic))
    except NucleateError as exc:
        raise NucleateError(f"{path}: {exc}") from None
    values = {}
    for name in table.fields:
        if name in names or name.startswith("der_"):
            continue
        column = table.column(name)
        if column.size != int(np.prod(shape)):
            raise NucleateError(f"{path}: column {name} has {column.size} values, the grid needs {int(np.prod(shape))}")
        values[name] = column.reshape(shape[::-1]).T
    return grid, values
