"""Engine commands: render, run (and --continue, --until), prepare, profile."""

from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("render", help="write a self-contained run directory from a spec (no MD)")
    p.add_argument("spec", help="run specification (.yaml/.yml/.toml)")
    p.add_argument("-o", "--output", required=True, help="run directory to create")
    p.add_argument("--overwrite", action="store_true", help="replace an existing directory (kept beside it)")
    p.add_argument("--show", action="store_true", help="print the generated plumed.dat")
    _model_option(p)
    p.set_defaults(func=_render)

    p = sub.add_parser("run", help="render a spec and run it, or continue a run directory")
    p.add_argument("target", help="spec file, or a run directory with --continue")
    p.add_argument("-o", "--output", help="run directory (required with a spec)")
    p.add_argument("--steps", type=int, help="number of steps (with --continue: additional steps)")
    p.add_argument("--continue", dest="continue_run", action="store_true",
                   help="resume the run directory from its last checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="start again from step 0: with a spec, replace the run directory (kept beside it); with a run "
                   "directory, keep its earlier outputs in replaced-<time>/ inside it")
    p.add_argument("--until", type=int, metavar="STEP",
                   help="bring a run directory to this step: start it, continue it or do nothing, as its state asks "
                   "(what a batch job runs)")
    p.add_argument("--time-limit", type=_duration, metavar="SECONDS|HH:MM:SS",
                   help="stop cleanly with a checkpoint after this wall-clock time (a job's walltime less a margin); "
                   "exit 0, continue later")
    p.add_argument("--lammps", metavar="COMMAND", default=None,
                   help="with --until: run the segment with this LAMMPS executable (built with DeePMD-kit and "
                   "PLUMED), e.g. 'lmp', 'srun lmp' or 'mpirun -np 4 lmp', instead of in this process")
    _model_option(p)
    p.set_defaults(func=_run)

    p = sub.add_parser("prepare", help="relax a spec's start and bring it to temperature, as a new box folder",
                       description="CG-minimise the start (solutes held in place), then a short Langevin run at the "
                       "spec's temperature with the walls and restraints of its PLUMED input (no METAD/OPES); the "
                       "last frame becomes DIR/system.data + DIR/groups.json for the production run.")
    p.add_argument("spec", help="the production run specification (.yaml/.yml/.toml)")
    p.add_argument("-o", "--output", required=True, help="box folder to write (keeps the preparation run in DIR/run)")
    p.add_argument("--ps", type=float, default=None, metavar="PS",
                   help="equilibration length in ps (default 0.25)")
    p.add_argument("--no-minimize", action="store_true", help="skip the CG minimisation")
    p.add_argument("--overwrite", action="store_true", help="replace the folder's contents")
    _model_option(p)
    p.set_defaults(func=_prepare)

    from .profile import add_parser as add_profile_parser  # standard library only at import: start-up stays fast

    add_profile_parser(sub)


def _model_option(parser) -> None:
    parser.add_argument("--model", action="append", default=None, metavar="MODEL.pb",
                        help="DeePMD model(s) replacing the spec's potential (repeat for a committee); a spec "
                        "without potential: needs it")


def _spec_with_model(path, models):
    from .spec import load_spec

    return load_spec(path, models=models)


def _render(args) -> int:
    from .render import render_run

    run = render_run(_spec_with_model(args.spec, args.model), args.output, overwrite=args.overwrite, command_line=sys.argv)
    print(f"rendered {run.path}: " + ", ".join(sorted(p.name for p in run.path.iterdir())))
    plumed = run.path / "plumed.dat"
    if args.show and plumed.exists():
        print(plumed.read_text())
    print(f"run it with:  nucleate run {run.path}   (locally)  or  lmp -in in.lammps  (LAMMPS with PLUMED+DeePMD)")
    return 0


def _run(args) -> int:
    from nucleate.errors import NucleateError

    from . import rundir as rd
    from .render import render_run
    from .runner import execute

    target = Path(args.target)
    if args.until is not None:
        return _advance(args, target)
    if args.lammps:
        raise NucleateError("--lammps runs a segment of a run directory with --until STEP (the native-LAMMPS engine "
                            "of batch jobs), e.g. `nucleate run DIR --until 100000 --lammps 'srun lmp'`")
    if args.steps is not None and args.steps < 1:
        raise NucleateError(f"--steps must be a positive number of steps, got {args.steps}")
    if args.model and (args.continue_run or target.is_dir()):
        raise NucleateError(f"--model applies to a spec file; the run directory {target} keeps the model it was "
                            "rendered with (render the spec again with --model for another)")
    if args.continue_run:
        if args.output and Path(args.output).resolve() != target.resolve():
            raise NucleateError("with --continue give the run directory itself, without -o")
        if args.overwrite:
            raise NucleateError("--continue and --overwrite contradict each other: choose one")
        result = execute(target, steps=args.steps, continue_run=True, time_limit_s=args.time_limit)
    elif target.is_dir():
        if not rd.RunDirectory(target).exists:
            raise NucleateError(f"{target} is a directory but not a run directory (no manifest.json)")
        result = execute(target, steps=args.steps, overwrite=args.overwrite, time_limit_s=args.time_limit)
    else:
        if not args.output:
            raise NucleateError("give the run directory with -o DIR")
        run = render_run(_spec_with_model(target, args.model), args.output, overwrite=args.overwrite, command_line=sys.argv)
        result = execute(run.path, steps=args.steps, time_limit_s=args.time_limit)
    return _report(result)


def _report(result) -> int:
    from . import rundir as rd

    if result.status == "time-limit" and result.end_step == result.start_step:
        print(f"{result.rundir}: the time limit came before the first step (the start-up took longer); nothing "
              "was run or changed", file=sys.stderr)
        return 0
    if result.status == "time-limit":
        print(f"{result.rundir}: stopped at the time limit at step {result.end_step} with a checkpoint; continue with:\n"
              f"  nucleate run {result.rundir} --continue", file=sys.stderr)
        return 0
    if result.status == "interrupted":
        if rd.RunDirectory(result.rundir).checkpoint() is None:
            print(f"interrupted before the first step; nothing to keep. Start it again with:\n"
                  f"  nucleate run {result.rundir}", file=sys.stderr)
        else:
            print(f"interrupted at step {result.end_step}; checkpoint written. Continue with:\n"
                  f"  nucleate run {result.rundir} --continue", file=sys.stderr)
        return 130
    plumed = (f"; PLUMED {result.plumed_ms_per_step:.2f} ms/step = {100 * result.plumed_share:.1f}% of each step "
              f"(`nucleate profile {result.rundir}` tells which actions)" if result.plumed_share is not None else "")
    print(f"{result.rundir}: steps {result.start_step}-{result.end_step} done; MD {result.steps_per_s:.1f} steps/s, "
          f"{result.wall_s:.1f} s in all (start-up included){plumed}")
    return 0


def _advance(args, target: Path) -> int:
    from nucleate.errors import NucleateError

    from .runner import advance

    if args.continue_run or args.overwrite or args.steps is not None or args.output or args.model:
        raise NucleateError("--until takes a run directory alone (with --time-limit): it starts or continues it "
                            "as its state asks")
    if not target.is_dir():
        raise NucleateError(f"--until needs a run directory; {target} is not one (render the spec first)")
    lammps = None
    if args.lammps:
        from .native import parse_command

        lammps = parse_command(args.lammps, where="--lammps")
    return _report(advance(target, args.until, time_limit_s=args.time_limit, lammps=lammps))


def _duration(text: str) -> float:
    """Seconds, or [[HH:]MM:]SS as Slurm writes a walltime."""
    import argparse

    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (give seconds or HH:MM:SS)") from None
    if len(parts) > 3 or any(p < 0 for p in parts):
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (give seconds or HH:MM:SS)")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"the time limit must be positive, got {text!r}")
    return seconds


def _prepare(args) -> int:
    from .prepare import DEFAULT_EQUILIBRATE_PS, prepare

    spec = _spec_with_model(args.spec, args.model)
    box = prepare(spec, args.output, equilibrate_ps=args.ps or DEFAULT_EQUILIBRATE_PS, minimize=not args.no_minimize,
                  overwrite=args.overwrite)
    print(f"{box.folder}: {box.describe()}")
    print(f"start the production from it:  system: {{data: {box.data_path}, groups: {box.groups_path}}}")
    return 0

