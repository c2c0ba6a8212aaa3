"""Basins on free-energy surfaces, Delta G between them against time, and minimum free-energy paths.

- `find_basins`: local minima of a 2D (or 1D) FES, each with the free energy at the minimum and
  the basin free energy G = -kT ln sum_{catchment} exp(-F/kT) dV, the catchment being the grid
  points whose steepest descent ends in that minimum.  Basins are named A, B, C... by G.
- `minimum_free_energy_path`: the grid path between two points minimising the Smoluchowski
  "resistance" sum ds * exp(F/kT) (in grid steps): in the diffusive limit with isotropic
  diffusion this is the path carrying the transition flux, so it crosses the lowest saddle and
  follows the valley floors.
- `delta_g_vs_time`: G_B - G_A = -kT ln(sum_B w / sum_A w) from the weighted samples up to each
  time, with a block (ratio-estimator) error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from nucleate.errors import NucleateError
from nucleate.analysis.blocks import ratio_error
from nucleate.analysis.fes_grid import FES
from nucleate.analysis.output_files import write_output


@dataclass(frozen=True)
class BasinRegion:
    """A user-defined basin: a box, one (lo, hi) interval per CV."""

    name: str
    bounds: tuple[tuple[float, float], ...]

    def contains(self, samples: np.ndarray) -> np.ndarray:
        inside = np.ones(len(samples), dtype=bool)
        for k, (lo, hi) in enumerate(self.bounds):
            inside &= (samples[:, k] >= lo) & (samples[:, k] <= hi)
        return inside


_REGION = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*=\s*(.+)$")


def parse_region(text: str, ndim: int) -> BasinRegion:
    """`NAME=lo:hi` (1 CV) or `NAME=lo:hi,lo:hi` (2 CVs)."""
    match = _REGION.match(text)
    if not match:
        raise NucleateError(f"basin {text!r}: write it as NAME=lo:hi or NAME=lo:hi,lo:hi")
    parts = match.group(2).split(",")
    if len(parts) != ndim:
        raise NucleateError(f"basin {text!r}: needs {ndim} interval(s), one per CV")
    bounds = []
    for part in parts:
        try:
            lo, hi = (float(v) for v in part.split(":"))
        except ValueError as exc:
            raise NucleateError(f"basin {text!r}: interval {part!r} is not lo:hi") from exc
        if not hi > lo:
            raise NucleateError(f"basin {text!r}: interval {part!r} has hi <= lo")
        bounds.append((lo, hi))
    return BasinRegion(match.group(1), tuple(bounds))


@dataclass
class DeltaGSeries:
    """Delta G = G(target) - G(reference) against simulation time, in energy_unit."""

    reference: str
    target: str
    times: np.ndarray
    delta_g: np.ndarray
    error: np.ndarray         # block standard error; inf where it cannot be estimated
    energy_unit: str
    notes: list = field(default_factory=list)   # `#` lines for the file (sample sizes, warnings)

    def write(self, path) -> None:
        header = (f"#! FIELDS time deltag deltag_err\n#! SET energy_unit {self.energy_unit}\n"
                  f"# deltag = G({self.target}) - G({self.reference}) in {self.energy_unit}; inf where a basin has "
                  "no sample yet\n" + "".join(f"# {note}\n" for note in self.notes))

        def write(temporary) -> None:
            with open(temporary, "w") as handle:
                handle.write(header)
                np.savetxt(handle, np.column_stack([self.times, self.delta_g, self.error]), fmt="%.9g")

        write_output(path, write)


def delta_g_vs_time(samples: np.ndarray, log_weights: np.ndarray, times: np.ndarray, reference: BasinRegion,
                    target: BasinRegion, kt: float, energy_unit: str, points: int = 20,
                    blocks: int = 5, groups: np.ndarray | None = None) -> DeltaGSeries:
    """Delta G(target - reference) from the samples up to each of `points` evenly spaced times.
    Errors from `blocks` contiguous blocks of those samples, or with `groups` (the walker of each
    sample, numbered 0..blocks-1) from one block per walker."""
    if len(samples) == 0:
        raise NucleateError("no samples")
    weights = np.exp(log_weights - log_weights.max())
    in_ref = reference.contains(samples)
    in_target = target.contains(samples)
    if not in_ref.any() or not in_target.any():
        empty = reference.name if not in_ref.any() else target.name
        raise NucleateError(f"basin {empty} contains no sample; check its bounds against the CV range")
    ends = np.unique(np.linspace(0, len(samples), points + 1).astype(int)[1:])
    result_t, result_g, result_e = [], [], []
    for end in ends:
        target_weight = np.where(in_target[:end], weights[:end], 0.0)
        reference_weight = np.where(in_ref[:end], weights[:end], 0.0)
        if groups is not None:
            num = np.bincount(groups[:end], weights=target_weight, minlength=blocks)
            den = np.bincount(groups[:end], weights=reference_weight, minlength=blocks)
        else:
            cuts = np.linspace(0, end, blocks + 1).astype(int)
            num = np.add.reduceat(target_weight, cuts[:-1])
            den = np.add.reduceat(reference_weight, cuts[:-1])
        ratio, ratio_err = ratio_error(num, den)
        if not (np.isfinite(ratio) and ratio > 0):
            g, e = np.inf, np.inf
        else:
            g = -kt * np.log(ratio)
            e = kt * ratio_err / ratio if np.isfinite(ratio_err) else np.inf
        result_t.append(times[end - 1])
        result_g.append(g)
        result_e.append(e)
    return DeltaGSeries(reference.name, target.name, np.array(result_t), np.array(result_g), np.array(result_e),
                        energy_unit)


@dataclass
class Basin:
    name: str
    index: tuple[int, ...]          # grid index of the minimum
    location: tuple[float, ...]     # CV values of the minimum
    free_min: float                 # F at the minimum (FES shifted to min 0)
    free_basin: float               # basin free energy -kT ln sum_catchment exp(-F/kT) dV, lowest basin 0
    points: int                     # grid points in the catchment


def _neighbour_offsets(ndim: int) -> list[tuple[int, ...]]:
    grids = np.meshgrid(*[[-1, 0, 1]] * ndim, indexing="ij")
    return [tuple(int(g.ravel()[i]) for g in grids) for i in range(3 ** ndim) if any(g.ravel()[i] for g in grids)]


def _shifted(values: np.ndarray, offset, periodic, fill: float) -> np.ndarray:
    """values[i + offset] with wrap on periodic axes and `fill` beyond non-periodic edges."""
    out = values
    for axis, (step, per) in enumerate(zip(offset, periodic)):
        if step == 0:
            continue
        out = np.roll(out, -step, axis=axis)
        if not per:
            edge = [slice(None)] * values.ndim
            edge[axis] = slice(-1, None) if step > 0 else slice(0, 1)
            out = out.copy()
            out[tuple(edge)] = fill
    return out


def find_basins(fes: FES, kt: float | None = None, max_free: float | None = None, radius: int = 2) -> list[Basin]:
    """Local minima of the FES lower than every point within `radius` grid steps, and their basins."""
    from scipy.ndimage import minimum_filter

    kt = kt or fes.kt
    if kt is None:
        raise NucleateError("basin free energies need kT (--temp or --kt)")
    free = np.where(np.isfinite(fes.free), fes.free, np.inf)
    if not np.isfinite(free).any():
        raise NucleateError("the FES has no finite point")
    free = free - free[np.isfinite(free)].min()
    modes = ["wrap" if p else "nearest" for p in fes.grid.periodic]
    local_min = (free == minimum_filter(free, size=2 * radius + 1, mode=modes)) & np.isfinite(free)
    if max_free is not None:
        local_min &= free <= max_free
    # steepest descent: every point points to its lowest neighbour (or itself); follow to the end
    flat = free.ravel()
    target = np.arange(flat.size)
    best = flat.copy()
    index_grid = np.arange(flat.size).reshape(free.shape)
    for offset in _neighbour_offsets(free.ndim):
        neighbour_f = _shifted(free, offset, fes.grid.periodic, np.inf).ravel()
        neighbour_i = _shifted(index_grid, offset, fes.grid.periodic, -1).ravel()
        better = neighbour_f < best
        best = np.where(better, neighbour_f, best)
        target = np.where(better, neighbour_i, target)
    for _ in range(64):  # pointer jumping: log2 of the longest descent
        nxt = target[target]
        if np.array_equal(nxt, target):
            break
        target = nxt
    minima = np.flatnonzero(local_min.ravel())
    # a plateau of equal minima keeps one representative; catchments ending in a dropped minimum join it
    sinks = {int(m): int(target[m]) for m in minima}
    boltzmann = np.exp(-flat / kt) * fes.grid.cell_volume()
    boltzmann[~np.isfinite(flat)] = 0.0
    basins = []
    for sink in sorted(set(sinks.values())):
        members = target == sink
        z = boltzmann[members].sum()
        if z <= 0:
            continue
        idx = np.unravel_index(sink, free.shape)
        basins.append(Basin(name="", index=tuple(int(i) for i in idx),
                            location=tuple(float(fes.grid.axis(k)[i]) for k, i in enumerate(idx)),
                            free_min=float(flat[sink]), free_basin=float(-kt * np.log(z)),
                            points=int(members.sum())))
    if not basins:
        raise NucleateError("no basin found (raise --max-free or lower --radius)")
    basins.sort(key=lambda b: b.free_basin)
    lowest = basins[0].free_basin
    for number, basin in enumerate(basins):
        basin.name = _basin_label(number)
        basin.free_basin -= lowest
    return basins


def _basin_label(number: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return letters[number] if number < 26 else f"B{number}"


@dataclass
class FreeEnergyPath:
    indices: np.ndarray   # (m, d) grid indices along the path
    points: np.ndarray    # (m, d) CV values
    free: np.ndarray      # (m,) F along the path
    barrier: float        # max F along the path minus F at the start


def minimum_free_energy_path(fes: FES, start, end, kt: float | None = None) -> FreeEnergyPath:
    """Least-resistance path (sum of grid steps * exp(F/kT)) between two grid indices on a 2D FES."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    kt = kt or fes.kt
    if kt is None:
        raise NucleateError("the minimum free-energy path needs kT (--temp or --kt)")
    free = np.where(np.isfinite(fes.free), fes.free, np.inf)
    free = free - free[np.isfinite(free)].min()
    shape = free.shape
    flat = free.ravel()
    # exp(F/kT) with F - min >= 0; capped so that it stays finite in double precision
    resistance = np.exp(np.minimum(flat / kt, 700.0))
    resistance[~np.isfinite(flat)] = np.inf
    index_grid = np.arange(flat.size).reshape(shape)
    rows, cols, costs = [], [], []
    for offset in _neighbour_offsets(free.ndim):
        neighbour = _shifted(index_grid, offset, fes.grid.periodic, -1).ravel()
        ok = (neighbour >= 0) & np.isfinite(resistance) & np.isfinite(resistance[np.clip(neighbour, 0, None)])
        length = float(np.sqrt(sum(o * o for o in offset)))
        src = np.flatnonzero(ok)
        dst = neighbour[ok]
        rows.append(src)
        cols.append(dst)
        costs.append(length * 0.5 * (resistance[src] + resistance[dst]))
    graph = coo_matrix((np.concatenate(costs), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(flat.size, flat.size)).tocsr()
    source = int(np.ravel_multi_index(tuple(start), shape))
    sink = int(np.ravel_multi_index(tuple(end), shape))
    _, predecessors = dijkstra(graph, indices=source, return_predecessors=True)
    if predecessors[sink] < 0 and sink != source:
        raise NucleateError("the two basins are not connected through finite free-energy points")
    chain = [sink]
    while chain[-1] != source:
        chain.append(int(predecessors[chain[-1]]))
    chain.reverse()
    indices = np.array([np.unravel_index(i, shape) for i in chain])
    points = np.column_stack([fes.grid.axis(k)[indices[:, k]] for k in range(len(shape))])
    along = flat[chain]
    return FreeEnergyPath(indices=indices, points=points, free=along, barrier=float(along.max() - along[0]))
