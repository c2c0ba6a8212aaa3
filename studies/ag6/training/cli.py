"""`nucleate model build-ag6`: the reproducible pipeline of the Ag6 demonstration model."""

from __future__ import annotations

import argparse
from pathlib import Path

from nucleate.models import AG6_DIR

DEFAULT_OUTPUT = AG6_DIR  # the shipped model's folder, nucleate/models/ag6


def _model_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The `model` parser's action subparsers (nucleate.models.cli may have made them already)."""
    parser = sub.choices.get("model") if hasattr(sub, "choices") else None
    if parser is None:
        parser = sub.add_parser("model", help="DeePMD models")
        parser.add_subparsers(dest="model_command", metavar="ACTION")
    return parser


def register(sub: argparse._SubParsersAction) -> None:
    model = _model_parser(sub)
    actions = next(a for a in model._actions if isinstance(a, argparse._SubParsersAction))
    build = actions.add_parser(
        "build-ag6", help="sample, label (GFN2-xTB), train and test the Ag/S/N/C/H/O demonstration model",
        description="Resumable, seeded pipeline: each stage writes into WORKDIR and skips what is already there. "
        "--scale full takes hours on 2 cores; --scale smoke runs every stage on a handful of frames.")
    build.add_argument("-o", "--workdir", type=Path, required=True, help="work folder (created; resumed if present)")
    build.add_argument("--stage", choices=("sample", "label", "train", "test", "all"), default="all",
                       help="run one stage of the current concurrent-learning round, or everything (default)")
    build.add_argument("--scale", choices=("smoke", "full"), default="full")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--output", type=Path, default=None,
                       help=f"where the test stage copies model.pb and MODEL_CARD.md (default: {DEFAULT_OUTPUT} "
                       "for --scale full, none for smoke)")
    build.set_defaults(func=_build_ag6)


def _build_ag6(args: argparse.Namespace) -> int:
    from nucleate.studies.ag6.training.run import run_pipeline

    output = args.output or (DEFAULT_OUTPUT if args.scale == "full" else None)
    run_pipeline(args.workdir, stage=args.stage, scale=args.scale, seed=args.seed, output=output)
    return 0
