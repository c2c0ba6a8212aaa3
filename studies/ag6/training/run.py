"""Drive the stages: one stage of the current round, or all rounds then the test stage."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from nucleate.studies.ag6.training.stages import Pipeline


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_pipeline(workdir: str | Path, *, stage: str = "all", scale: str = "full", seed: int = 0,
                 output: str | Path | None = None, log=_log) -> dict | None:
    """Run `stage` ("sample", "label", "train", "test" or "all"); returns the metrics after "test"."""
    from nucleate.runtime import quiet_environment

    quiet_environment()  # one OpenMP thread for tblite, TensorFlow and LAMMPS: 2 shared cores
    p = Pipeline(workdir, scale, seed, log=log)
    last = p.scale.rounds
    if stage == "all":
        for r in range(p.current_round(), last + 1):
            p.sample(r)
            p.label(r)
            if r < last:  # the last round's data feed the shipped model, trained in the test stage
                p.train(r)
        stage = "test"
    elif stage in ("sample", "label", "train"):
        r = min(p.current_round(), last)
        if stage == "train" and r == last:
            log(f"round {r} is the last: its data train the shipped model in `--stage test`")
            return None
        getattr(p, stage)(r)
        return None
    from nucleate.studies.ag6.training.testing import run_test

    metrics = run_test(p, Path(output) if output else None)
    log(f"model: {p.work / 'final' / 'model_compressed.pb'} (plain frozen: model.pb beside it); "
        f"card: {p.work / 'final' / 'MODEL_CARD.md'}"
        + (f"; copied to {output}" if output else ""))
    return metrics
