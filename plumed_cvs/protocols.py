"""Biasing protocols: unbiased, well-tempered metadynamics (METAD), OPES_METAD, OPES_METAD_EXPLORE.

  bias:
    protocol: wtmetad            # unbiased | wtmetad | opes | opes_explore
    args: [s1, s2]
    pace: 100                    # steps between hills / kernels (>= 1)
    height: 3.0                  # wtmetad: initial hill height, input energy unit (> 0)
    sigma: [0.05, 0.01]          # hill/kernel widths, CV units (> 0); opes: or "adaptive"
    biasfactor: 25               # wtmetad (> 1); optional for opes (default BARRIER/kT)
    barrier: 30                  # opes: expected barrier, input energy unit (> 0)
    grid: auto                   # wtmetad: auto | none | {min: [...], max: [...], bin: [...]}
    calc_rct: true               # wtmetad: write c(t) (metad.rct) and V - c(t) (metad.rbias)
    walkers: {n: 4, id: 0, dir: ../walkers, rstride: 100}   # wtmetad: share HILLS files
             {mpi: true}                                     # opes: WALKERS_MPI only
    file: HILLS                  # default HILLS (wtmetad) or KERNELS (opes)
    name: metad                  # the action's label (default metad / opes)

Files the bias writes (`file`, opes' `state_file`) are plain names inside the run directory: no
'/', no '..', no absolute path. The one exception is the directory file-shared walkers exchange
hills through, `walkers.dir`: it lies outside every walker's run directory by design, so it may
start with '..' (../walkers, the default); an absolute path (/scratch/me/hills) pins one machine's
file system and is taken only with `walkers.shared: true`. PLUMED writes each walker's hills there
as <dir>/<file>.<id>, so `file` itself stays a plain name even then.

TEMP is always written (LAMMPS's fix plumed does not pass the temperature to PLUMED).
An automatic grid spans each CV's range (the CV's `range:`, else its walls, else its natural
bounds) padded by 5 sigma + 10% of the span, with bins of sigma/4; c(t) needs a grid, so CALC_RCT implies one.
"""

from __future__ import annotations

import math

from nucleate import validate as check
from nucleate.errors import NucleateError

from .builder import InputBuilder
from .schema import check_keys, comment, flag, integer, number, numbers, require
from .schema import label as check_label

PROTOCOLS = ("unbiased", "wtmetad", "opes", "opes_explore")
_MAX_GRID_POINTS = 20_000_000
_BIN_PER_SIGMA = 4
_PAD_SIGMAS = 5


def add_bias(builder: InputBuilder, bias, *, temperature_K: float, restart: bool,
             wall_bounds: dict[str, tuple], energy_unit: str) -> list[str]:
    """Render the bias block; returns the labels whose components go to COLVAR."""
    if not bias:
        return []
    if isinstance(bias, str):
        bias = {"protocol": bias}
    if not isinstance(bias, dict):
        raise NucleateError(f"plumed.bias: expected a protocol name or a mapping, got {bias!r}")
    protocol = require(bias, "protocol", "plumed.bias")
    if protocol not in PROTOCOLS:
        raise NucleateError(f"plumed.bias.protocol: unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    if protocol == "unbiased":
        check_keys(bias, {"protocol", "args"}, "plumed.bias")
        return []
    number(temperature_K, "temperature_K", above=0)
    if protocol == "wtmetad":
        return [_metad(builder, bias, temperature_K, wall_bounds, energy_unit)]
    return [_opes(builder, bias, protocol, temperature_K, restart, energy_unit)]


def _args(builder: InputBuilder, bias: dict, where: str) -> list[str]:
    args = builder.expand(require(bias, "args", where), f"{where}.args")
    if len(set(args)) != len(args):
        raise NucleateError(f"{where}.args: the same CV appears twice: {args}")
    return args


def _metad(builder, bias, temperature_K, wall_bounds, energy_unit) -> str:
    where = "plumed.bias"
    check_keys(bias, {"protocol", "args", "pace", "height", "sigma", "biasfactor", "grid", "calc_rct",
                      "rct_ustride", "walkers", "file", "name", "comment"}, where)
    args = _args(builder, bias, where)
    pace = integer(require(bias, "pace", where), f"{where}.pace", at_least=1)
    height = number(require(bias, "height", where), f"{where}.height", above=0)
    sigma = numbers(require(bias, "sigma", where), len(args), f"{where}.sigma", above=0)
    biasfactor = number(require(bias, "biasfactor", where), f"{where}.biasfactor", above=1)
    calc_rct = flag(bias, "calc_rct", where, default=True)
    grid = _grid(builder, bias.get("grid", "auto"), args, sigma, wall_bounds, calc_rct, where)
    walkers = _file_walkers(bias.get("walkers"), where)
    label = builder.claim(_name(bias, "metad", where), where)
    hills = check.output_name(bias.get("file", "HILLS"), f"{where}.file")
    text = comment(bias, where) or (
        f"well-tempered metadynamics on {', '.join(args)}: a Gaussian of height {height:g} {energy_unit} every "
        f"{pace} steps, bias factor {biasfactor:g} at {temperature_K:g} K"
        + ("; c(t) for reweighting in {0}.rct, V - c(t) in {0}.rbias".format(label) if calc_rct else ""))
    builder.emit("metad.j2", comment=text, label=label, args=args, pace=pace, height=height, sigma=sigma,
                 biasfactor=biasfactor, temp=temperature_K, file=hills, grid=grid,
                 calc_rct=calc_rct, rct_ustride=integer(bias.get("rct_ustride", 1), f"{where}.rct_ustride", at_least=1),
                 walkers=walkers)
    return label


def _opes(builder, bias, protocol, temperature_K, restart, energy_unit) -> str:
    where = "plumed.bias"
    check_keys(bias, {"protocol", "args", "pace", "barrier", "sigma", "biasfactor", "walkers", "file",
                      "state_file", "state_stride", "name", "comment"}, where)
    args = _args(builder, bias, where)
    pace = integer(require(bias, "pace", where), f"{where}.pace", at_least=1)
    barrier = number(require(bias, "barrier", where), f"{where}.barrier", above=0)
    sigma = require(bias, "sigma", where)
    if isinstance(sigma, str):
        if sigma.lower() != "adaptive":
            raise NucleateError(f"{where}.sigma: give numbers (one per CV) or 'adaptive', got {sigma!r}")
        sigma = "ADAPTIVE"
    else:
        sigma = numbers(sigma, len(args), f"{where}.sigma", above=0)
    biasfactor = bias.get("biasfactor")
    if biasfactor is not None:
        biasfactor = number(biasfactor, f"{where}.biasfactor", above=1)
    walkers = bias.get("walkers")
    walkers_mpi = False
    if walkers:
        check_keys(walkers, {"mpi", "n", "id", "dir", "rstride"}, f"{where}.walkers")
        if not flag(walkers, "mpi", f"{where}.walkers", default=False):
            raise NucleateError(
                f"{where}.walkers: OPES shares its kernels between walkers only through MPI (WALKERS_MPI); "
                "set walkers: {mpi: true} and run the walkers as MPI ranks, or use protocol wtmetad for file-shared walkers")
        walkers_mpi = True
    action = "OPES_METAD" if protocol == "opes" else "OPES_METAD_EXPLORE"
    label = builder.claim(_name(bias, "opes", where), where)
    kernels = check.output_name(bias.get("file", "KERNELS"), f"{where}.file")
    state = check.output_name(bias.get("state_file", "STATE"), f"{where}.state_file")
    text = comment(bias, where) or (
        f"{action} on {', '.join(args)}: expected barrier {barrier:g} {energy_unit}, a kernel every {pace} steps "
        f"at {temperature_K:g} K; {label}.rct is c(t) for reweighting, {label}.bias the bias; the compressed "
        f"kernels go to {kernels} (re-read on restart), the full state to {state}")
    builder.emit("opes.j2", comment=text, label=label, action=action, args=args, pace=pace, barrier=barrier,
                 temp=temperature_K, sigma=sigma, biasfactor=biasfactor, file=kernels,
                 state=state, state_stride=integer(bias.get("state_stride", 100 * pace), f"{where}.state_stride", at_least=1),
                 restart=restart, walkers_mpi=walkers_mpi)
    return label


def _name(bias: dict, default: str, where: str) -> str:
    return check_label(bias.get("name", default), f"{where}.name")


def _file_walkers(walkers, where: str):
    if not walkers:
        return None
    check_keys(walkers, {"n", "id", "dir", "rstride", "shared"}, f"{where}.walkers")
    n = integer(require(walkers, "n", f"{where}.walkers"), f"{where}.walkers.n", at_least=1)
    walker_id = integer(walkers.get("id", 0), f"{where}.walkers.id", at_least=0)
    if walker_id >= n:
        raise NucleateError(f"{where}.walkers.id must be in 0..{n - 1}, got {walker_id}")
    shared = flag(walkers, "shared", f"{where}.walkers", default=False)
    directory = check.walkers_dir(walkers.get("dir", "../walkers"), f"{where}.walkers.dir", shared=shared)
    return {"n": n, "id": walker_id, "dir": directory,
            "rstride": integer(walkers.get("rstride", 100), f"{where}.walkers.rstride", at_least=1)}


def _grid(builder, grid, args, sigma, wall_bounds, calc_rct, where):
    if grid in (None, "none", False):
        if calc_rct:
            raise NucleateError(f"{where}: calc_rct needs a grid; use grid: auto or set calc_rct: false")
        return None
    if isinstance(grid, dict):
        check_keys(grid, {"min", "max", "bin"}, f"{where}.grid")
        lo = numbers(require(grid, "min", f"{where}.grid"), len(args), f"{where}.grid.min")
        hi = numbers(require(grid, "max", f"{where}.grid"), len(args), f"{where}.grid.max")
        bins = grid.get("bin") or [math.ceil((h - l) * _BIN_PER_SIGMA / s) for l, h, s in zip(lo, hi, sigma)]
        bins = [integer(b, f"{where}.grid.bin", at_least=1) for b in bins]
    elif grid == "auto":
        lo, hi, bins = [], [], []
        for arg, width in zip(args, sigma):
            low, high = _range(builder, arg, wall_bounds, where)
            # CVs overshoot soft walls: pad by 5 sigma and a tenth of the span
            pad = _PAD_SIGMAS * width + 0.1 * (high - low)
            low, high = low - pad, high + pad
            lo.append(low)
            hi.append(high)
            bins.append(math.ceil((high - low) * _BIN_PER_SIGMA / width))
    else:
        raise NucleateError(f"{where}.grid: use auto, none or {{min: [...], max: [...], bin: [...]}}, got {grid!r}")
    for arg, low, high in zip(args, lo, hi):
        if not high > low:
            raise NucleateError(f"{where}.grid: max must exceed min for {arg} (got {low:g}..{high:g})")
    points = math.prod(b + 1 for b in bins)
    if points > _MAX_GRID_POINTS:
        raise NucleateError(
            f"{where}.grid: {points:,} grid points ({' x '.join(map(str, bins))}) is too many; give the CVs a "
            "tighter `range: [lo, hi]`, a wall, or an explicit grid: {min, max, bin}")
    return {"min": lo, "max": hi, "bin": bins}


def _range(builder, arg, wall_bounds, where):
    """The CV's declared/natural range, narrowed by walls on it."""
    bounds = builder.bounds_of(arg)
    low, high = (bounds if bounds else (None, None))
    wall_low, wall_high = wall_bounds.get(arg, (None, None))
    low = wall_low if wall_low is not None and (low is None or wall_low > low) else low
    high = wall_high if wall_high is not None and (high is None or wall_high < high) else high
    if low is None or high is None:
        raise NucleateError(
            f"{where}.grid: the range of {arg} is not known; give the CV `range: [lo, hi]`, "
            "walls on both sides, or an explicit grid")
    return float(low), float(high)
