"""`nucleate model ...`: build the toy Morse-silver DeePMD model."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    model = sub.add_parser("model", help="toy DeePMD models (build the Morse-silver demonstration model)")
    actions = model.add_subparsers(dest="model_command", metavar="ACTION")
    build = actions.add_parser(
        "build-toy",
        help="train a toy Morse-silver DeePMD model on data generated in-process (no network)",
        description="Generate Morse-silver reference frames with LAMMPS, train with `dp --tf train`, "
        "freeze to DIR/model.pb, and report its errors on held-out frames.",
    )
    build.add_argument("-o", "--output", type=Path, required=True, help="folder for model.pb and the training files")
    build.add_argument("--steps", type=int, help="training steps (default: 300 tiny, 20000 with --demo)")
    build.add_argument("--seed", type=int, default=0, help="seed for data sampling and training (default: 0)")
    build.add_argument("--demo", action="store_true",
                       help="the demo recipe (1800 frames, larger network; a few minutes): writes model.pb, "
                       "system.data, groups.json and metrics.json, as committed in nucleate/models/demo")
    build.set_defaults(func=_build_toy)
    model.set_defaults(func=lambda args: model.print_help() or 2)


def _build_toy(args: argparse.Namespace) -> int:
    import json
    import time

    from nucleate.errors import NucleateError
    from nucleate.models import toy

    if args.steps is not None and args.steps < 1:
        raise NucleateError(f"--steps must be a positive number of training steps, not {args.steps}")
    if args.demo:
        metrics = toy.build_demo(args.output, steps=args.steps or toy.DEMO_RECIPE.steps, seed=args.seed)
        print(json.dumps(metrics, indent=1))
        return 0
    began = time.perf_counter()
    model = toy.train_toy_model(args.output, steps=args.steps or toy.TINY_RECIPE.steps, seed=args.seed)
    accuracy = toy.compare(model, toy.held_out_frames(toy.TINY_RECIPE, args.seed))
    print(f"model: {model} (built in {time.perf_counter() - began:.1f} s)")
    print(f"held-out frames: {accuracy.nframes}; energy RMSE {accuracy.energy_rmse_mev_per_atom:.1f} meV/atom; "
          f"force RMSE {accuracy.force_rmse_mev_per_angstrom:.0f} meV/A "
          f"(reference force RMS {accuracy.reference_force_rms_mev_per_angstrom:.0f} meV/A, "
          f"energy spread {accuracy.reference_energy_spread_mev_per_atom:.0f} meV/atom)")
    return 0
