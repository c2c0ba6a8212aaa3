"""Launch commands: submit, campaign, status."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("submit", help="launch specs or run directories as a campaign of batch jobs (dpdispatcher)",
                       description="Renders the specs, submits one job per run (or walker) through dpdispatcher and "
                       "records the campaign; each job stops cleanly before its walltime and the campaign chains "
                       "continuations until every run reaches its target step.")
    p.add_argument("targets", nargs="+", help="spec files (.yaml/.toml) or rendered run directories")
    p.add_argument("--machine", required=True, metavar="PROFILE",
                   help="a machine profile: a shipped name (local, slurm-gpu, slurm-cpu, pbs, slurm-gpu-ssh, slurm-lammps) or a YAML file")
    p.add_argument("--walkers", type=int, default=1, help="multiple-walker WT-MetaD: N walkers per spec sharing hills")
    p.add_argument("-o", "--output", type=Path, default=Path("campaign"), help="campaign folder (default: %(default)s)")
    p.add_argument("--wait", action="store_true", help="follow the campaign until every run is done")
    p.add_argument("--steps-per-job", type=int, default=None, metavar="N",
                   help="each job runs at most N steps (besides stopping before its walltime): fixed-length segments")
    p.add_argument("--model", action="append", default=None, metavar="MODEL.pb",
                   help="DeePMD model(s) replacing the specs' potential")
    p.set_defaults(func=_submit)

    p = sub.add_parser("campaign", help="pick a campaign up: follow its jobs, chain continuations, resubmit")
    p.add_argument("campaign", type=Path)
    p.add_argument("--wait", action="store_true", help="follow it until every run is done (else: one check and return)")
    p.set_defaults(func=_campaign)

    p = sub.add_parser("status", help="one line per run of a campaign: state, steps, ns/day, ETA, retries, failure")
    p.add_argument("campaign", type=Path)
    p.add_argument("--json", action="store_true", help="machine-readable rows")
    p.set_defaults(func=_status)


def _submit(args) -> int:
    from .campaign import RECORD, Campaign
    from .profile import load_profile

    if (args.output / RECORD).exists():
        print(f"nucleate: {args.output} holds a campaign already; picking it up", file=sys.stderr)
        return _drive(Campaign(args.output), args.wait)
    campaign = Campaign.create(args.output, args.targets, load_profile(args.machine), walkers=args.walkers,
                               models=args.model, steps_per_job=args.steps_per_job)
    return _drive(campaign, args.wait)


def _campaign(args) -> int:
    from .campaign import Campaign

    return _drive(Campaign(args.campaign), args.wait)


def _drive(campaign, wait: bool) -> int:
    from .status import format_rows, status_rows

    state = campaign.drive(wait=wait)
    print(format_rows(status_rows(campaign)))
    if state == "done":
        from .results import describe, write_results

        for line in describe(write_results(campaign)):
            print(line)
    print(f"campaign {campaign.path}: {state}" + ("" if state in ("done", "failed") else
          f"; follow it with `nucleate campaign {campaign.path} --wait`, see it with `nucleate status {campaign.path}`"))
    return 1 if state == "failed" else 0


def _status(args) -> int:
    from .campaign import Campaign
    from .status import format_rows, status_rows

    campaign = Campaign(args.campaign)
    rows = status_rows(campaign)
    remote = campaign.record.get("remote")
    if args.json:
        print(json.dumps({"campaign": str(campaign.path), "state": campaign.state, "runs": rows,
                          **({"remote": remote} if remote else {})}, indent=1))
    else:
        print(format_rows(rows))
        print(f"campaign {campaign.path}: {campaign.state}")
        if remote:  # read from the local copies, without connecting: they are as of the last job that came back
            print(f"runs on {remote['user']}@{remote['host']}:{remote['folder']}; steps as of the last completed round")
    return 0
