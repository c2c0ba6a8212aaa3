"""`nucleate reproduce NAME`: published studies from one command."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("reproduce", help="reproduce a published study and write a side-by-side report",
                            description="Runs the study's simulations as ordinary run directories (an interrupted "
                            "reproduction continues where it stopped; finished simulations are reused), analyses "
                            "them and writes DIR/report/REPORT.md with figures and a table against the published numbers.")
    parser.add_argument("study", choices=["ag6"], help="ag6: Tiwari & Karmakar, Ag6(SCHNH)6 nucleation in methanol")
    parser.add_argument("--model", type=Path, default=None,
                        help="DeePMD model (.pb); default: the embedded Ag/S/N/C/H/O demonstration model. "
                        "The study authors' own model.pb works unchanged")
    parser.add_argument("--scale", choices=["smoke", "quick", "full"], default="quick",
                        help="smoke: a few hundred steps each (minutes); quick: about an hour on 2 cores; "
                        "full: the paper's lengths (GPU or cluster)")
    parser.add_argument("-o", "--output", type=Path, default=Path("ag6-reproduction"), help="folder (default: %(default)s)")
    parser.add_argument("--only", action="append", default=None, metavar="NAME",
                        help="run only this simulation (repeatable): ag6l6, monomer_dimer, dimer_octahedral, dimers30")
    parser.add_argument("--jobs", type=int, default=1, help="simulations run side by side, one core each (default 1)")
    parser.add_argument("--machine", default=None, metavar="PROFILE",
                        help="run the simulations as one campaign of batch jobs on a machine profile (local, "
                        "slurm-gpu, slurm-cpu, pbs or a YAML file; see `nucleate submit`), then write the report")
    parser.add_argument("--walkers", type=int, default=1, metavar="N",
                        help="with --machine: each WT-MetaD simulation (monomer_dimer, dimer_octahedral) runs as N "
                        "walkers sharing their hills; its FES is reweighted from all of them")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from nucleate.studies.ag6.reproduce import reproduce

    report = reproduce(args.output, model=args.model, scale=args.scale, only=args.only, jobs=args.jobs,
                       machine=args.machine, walkers=args.walkers)
    return 0 if report is not None else 130
