"""Measure per-frame GFN2-xTB cost of every kind and estimate a full pipeline run on 2 cores.

    python -m nucleate.studies.ag6.training.bench [--frames 1] [-o DIR]

CPU seconds are measured (not wall time), so a busy shared machine still gives quiet-machine numbers.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from nucleate.studies.ag6.training.recipe import FULL, KINDS, Scale


def xtb_seconds_per_kind(workdir: Path, frames: int = 1, seed: int = 0) -> dict[str, dict]:
    from nucleate.studies.ag6.training.sampling import initial_frames
    from nucleate.models.xtb import xtb_label

    out = {}
    for k in KINDS:
        fs = initial_frames(k, frames, seed, workdir / "boxes", "bench")
        results = [xtb_label(fs.elements, x) for x in fs.positions]
        out[k.name] = {"atoms": fs.natoms, "cpu_s_per_frame": sum(r.seconds for r in results) / len(results),
                       "converged": sum(r.converged for r in results)}
    return out


def estimate_hours(per_kind: dict[str, dict], scale: Scale = FULL, train_s_per_step: float = 0.05,
                   md_steps_per_s: float = 10.0, cores: int = 2) -> dict[str, float]:
    """Hours per stage of a run at `scale`, from per-frame label cost and training / committee-MD speeds.

    Labelling is split over `cores` processes in this estimate only if the user runs two label
    stages side by side; the pipeline itself labels serially, so labelling uses cores=1.
    """
    solvated = [k for k in KINDS if not k.vacuum]
    label_round0 = sum(v["cpu_s_per_frame"] for v in per_kind.values()) * (scale.initial_frames + scale.test_frames)
    label_rounds = sum(per_kind[k.name]["cpu_s_per_frame"] for k in solvated) * scale.explore_frames * scale.rounds
    train = (scale.committee * scale.rounds * scale.train_steps + scale.final_steps) * train_s_per_step
    # a committee of N models costs N model evaluations per MD step; the stability runs use one model
    explore = len(solvated) * scale.rounds * scale.explore_steps * scale.committee / md_steps_per_s
    stability = 2 * scale.stability_ps * 2000 / md_steps_per_s
    return {"label_h": (label_round0 + label_rounds) / 3600, "train_h": train / 3600, "explore_h": explore / 3600,
            "stability_h": stability / 3600}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1)
    parser.add_argument("--train-s-per-step", type=float, default=0.05)
    parser.add_argument("--md-steps-per-s", type=float, default=10.0, help="one-model MD of a ~700-atom box")
    parser.add_argument("-o", "--workdir", type=Path)
    args = parser.parse_args(argv)
    from nucleate.runtime import quiet_environment

    quiet_environment()
    with tempfile.TemporaryDirectory() as scratch:
        per_kind = xtb_seconds_per_kind(args.workdir or Path(scratch), args.frames)
    print(json.dumps({"xtb": per_kind, "full_run_hours": estimate_hours(per_kind, FULL, args.train_s_per_step,
                                                                       args.md_steps_per_s)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
