"""The `nucleate` command.  Each subpackage registers its own subcommands (module `cli` with a
`register(subparsers)` function), so this file only dispatches and turns user errors into
one clear message and a non-zero exit.  Heavy imports (LAMMPS, TensorFlow) happen inside the
command functions, never at start-up, so analysis commands stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import NucleateError

# Order is the order of `nucleate --help`.
_COMMAND_MODULES = [
    "nucleate.engine.cli",
    "nucleate.systems.cli",
    "nucleate.plumed_cvs.cli",
    "nucleate.analysis.cli",
    "nucleate.analysis.traj_cli",
    "nucleate.models.cli",
    "nucleate.models.pipeline.cli",
    "nucleate.studies.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nucleate",
        description="LAMMPS + DeePMD + PLUMED from named atom groups to free-energy surfaces.",
    )
    parser.add_argument("--version", action="version", version=f"nucleate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that subpackage has no commands (yet)
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        result = args.func(args)
    except NucleateError as exc:
        print(f"nucleate {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nucleate {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
