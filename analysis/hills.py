"""Metadynamics hills: reading HILLS files, summing them on a grid as `plumed sum_hills` does,
the bias they make, and the Tiwary-Parrinello c(t) from them.

What PLUMED 2.11 does, and is reproduced here to 1e-9 (checked against `plumed sum_hills`):
- A HILLS file of a well-tempered run stores heights already multiplied by gamma/(gamma-1)
  (gamma = `biasf` column), so the free energy is minus the plain sum of the stored hills, and
  the bias is that sum times (gamma-1)/gamma (`--negbias`).
- `#! SET kerneltype stretched-gaussian` (PLUMED >= 2.8, also assumed when the line is absent):
  a hill is h * (a exp(-d2) + b) for d2 = sum_i (s_i-c_i)^2 / (2 sigma_i^2) < 6.25 and zero
  beyond, with a = 1/(1-e^-6.25), b = -a e^-6.25, so that it reaches zero at the cutoff.
  `kerneltype gaussian`: h exp(-d2), cut to the box of grid points within
  ceil(sqrt(12.5) sigma_i / dx_i) points of the hill's grid cell.
- Automatic grid: each CV from min(c - sqrt(12.5) sigma) to max(c + sqrt(12.5) sigma), rounded to
  6 significant digits as PLUMED prints them, with ceil(range / (min sqrt(12.5) sigma / 10)) bins;
  periodic CVs are clipped to their domain. (Multivariate hills: sigma_i = sqrt(lambda_max) |v_max,i|.)

Where nucleate differs from sum_hills on purpose: on a periodic CV, sum_hills ignores --min/--max
and always writes the whole period; nucleate writes the range asked for, with the hills still
summed at their nearest image under the CV's own period (so its values are sum_hills' values at
the same points).

Hills are summed only where they are non-zero: each hill touches a small window of grid
points, so all hills of a chunk are evaluated at once with numpy and scattered with bincount.
The stretched Gaussian is h a max(exp(-d2) - e^-6.25, 0), which needs no separate cut-off mask.

Hills on any number of CVs are summed (3 or more on grids up to MAX_POINTS_MANY_CVS points);
`fes_projection.project_fes` integrates CVs out as `sum_hills --idw` does.

Multivariate hills (ADAPTIVE=DIFF/GEOM, `#! SET multivariate true`): the sigma_A_A, sigma_B_A, ...
fields are the lower Cholesky factor L of each hill's covariance (PLUMED writes the covariance
Sigma = L L^T that way), and d2 = (s-c)^T Sigma^-1 (s-c) / 2. As in PLUMED 2.11, a multivariate hill
reaches only the grid points within ceil(sqrt(12.5) sqrt(lambda_max) |v_max,i| / dx_i) points of its
grid cell on each axis (lambda_max, v_max: the largest eigenvalue of Sigma and its eigenvector), a
box that can clip the tips of a tilted ellipse; values within the box are exact.

Files that look like hills but are not (OPES_METAD's KERNELS and STATE files: compressed kernels
whose sum is not the bias) are refused, as sum_hills refuses them.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from nucleate.errors import NucleateError
from nucleate.analysis.fes_grid import FES, GridSpec, axis_extent
from nucleate.analysis.plumed_files import PlumedTable, PlumedUnits, read_plumed

DP2_CUTOFF = 6.25
SUPPORT_IN_SIGMAS = math.sqrt(2.0 * DP2_CUTOFF)
_STRETCH_A = 1.0 / (1.0 - math.exp(-DP2_CUTOFF))
_CUTOFF_GAUSS = math.exp(-DP2_CUTOFF)
# grid-point evaluations per numpy chunk: 2 MB per temporary array stays in cache (measured 2.5x
# faster than 32 MB chunks on 10^5 2D hills)
_CHUNK_ELEMENTS = 1 << 18

log = logging.getLogger(__name__)


@dataclass
class Hills:
    """Hills of one METAD action: centres and widths in CV units, heights as stored in the file."""

    names: tuple[str, ...]
    times: np.ndarray          # (n,) in the file's time unit
    centers: np.ndarray        # (n, d)
    sigmas: np.ndarray         # (n, d)
    heights: np.ndarray        # (n,) stored heights (x gamma/(gamma-1) for well-tempered runs)
    biasf: float               # gamma; 1 for plain metadynamics
    kerneltype: str
    domains: tuple[tuple[float, float] | None, ...]
    units: PlumedUnits
    source: str = ""
    covariances: np.ndarray | None = None   # (n, d, d) for multivariate hills; sigmas = sqrt of their diagonal

    @property
    def multivariate(self) -> bool:
        return self.covariances is not None

    def take(self, rows) -> "Hills":
        """The hills at `rows` (a slice or an index array)."""
        return Hills(self.names, self.times[rows], self.centers[rows], self.sigmas[rows], self.heights[rows],
                     self.biasf, self.kerneltype, self.domains, self.units, self.source,
                     None if self.covariances is None else self.covariances[rows])

    def __len__(self) -> int:
        return len(self.heights)

    @property
    def ndim(self) -> int:
        return len(self.names)

    @property
    def periodic(self) -> tuple[bool, ...]:
        return tuple(d is not None for d in self.domains)

    @property
    def bias_scale(self) -> float:
        """Stored height -> bias height: (gamma-1)/gamma, as sum_hills --negbias applies."""
        return (self.biasf - 1.0) / self.biasf if self.biasf > 1.0 else 1.0

    def head(self, n: int) -> "Hills":
        return self.take(slice(0, n))


def read_hills(paths, units: PlumedUnits | str | None = None) -> Hills:
    """Read HILLS files of a METAD run (several files or restarts are concatenated)."""
    table = read_plumed(paths, units=units)
    return hills_from_table(table)


def hills_from_table(table: PlumedTable) -> Hills:
    fields = table.fields
    where = table.describe()
    _refuse_opes_files(table)
    if "time" not in fields or "height" not in fields:
        raise NucleateError(f"{where}: not a HILLS file (needs `time` and `height` fields; has {' '.join(fields)})")
    first_sigma = next((i for i, f in enumerate(fields) if f.startswith("sigma_")), None)
    if first_sigma is None:
        raise NucleateError(f"{where}: no sigma_X fields; not a HILLS file")
    names = tuple(fields[1:first_sigma])
    if not names:
        raise NucleateError(f"{where}: no CV fields between time and sigma_X; not a HILLS file")
    kerneltype = table.constants.get("kerneltype", "stretched-gaussian").strip().lower()
    if kerneltype not in ("stretched-gaussian", "gaussian"):
        raise NucleateError(f"{where}: kerneltype {kerneltype!r} is not supported (stretched-gaussian, gaussian)")
    for name in ("time", "height", *names):
        table.finite_column(name, why="a hill needs a finite time, centre and height")
    covariances = None
    if table.constants.get("multivariate", "false").strip().lower() == "true":
        covariances = _covariances(table, names)
        sigmas = [np.sqrt(covariances[:, k, k]) for k in range(len(names))]
    else:
        sigmas = [_positive_sigmas(table, name) for name in names]
    return Hills(names=names, times=table.column("time"),
                 centers=np.column_stack([table.column(n) for n in names]),
                 sigmas=np.column_stack(sigmas), heights=table.column("height"), biasf=_constant_biasf(table),
                 kerneltype=kerneltype, domains=tuple(table.periodic_domain(n) for n in names), units=table.units,
                 source=where, covariances=covariances)


def _covariances(table: PlumedTable, names: tuple[str, ...]) -> np.ndarray:
    """Each multivariate hill's covariance Sigma = L L^T from its Cholesky factor L: field sigma_A_B holds
    L[a, b] (a >= b), as PLUMED's METAD writes it."""
    d = len(names)
    factor = np.zeros((len(table.column("time")), d, d))
    for a in range(d):
        for b in range(a + 1):
            field = f"sigma_{names[a]}_{names[b]}"
            if field not in table:
                raise NucleateError(f"{table.describe()}: multivariate hills need field {field} "
                                    f"(the lower Cholesky factor of each hill's covariance)")
            factor[:, a, b] = table.finite_column(field, why="a hill's width")
    diagonal = np.abs(np.diagonal(factor, axis1=1, axis2=2))
    bad = ~(diagonal > 0).all(axis=1)
    if bad.any():
        row = int(np.argmax(bad))
        raise NucleateError(f"{table.where(row)}: a multivariate hill's Cholesky factor has a zero diagonal; "
                            "its covariance is singular")
    return factor @ np.swapaxes(factor, 1, 2)


def _refuse_opes_files(table: PlumedTable) -> None:
    """OPES_METAD writes KERNELS and STATE files in the HILLS layout, but its kernels are compressed
    and normalised: their sum is not the bias, and summing them would give a wrong surface without
    a word.  `#! SET action OPES_METAD_kernels` / `OPES_METAD_state` say what they are."""
    action = table.constants.get("action", "").strip()
    if not action.upper().startswith("OPES"):
        return
    kind = "STATE" if action.lower().endswith("state") else "KERNELS"
    raise NucleateError(
        f"{table.describe()}: this is an OPES {kind} file (#! SET action {action}), not METAD hills: its "
        "compressed kernels do not sum to the bias (plumed sum_hills refuses it too); reweight the "
        "COLVAR instead: nucleate reweight COLVAR --cv CV --bias LABEL.bias --temp T")


def _positive_sigmas(table: PlumedTable, name: str) -> np.ndarray:
    """sigma_NAME, refusing a width that is not a positive number (it would size the grid from it)."""
    sigma = table.finite_column(f"sigma_{name}", why="a hill's width")
    bad = ~(sigma > 0)
    if bad.any():
        row = int(np.argmax(bad))
        raise NucleateError(f"{table.where(row)}: sigma_{name} is {sigma[row]:g}; a hill's width must be positive")
    return sigma


def _constant_biasf(table: PlumedTable) -> float:
    """The bias factor gamma (1 without a biasf column); one value for the whole file."""
    if "biasf" not in table:
        return 1.0
    column = table.finite_column("biasf", why="the bias factor")
    changed = ~np.isclose(column, column[0])
    if changed.any():
        row = int(np.argmax(changed))
        raise NucleateError(f"{table.where(row)}: biasf changes from {column[0]:g} to {column[row]:g}; "
                            "sum the hills of each bias factor separately")
    return float(column[0])


def _plumed_rounded(value: float) -> float:
    # PLUMED passes automatic bounds through a default-precision ostream (6 significant digits)
    return float(f"{value:g}")


def auto_grid(hills: Hills, bins=None, mins=None, maxs=None) -> GridSpec:
    """The grid `plumed sum_hills` picks; any of bins/mins/maxs given (one per CV) overrides it.
    On a periodic CV, bounds narrower than its domain make a window that keeps the CV's period."""
    # multivariate hills: PLUMED sizes the grid from the same per-axis widths as each hill's window
    support = SUPPORT_IN_SIGMAS * (support_widths(hills.covariances) if hills.multivariate else hills.sigmas)
    lows = (hills.centers - support).min(axis=0)
    highs = (hills.centers + support).max(axis=0)
    final = []
    for k, domain in enumerate(hills.domains):
        if domain is not None:
            lows[k], highs[k] = max(lows[k], domain[0]), min(highs[k], domain[1])
            # PLUMED uses the full domain of a periodic CV unless told otherwise
            lo, hi = domain
        else:
            lo, hi = _plumed_rounded(lows[k]), _plumed_rounded(highs[k])
        lo = float(mins[k]) if mins is not None else lo
        hi = float(maxs[k]) if maxs is not None else hi
        lo, hi, wraps, period = axis_extent(hills.names[k], domain, lo, hi, hills.source)
        span = (hi - lo) if period is not None and not wraps else (highs[k] - lows[k])
        if bins is not None:
            count = int(bins[k])
        else:
            # (a multivariate hill whose ellipse lies along another axis has width 0 on this one)
            positive = support[:, k][support[:, k] > 0]
            count = int(math.ceil(span / (positive.min() / 10.0))) if positive.size else 100
        final.append((lo, hi, count, wraps, period))
    if any(p is not None and not w for *_, w, p in final):
        log.info("%s: a periodic CV gridded over part of its period: hills are summed at their nearest image; "
                 "plumed sum_hills would ignore --min/--max there and write the whole period", hills.source)
    lo, hi, nb, wraps, periods = zip(*final)
    return GridSpec(hills.names, lo, hi, nb, wraps, periods)


def _line_window(grid: GridSpec, k: int, centers: np.ndarray, half: np.ndarray):
    """Grid indices within `half` points of each centre's grid cell on a non-wrapping axis k,
    their signed distances to the centre, and whether they count (inside the box and the grid)."""
    dx, npts, lo = grid.spacing[k], grid.shape[k], grid.mins[k]
    home = np.floor((centers - lo) / dx).astype(np.int64)
    offsets = np.arange(-int(half.max()), int(half.max()) + 1)
    index = home[:, None] + offsets[None, :]
    delta = lo + index * dx - centers[:, None]
    in_box = (np.abs(offsets)[None, :] <= half[:, None]) & (index >= 0) & (index < npts)
    np.clip(index, 0, npts - 1, out=index)
    return index, delta, in_box


def _axis_windows(grid: GridSpec, k: int, centers: np.ndarray, sigmas: np.ndarray):
    """Grid indices, squared scaled distances and validity of the window of each hill on axis k."""
    index, delta, in_box = _axis_deltas(grid, k, centers, sigmas)
    return index, (delta / sigmas[:, None]) ** 2, in_box


def _axis_deltas(grid: GridSpec, k: int, centers: np.ndarray, sigmas: np.ndarray):
    """Grid indices, signed distances (grid point - centre) and validity of the window of each hill on
    axis k: the points within ceil(sqrt(12.5) sigma / dx) of the hill's grid cell."""
    dx = grid.spacing[k]
    npts = grid.shape[k]
    lo = grid.mins[k]
    half = np.ceil(SUPPORT_IN_SIGMAS * sigmas / dx).astype(np.int64)
    period = grid.periods[k]
    if grid.periodic[k]:
        c = lo + np.mod(centers - lo, period)
        width = int(half.max())
        if 2 * width + 1 >= npts:
            index = np.broadcast_to(np.arange(npts)[None, :], (len(c), npts)).copy()
            delta = lo + index * dx - c[:, None]
            delta -= period * np.round(delta / period)
            in_box = np.ones_like(index, dtype=bool)
        else:
            offsets = np.arange(-width, width + 1)
            home = np.floor((c - lo) / dx).astype(np.int64)
            index = np.mod(home[:, None] + offsets[None, :], npts)
            delta = lo + (home[:, None] + offsets[None, :]) * dx - c[:, None]
            in_box = np.abs(offsets)[None, :] <= half[:, None]
    elif period is not None:
        # a window on a periodic CV: the hill at its image nearest the window, and at the image
        # across the boundary too when the window is so wide that a hill may reach both ends
        near = grid.nearest_image(k, centers)
        parts = [_line_window(grid, k, near, half)]
        if grid.maxs[k] - lo + 2 * SUPPORT_IN_SIGMAS * sigmas.max() >= period:
            across = near - period * np.where(near >= 0.5 * (lo + grid.maxs[k]), 1.0, -1.0)
            parts.append(_line_window(grid, k, across, half))
        index, delta, in_box = (np.concatenate(arrays, axis=1) for arrays in zip(*parts))
        in_box &= np.abs(delta) <= 0.5 * period  # each grid point sees the hill's nearest image only
    else:
        index, delta, in_box = _line_window(grid, k, centers, half)
    return index, delta, in_box


def add_hills_to_grid(grid: GridSpec, hills: Hills, out: np.ndarray, start: int = 0, stop: int | None = None,
                      scale: float = 1.0) -> np.ndarray:
    """Add scale * (stored hills start:stop) to `out` (shape grid.shape) in place."""
    stop = len(hills) if stop is None else stop
    flat = out.reshape(-1)
    if hills.ndim != grid.ndim:
        raise NucleateError(f"hills on {hills.ndim} CVs cannot be summed on a {grid.ndim}-D grid")
    if hills.multivariate:
        return _add_multivariate(grid, hills, out, start, stop, scale)
    stretched = hills.kerneltype == "stretched-gaussian"
    widths = [2 * int(np.ceil(SUPPORT_IN_SIGMAS * hills.sigmas[start:stop, k].max() / grid.spacing[k])) + 1
              if stop > start else 1 for k in range(grid.ndim)]
    per_hill = int(np.prod([min(w, grid.shape[k]) for k, w in enumerate(widths)]))
    chunk = max(1, _CHUNK_ELEMENTS // max(per_hill, 1))
    for first in range(start, stop, chunk):
        last = min(stop, first + chunk)
        centers, sigmas = hills.centers[first:last], hills.sigmas[first:last]
        # the stretched kernel is h a max(exp(-d2) - e^-6.25, 0): fold h a into the first factor
        h = hills.heights[first:last] * (scale * (_STRETCH_A if stretched else 1.0))
        windows = [_axis_windows(grid, k, centers[:, k], sigmas[:, k]) for k in range(grid.ndim)]
        gx = np.exp(-0.5 * windows[0][1])
        gx *= windows[0][2]
        gx *= h[:, None]
        if grid.ndim == 1:
            values, index = gx, windows[0][0]
        elif grid.ndim == 2:
            (iy, uy, oky) = windows[1]
            # the Gaussian factorises over CVs; only the cutoff couples them
            gy = np.exp(-0.5 * uy)
            gy *= oky
            values = np.multiply(gx[:, :, None], gy[:, None, :])
            index = np.add((windows[0][0] * grid.shape[1])[:, :, None], iy[:, None, :])
        else:
            # 3 or more CVs: the window of each hill grows one axis at a time, kept flat per hill
            values, index = gx, windows[0][0]
            for k in range(1, grid.ndim):
                ik, uk, okk = windows[k]
                gk = np.exp(-0.5 * uk)
                gk *= okk
                values = np.multiply(values[:, :, None], gk[:, None, :]).reshape(len(h), -1)
                index = np.add((index * grid.shape[k])[:, :, None], ik[:, None, :]).reshape(len(h), -1)
        if stretched:
            values -= (h * _CUTOFF_GAUSS).reshape((-1,) + (1,) * (values.ndim - 1))
            np.maximum(values, 0.0, out=values)
        flat += np.bincount(index.ravel(), weights=values.ravel(), minlength=flat.size)
    return out


def support_widths(covariances: np.ndarray) -> np.ndarray:
    """(n, d) per-axis widths whose sqrt(12.5) multiple bounds a multivariate hill's window, as PLUMED 2.11
    sizes it: sqrt(lambda_max) |v_max,i| of each covariance's largest eigenpair."""
    values, vectors = np.linalg.eigh(covariances)          # ascending; vectors[:, :, j] is eigenvector j
    # PLUMED keeps the first of equal largest eigenvalues (a strict > scan over LAPACK's ascending order)
    top = np.argmax(values, axis=1)
    rows = np.arange(len(values))
    return np.sqrt(values[rows, top])[:, None] * np.abs(vectors[rows, :, top])


def _add_multivariate(grid: GridSpec, hills: Hills, out: np.ndarray, start: int, stop: int,
                      scale: float) -> np.ndarray:
    """add_hills_to_grid for hills with full covariances: the window of each hill on every axis, then
    d2 = delta^T Sigma^-1 delta / 2 over the window's points (it does not factorise over the CVs)."""
    flat = out.reshape(-1)
    stretched = hills.kerneltype == "stretched-gaussian"
    widths_all = support_widths(hills.covariances[start:stop]) if stop > start else np.ones((0, grid.ndim))
    sizes = [2 * int(np.ceil(SUPPORT_IN_SIGMAS * widths_all[:, k].max() / grid.spacing[k])) + 1 if stop > start
             else 1 for k in range(grid.ndim)]
    per_hill = int(np.prod([min(w, grid.shape[k]) for k, w in enumerate(sizes)]))
    chunk = max(1, _CHUNK_ELEMENTS // max(per_hill, 1))
    for first in range(start, stop, chunk):
        last = min(stop, first + chunk)
        n = last - first
        centers, widths = hills.centers[first:last], widths_all[first - start:last - start]
        metric = np.linalg.inv(hills.covariances[first:last])
        h = hills.heights[first:last] * (scale * (_STRETCH_A if stretched else 1.0))
        windows = [_axis_deltas(grid, k, centers[:, k], widths[:, k]) for k in range(grid.ndim)]
        shape = [n] + [w[0].shape[1] for w in windows]
        index = np.zeros(shape, dtype=np.int64)
        inside = np.ones(shape, dtype=bool)
        deltas = []
        for k, (ik, dk, okk) in enumerate(windows):
            view = [n] + [1] * grid.ndim
            view[k + 1] = ik.shape[1]
            index = index * grid.shape[k] + ik.reshape(view)
            inside &= okk.reshape(view)
            deltas.append(dk.reshape(view))
        quadratic = np.zeros(shape)
        for a in range(grid.ndim):
            for b in range(grid.ndim):
                quadratic += metric[:, a, b].reshape([n] + [1] * grid.ndim) * deltas[a] * deltas[b]
        values = np.exp(-0.5 * quadratic)
        if stretched:
            values -= _CUTOFF_GAUSS
            np.maximum(values, 0.0, out=values)
        values *= h.reshape([n] + [1] * grid.ndim)
        values *= inside
        flat += np.bincount(index.ravel(), weights=values.ravel(), minlength=flat.size)
    return out


def sum_hills(hills: Hills, grid: GridSpec | None = None, *, negbias: bool = False, mintozero: bool = False,
              stride: int | None = None) -> list[FES]:
    """Free energy (or, with negbias, minus the bias) from hills, as `plumed sum_hills` computes it.

    Returns one FES, or with `stride` one per `stride` hills (cumulative) and the last one with
    all hills, as sum_hills --stride writes fes_0.dat, fes_1.dat, ...
    """
    if len(hills) == 0:
        raise NucleateError(f"{hills.source}: no hills")
    grid = grid or auto_grid(hills)
    _refuse_large_grid(hills, grid)
    total = np.zeros(grid.shape)
    # like PLUMED: --negbias rescales stored heights to the bias and still prints minus the sum
    scale = hills.bias_scale if negbias else 1.0
    sign = -1.0
    cuts = list(range(stride, len(hills), stride)) if stride else []
    cuts.append(len(hills))
    surfaces = []
    done = 0
    for cut in cuts:
        add_hills_to_grid(grid, hills, total, done, cut, scale=scale)
        done = cut
        fes = FES(grid=grid, free=sign * total.copy(), energy_unit=hills.units.energy,
                  meta={"hills": cut, "time": float(hills.times[cut - 1]), "source": hills.source,
                        "kind": "bias" if negbias else "free"})
        surfaces.append(fes.shifted_to_zero() if mintozero else fes)
    return surfaces


# Hills on 3 or more CVs: the grid, its copy per stride and a grid-sized bincount per chunk of hills
# are each 8 bytes a point; 10^7 points keep them under 100 MB each
MAX_POINTS_MANY_CVS = 10_000_000


def _refuse_large_grid(hills: Hills, grid: GridSpec) -> None:
    points = math.prod(grid.shape)
    if grid.ndim >= 3 and points > MAX_POINTS_MANY_CVS:
        raise NucleateError(f"{hills.source}: the grid for {len(grid.names)} CVs ({' x '.join(map(str, grid.shape))} = "
                            f"{points:.3g} points) is larger than {MAX_POINTS_MANY_CVS:.0e} points (8 bytes each, "
                            "several arrays of them); ask fewer bins per CV with --bin, e.g. --bin "
                            f"{','.join(['50'] * grid.ndim)}, or project onto fewer CVs with --idw")


def bias_grid(hills: Hills, grid: GridSpec | None = None) -> tuple[GridSpec, np.ndarray]:
    """The bias V(s) of all hills (stored heights x (gamma-1)/gamma) on a grid fine enough to interpolate."""
    if grid is None:
        coarse = auto_grid(hills)
        # sigma/10 spacing keeps linear interpolation within ~V/800 of the exact sum
        grid = GridSpec(coarse.names, coarse.mins, coarse.maxs,
                        tuple(int(math.ceil(b * SUPPORT_IN_SIGMAS)) for b in coarse.nbins), coarse.periodic)
    _refuse_large_grid(hills, grid)
    values = add_hills_to_grid(grid, hills, np.zeros(grid.shape), scale=hills.bias_scale)
    return grid, values


def interpolate_on_grid(grid: GridSpec, values: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Multilinear interpolation of grid values at points (n, d); outside a non-periodic grid, the edge value."""
    from scipy.ndimage import map_coordinates

    coords = []
    pad = []
    for k in range(grid.ndim):
        u = (points[:, k] - grid.mins[k]) / grid.spacing[k]
        if grid.periodic[k]:
            u = np.mod(u, grid.shape[k])
            pad.append((0, 1))
        else:
            u = np.clip(u, 0, grid.shape[k] - 1)
            pad.append((0, 0))
        coords.append(u)
    padded = np.pad(values, pad, mode="wrap") if any(p[1] for p in pad) else values
    return map_coordinates(padded, np.vstack(coords), order=1, mode="nearest")


def ct_from_hills(hills: Hills, kt: float, grid: GridSpec | None = None, ustride: int | None = None,
                  max_work: float = 2e8) -> tuple[np.ndarray, np.ndarray]:
    """Tiwary-Parrinello c(t) from hills, as METAD CALC_RCT computes it on its grid.

    c = kT ln( sum_grid exp(gamma/(gamma-1) V/kT) / sum_grid exp(V/((gamma-1) kT)) ), evaluated
    after every `ustride` hills (default: 1, or larger so that the work stays under max_work
    grid-point updates).  kt is in the hills' energy unit.
    Returns (times of the hills after which c changes, c after them).
    """
    if hills.biasf <= 1.0:
        raise NucleateError(f"{hills.source}: c(t) needs a well-tempered run (biasf > 1)")
    hills = _in_time_order(hills)
    grid = grid or auto_grid(hills)
    _refuse_large_grid(hills, grid)
    npoints = int(np.prod(grid.shape))
    if ustride is None:
        ustride = max(1, int(math.ceil(len(hills) * npoints / max_work)))
    gamma = hills.biasf
    beta_full = gamma / (gamma - 1.0) / kt
    beta_tempered = 1.0 / (gamma - 1.0) / kt
    bias = np.zeros(grid.shape)
    cuts = list(range(ustride, len(hills) + 1, ustride))
    if not cuts or cuts[-1] != len(hills):
        cuts.append(len(hills))
    ct = np.empty(len(cuts))
    done = 0
    for i, cut in enumerate(cuts):
        add_hills_to_grid(grid, hills, bias, done, cut, scale=hills.bias_scale)
        done = cut
        top = bias.max()
        z0 = np.exp(beta_full * (bias - top)).sum()
        zv = np.exp(beta_tempered * bias - beta_full * top).sum()
        ct[i] = kt * math.log(z0 / zv)
    return hills.times[np.asarray(cuts) - 1], ct


def _in_time_order(hills: Hills) -> Hills:
    """Hills of several walkers' files (HILLS.0, HILLS.1, ...) interleaved by time, as they were
    added to the shared bias; one walker's file is in order already."""
    if len(hills) < 2 or np.all(np.diff(hills.times) >= 0):
        return hills
    return hills.take(np.argsort(hills.times, kind="stable"))


def _ct_lookup(hill_times: np.ndarray, ct: np.ndarray, times: np.ndarray, same_step_counts: bool) -> np.ndarray:
    if len(hill_times) > 1:
        tolerance = 1e-6 * float(np.min(np.diff(hill_times)[np.diff(hill_times) > 0], initial=1.0))
    else:
        tolerance = 1e-9
    shifted = times + tolerance if same_step_counts else times - tolerance
    position = np.searchsorted(hill_times, shifted, side="right") - 1
    return np.where(position >= 0, ct[np.clip(position, 0, None)], 0.0)


def ct_at_times(hill_times: np.ndarray, ct: np.ndarray, times: np.ndarray) -> np.ndarray:
    """c(t) as PLUMED prints it in LABEL.rct at each time: after the hill of that step is added."""
    return _ct_lookup(hill_times, ct, times, same_step_counts=True)


def ct_acting_at(hill_times: np.ndarray, ct: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The c(t) that goes with the bias printed at each time: METAD computes the bias before it adds
    that step's hill, so LABEL.rbias = LABEL.bias - c after the hills strictly before t."""
    return _ct_lookup(hill_times, ct, times, same_step_counts=False)
