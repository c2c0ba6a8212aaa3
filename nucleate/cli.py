"""The `nucleate` command.  Each subpackage registers its own subcommands (module `cli` with a
`register(subparsers)` function), so this file only dispatches and turns user errors into
one clear message and a non-zero exit.  Heavy imports (LAMMPS, TensorFlow) happen inside the
command functions, never at start-up, so analysis commands stay fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import signal
import sys

from . import __version__
from .errors import NucleateError

# Order is the order of `nucleate --help`.
_COMMAND_MODULES = [
    "nucleate.engine.cli",
    "nucleate.doctor",
    "nucleate.demo",
    "nucleate.systems.cli",
    "nucleate.plumed_cvs.cli",
    "nucleate.analysis.cli",
    "nucleate.analysis.trajectory.cli",
    "nucleate.models.cli",
    "nucleate.studies.ag6.training.cli",  # `model build-ag6`: after nucleate.models.cli, which makes `model`
    "nucleate.studies.cli",
    "nucleate.launch.cli",
]


# Commands whose module is known without importing the others: `nucleate reweight ...` builds a
# command table of that module alone (the whole table imports every subpackage's CLI, ~0.2 s).
_COMMAND_OWNER = {name: "nucleate.analysis.cli" for name in ("fes", "reweight", "deltag", "basins", "frames", "plot")}


def build_parser(modules: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nucleate",
        description="LAMMPS + DeePMD + PLUMED from named atom groups to free-energy surfaces.",
    )
    parser.add_argument("--version", action="version", version=f"nucleate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in modules or _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that subpackage has no commands (yet)
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    owner = _COMMAND_OWNER.get(words[0]) if words else None
    parser = build_parser([owner] if owner else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _log_to_stderr()
    try:
        result = args.func(args)
    except NucleateError as exc:
        return _error(args.command, str(exc))
    except OSError as exc:  # a file the command writes or reads: read-only, full disk, a directory in the way
        where = f"{exc.filename}: " if exc.filename else ""
        return _error(args.command, f"{where}{exc.strerror or exc}")
    except KeyboardInterrupt:
        print(f"nucleate {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


def entry() -> None:
    """The `nucleate` executable: once the command is done (a run already stopped cleanly on the first
    Ctrl-C), more Ctrl-Cs arriving while the process exits must not end it with a traceback."""
    try:
        code = main()
    except KeyboardInterrupt:
        code = 130
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


def _error(command: str, message: str) -> int:
    # one line: a user error is a message, never a traceback
    print(f"nucleate {command}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at the time (pytest and notebooks replace it)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr)


def _log_to_stderr() -> None:
    """Library code logs; the command shows its notes as `nucleate: ...` lines on stderr."""
    root = logging.getLogger("nucleate")
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("nucleate: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)


if __name__ == "__main__":
    entry()
