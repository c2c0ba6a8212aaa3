"""`nucleate kde`, `nucleate cn`, `nucleate nuclei`: trajectory analysis of a run by group names.

MDAnalysis, scipy and matplotlib are imported inside the commands so `nucleate --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nucleate.analysis.cli_numbers import non_negative_float, non_negative_int, positive_float, positive_int
from nucleate.analysis.output_files import check_output, ensure_folder
from nucleate.errors import NucleateError


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rundir", nargs="?", help="run directory (system.data, traj.lammpstrj, groups.json, manifest.json)")
    parser.add_argument("--data", help="LAMMPS data file (atom_style atomic)")
    parser.add_argument("--traj", help="LAMMPS dump (dump custom ... id type x y z)")
    parser.add_argument("--groups", help="groups file (groups.json)")
    parser.add_argument("--type-map", help="element of each atom type, e.g. Ag,S,N,C,H,O, when there is no groups file")
    parser.add_argument("--timestep-fs", type=positive_float,
                        help="MD timestep in fs (default: the run's manifest); times in ps")
    parser.add_argument("--start", type=non_negative_int, help="first frame (0-based)")
    parser.add_argument("--stop", type=non_negative_int, help="stop before this frame")
    parser.add_argument("--step", type=positive_int, help="use every STEP-th frame")


def _open_run(args):
    from nucleate.analysis.trajectory.io import Run, RunFiles

    files = RunFiles.locate(args.rundir, args.data, args.traj, args.groups, args.timestep_fs)
    type_map = args.type_map.split(",") if args.type_map else None
    return Run(files, type_map=type_map)


def _frames(args) -> dict:
    return {"start": args.start, "stop": args.stop, "step": args.step}


def _key_values(items, what: str, split_pair: bool) -> dict:
    """NAME=VALUE options whose values are lengths or widths: positive numbers."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        try:
            number = positive_float(value)
        except argparse.ArgumentTypeError:
            number = None
        if not sep or number is None:
            raise NucleateError(f"cannot read {what} {item!r}: write NAME=VALUE with a positive VALUE, "
                                "e.g. Ag-S=3.0")
        out[tuple(key.split("-")) if split_pair else key] = number
    return out


def _references(choice: str | None):
    """Reference lines: none, a JSON file, or a study's published maxima by the study's name."""
    if choice in (None, "none"):
        return None
    path = Path(choice)
    if not path.exists() and choice.isidentifier():
        return _study_references(choice)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise NucleateError(f"reference file {path} does not exist (or use --reference none|{'|'.join(_studies())})") from None
    except json.JSONDecodeError as exc:
        raise NucleateError(f"reference file {path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None


def _studies() -> list[str]:
    import pkgutil

    import nucleate.studies

    return sorted(m.name for m in pkgutil.iter_modules(nucleate.studies.__path__) if m.ispkg)


def _study_references(name: str) -> dict:
    # The study's numbers live with the study (studies/NAME/published.py), not in this generic command.
    import importlib

    if name not in _studies():
        raise NucleateError(f"--reference {name}: no such file and no study of that name "
                            f"(studies: {', '.join(_studies())}; or give a JSON file, or none)")
    return importlib.import_module(f"nucleate.studies.{name}.published").STUDY_KDE_MAXIMA


def cmd_kde(args) -> int:
    from nucleate.analysis.plot_traj import plot_kde_panels
    from nucleate.analysis.trajectory.analyses import structure_kde
    from nucleate.analysis.trajectory.tables import write_kde_tables

    ensure_folder(args.output)
    run = _open_run(args)
    pairs = [p for p in args.pairs.split(",") if p] if args.pairs else []
    angles = [a for a in args.angles.split(",") if a] if args.angles else []
    if not pairs and not angles:
        raise NucleateError("nothing to estimate: give --pairs and/or --angles")
    results = structure_kde(run, pairs, angles, cutoffs=_key_values(args.cutoff, "cutoff", True),
                            bandwidths=_key_values(args.bandwidth, "bandwidth", False), **_frames(args))
    outdir = Path(args.output)
    written = write_kde_tables(results, outdir) + plot_kde_panels(results, outdir / "kde", _references(args.reference))
    for r in results.values():
        print(f"{r.label:10s} maxima {', '.join(f'{m:.2f}' for m in r.maxima)} {r.unit}  "
              f"(bandwidth {r.bandwidth:.3g} {r.unit}, {r.n_samples} samples)")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _switch(args):
    from nucleate.analysis.switching import AUTO, RationalSwitch

    if args.switch:
        return RationalSwitch.from_plumed(args.switch)
    if args.r0 is None:
        raise NucleateError("give the switching function: --r0 R_0 (A) [--nn --mm --d0], or --switch '{RATIONAL R_0=...}'")
    if args.d_max in (None, "auto"):
        d_max = AUTO
    elif args.d_max == "none":
        d_max = None
    else:
        try:
            d_max = positive_float(args.d_max)
        except argparse.ArgumentTypeError:
            raise NucleateError(f"--d-max {args.d_max!r}: give a positive distance in A, 'auto' or 'none'") from None
    return RationalSwitch(args.r0, args.nn, args.mm, args.d0, d_max, stretch=not args.nostretch)


def cmd_cn(args) -> int:
    from nucleate.analysis.plot_traj import plot_time_series
    from nucleate.analysis.trajectory.analyses import coordination_series
    from nucleate.analysis.trajectory.tables import write_series_csv

    switch = _switch(args)
    if args.pair:
        names = args.pair.split(",")
        if len(names) != 2 or not all(names):
            raise NucleateError(f"--pair {args.pair!r}: give two group names, A,B")
        group, partner, point = names[0], names[1], None
        label = args.label or f"CN {names[0]}-{names[1]}"
    elif args.within:
        group, partner, point = args.within, None, None
        label = args.label or f"CN within {group}"
    else:
        if not args.group:
            raise NucleateError("--point needs --group NAME: the atoms counted around the point")
        group, partner, point = args.group, None, args.point
        label = args.label or f"CN {group} around {point}"
    check_output(Path(args.output).with_suffix(".csv"))
    run = _open_run(args)
    results = coordination_series(run, group, switch, partner=partner, point=point, **_frames(args))
    prefix = Path(args.output)
    written = [write_series_csv(prefix.with_suffix(".csv"), results.steps, results.times, run.time_unit, {"cn": results.cn})]
    written += plot_time_series(results.times, {label: results.cn}, label, run.time_unit, prefix)
    print(f"{label}: {len(results.cn)} frames, mean {results.cn.mean():.4f}, min {results.cn.min():.4f}, "
          f"max {results.cn.max():.4f}  ({switch})")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_nuclei(args) -> int:
    from nucleate.analysis.plot_traj import plot_nuclei
    from nucleate.analysis.trajectory.analyses import nuclei
    from nucleate.analysis.trajectory.tables import write_nuclei_tables

    ensure_folder(args.output)
    run = _open_run(args)
    results = nuclei(run, args.group, args.cutoff, args.min_size, args.diagonal_tolerance, **_frames(args))
    outdir = Path(args.output)
    written = write_nuclei_tables(results, run.time_unit, outdir) + plot_nuclei(results, run.time_unit, outdir / "nuclei")
    first = next((t for t, n in zip(results.times, results.n_octahedra) if n), None)
    print(f"{len(results.largest)} frames: largest {args.group} cluster up to {results.largest.max()}, "
          f"up to {results.n_octahedra.max()} complete octahedra"
          + (f", first at {first:g} {run.time_unit}" if first is not None else ""))
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def register(sub) -> None:
    kde = sub.add_parser("kde", help="KDE maxima of bond distances and angles between named groups",
                         description="Distributions of bond distances (A) and angles (deg) between named groups, "
                                     "their Gaussian KDE (Scott bandwidth unless given) and maxima.")
    _add_inputs(kde)
    kde.add_argument("--pairs", default="Ag-Ag,Ag-S,Ag-N", help="bonded pairs A-B (default: %(default)s)")
    kde.add_argument("--angles", default="Ag-Ag-Ag,S-Ag-S,N-Ag-Ag,N-Ag-S",
                     help="angles A-B-C, vertex B in the middle (default: %(default)s)")
    kde.add_argument("--cutoff", action="append", metavar="A-B=R", help="bond cutoff in A (defaults Ag-Ag=3.5, Ag-S=3.0, Ag-N=2.8)")
    kde.add_argument("--bandwidth", action="append", metavar="LABEL=H", help="KDE bandwidth for one quantity, in A or deg")
    kde.add_argument("--reference", default="none",
                     help="reference lines: none (default), a study's published maxima by its name (e.g. ag6), "
                          "or a JSON file {label: {values: [...], ranges: [[lo, hi]]}}")
    kde.add_argument("-o", "--output", required=True, help="output directory")
    kde.set_defaults(func=cmd_kde)

    cn = sub.add_parser("cn", help="coordination-number time series with PLUMED's switching function",
                        description="Coordination numbers per frame, computed exactly as PLUMED COORDINATION "
                                    "(rational switching function, R_0 syntax: cut and stretched at d_max).")
    _add_inputs(cn)
    what = cn.add_mutually_exclusive_group(required=True)
    what.add_argument("--pair", help="A,B: COORDINATION GROUPA=A GROUPB=B")
    what.add_argument("--within", help="A: COORDINATION GROUPA=A (pairs once)")
    what.add_argument("--point", help="x,y,z (A) or group:NAME (its centre of mass each frame); with --group")
    cn.add_argument("--group", help="the group counted around --point")
    cn.add_argument("--r0", type=positive_float, help="R_0 in A")
    cn.add_argument("--nn", type=positive_int, default=6)
    cn.add_argument("--mm", type=non_negative_int, default=0, help="0 means 2*NN")
    cn.add_argument("--d0", type=non_negative_float, default=0.0, help="D_0 in A")
    cn.add_argument("--d-max", help="auto (PLUMED's R_0-syntax default), none, or a distance in A")
    cn.add_argument("--nostretch", action="store_true", help="do not stretch the function to reach 0 at d_max")
    cn.add_argument("--switch", help="PLUMED SWITCH syntax instead, e.g. '{RATIONAL R_0=3.0 NN=6 MM=10}' (A)")
    cn.add_argument("--label", help="name of the series in the figure")
    cn.add_argument("-o", "--output", required=True, help="output prefix: writes PREFIX.csv, .png, .svg")
    cn.set_defaults(func=cmd_cn)

    nuc = sub.add_parser("nuclei", help="Ag clusters per frame and complete Ag6 octahedra",
                         description="Clusters of the Ag-Ag contact graph per frame, their sizes, and complete "
                                     "Ag6 octahedra (each Ag with 4 Ag neighbours and one opposite vertex).")
    _add_inputs(nuc)
    nuc.add_argument("--group", default="Ag", help="silver group (default: %(default)s)")
    nuc.add_argument("--cutoff", type=positive_float, default=3.5,
                     help="Ag-Ag contact distance in A (default: %(default)s)")
    nuc.add_argument("--min-size", type=positive_int, default=2,
                     help="smallest cluster counted as a nucleus (default: %(default)s)")
    nuc.add_argument("--diagonal-tolerance", type=non_negative_float, default=0.2,
                     help="allowed relative deviation of octahedron diagonals from sqrt(2) x edge (default: %(default)s)")
    nuc.add_argument("-o", "--output", required=True, help="output directory")
    nuc.set_defaults(func=cmd_nuclei)
