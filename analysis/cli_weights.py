"""From the `reweight` / `deltag` command line to weighted samples.

COLVAR files are pieces of one run, in order (restarted rows replaced by the later ones), or with
--walkers one file per walker of a multiple-walker run: each walker's rows are weighted by its
own bias columns (a walker's LABEL.rbias is computed from the bias all walkers share), and the
samples of all walkers are put together in time order.  Only the columns needed are read.
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

from nucleate.analysis.cli_numbers import non_negative_int
from nucleate.errors import NucleateError

WALKERS = "walkers"


def blocks_value(text: str):
    """--blocks: a number of blocks, or `walkers` (one block per walker file)."""
    return WALKERS if text.strip().lower() == WALKERS else non_negative_int(text)


def add_weight_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("colvar", nargs="+", type=Path, help="COLVAR file(s): pieces of one run in order, or one "
                        "per walker with --walkers (.gz read as PLUMED writes it)")
    parser.add_argument("--walkers", action="store_true", help="each COLVAR file is one walker of a multiple-walker "
                        "run (weights from each walker's own bias columns)")
    parser.add_argument("--cv", required=True, help="CV column(s) of the FES: A or A,B")
    parser.add_argument("--bias", default="", help="bias column(s), summed (e.g. metad.bias,wall.bias); "
                        "LABEL.bias minus the previous row's LABEL.rct when PLUMED printed it; none for an "
                        "unbiased run")
    temp = parser.add_mutually_exclusive_group(required=True)
    temp.add_argument("--temp", type=float, help="temperature in K")
    temp.add_argument("--kt", type=float, help="k_B T in the input's energy unit")
    parser.add_argument("--skip", type=float, default=0.0, help="fraction of rows dropped as equilibration")
    parser.add_argument("--tmin", type=float, help="drop the rows before this time (the COLVAR's time unit)")
    parser.add_argument("--hills", nargs="+", type=Path, help="HILLS of the METAD of the first --bias column: "
                        "c(t) when COLVAR has no .rct column, or the final bias with --final-bias")
    parser.add_argument("--final-bias", action="store_true", help="weights exp(V_final/kT) from all hills "
                        "instead of exp((V(t) - c(t))/kT)")


class WeightedRun:
    """The samples of the command's COLVAR files with their weights, k_B T and units."""

    def __init__(self, args):
        from nucleate.analysis.reweight import Reweighter, kt_from

        cvs = [c for c in args.cv.split(",") if c]
        bias = [b for b in args.bias.split(",") if b]
        hills = None
        if args.hills:
            from nucleate.analysis.hills import read_hills

            hills = read_hills(args.hills, units=args.input_units)
        wanted = cvs + bias + (list(hills.names) if hills is not None and args.final_bias else [])
        groups = [[path] for path in args.colvar] if args.walkers else [list(args.colvar)]
        if args.walkers and len(groups) < 2:
            raise NucleateError("--walkers needs two or more COLVAR files, one per walker")
        tables = [read_colvar(paths, wanted, args.input_units, bias) for paths in groups]
        self.units = tables[0].units
        for table in tables[1:]:
            if not table.units.same_as(self.units):
                raise NucleateError(f"mixed units: {tables[0].describe()} is in {self.units.energy}, "
                                    f"{table.describe()} in {table.units.energy}")
        if hills is not None and not hills.units.same_as(self.units):
            raise NucleateError(f"mixed units: {tables[0].describe()} is in {self.units.energy}, "
                                f"{hills.source} in {hills.units.energy}")
        self.kt = kt_from(args.temp, args.kt, self.units.energy)
        self.reweighters = [Reweighter(table, cvs, bias, self.kt, skip=args.skip, tmin=args.tmin, hills=hills,
                                       method="final" if args.final_bias else "ct") for table in tables]
        self.cvs = cvs

    def samples(self):
        from nucleate.analysis.weighted_samples import combine_walkers

        parts = [r.weighted_samples() for r in self.reweighters]
        return combine_walkers(parts)


def read_colvar(paths, wanted, input_units, bias):
    """Read only the columns needed: time, CVs, biases and their .rct / OPES / wall marker columns."""
    from nucleate.analysis.plumed_files import read_plumed

    fields = fields_of(paths[0])
    missing = [c for c in wanted if c not in fields]
    if missing:
        raise NucleateError(f"{paths[0]}: no column {', '.join(map(repr, missing))}; the FIELDS line has: "
                            f"{' '.join(fields)}")
    extra = ["time"] if "time" in fields else []
    for column in bias:
        label = column.rsplit(".", 1)[0]
        # LABEL.rbias has c(t) subtracted already: its rct is not read
        markers = ([] if column.endswith(".rbias") else [f"{label}.rct"]) + [f"{label}.{m}" for m in
                                                                              ("zed", "nker", "force2")]
        extra += [f for f in markers if f in fields]
    return read_plumed(paths, columns=list(dict.fromkeys(extra + wanted)), units=input_units)


def fields_of(path: Path) -> list[str]:
    """The names on the first `#! FIELDS` line of a PLUMED file (gzipped or not)."""
    from nucleate.analysis.plumed_files import is_gzip, require_file

    try:
        require_file(path)
        opener = gzip.open if is_gzip(path) else open
        with opener(path, "rb") as handle:
            if not handle.read(4096).strip():
                raise NucleateError(f"{path}: the file is empty")
            handle.seek(0)
            for line in handle:
                words = line.decode(errors="replace").split()
                if len(words) >= 2 and words[0] == "#!" and words[1] == "FIELDS":
                    return words[2:]
                if words and not words[0].startswith("#"):
                    break
    except (OSError, EOFError) as exc:
        raise NucleateError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    raise NucleateError(f"{path}: no `#! FIELDS` line at the top; this is not a PLUMED output file")
