"""Time trajectory analysis on a synthetic 1000-frame, 732-atom run (Ag6 + 6 S + 6 N + 119 methanol).

    .venv/bin/python benchmarks/bench_traj.py [--frames 1000] [--keep DIR]

Prints one JSON object: seconds for opening (dump scan + Universe), the KDE of the study's 3
distances and 4 angles, three coordination series (Ag-Ag within, Ag around the Ag centre of
mass, solvent O around a fixed point), and nuclei detection.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from nucleate.analysis.switching import RationalSwitch
from nucleate.analysis.trajectory import coordination_series, nuclei, structure_kde
from nucleate.analysis.trajectory.io import Run, RunFiles

# the synthetic run is a test fixture, kept with the tests (as bench_launch.py does for its helpers)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synthetic_trajectory import write_synthetic_run


def _timed(timings: dict, name: str, function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    timings[name] = round(time.perf_counter() - start, 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--keep", help="write the synthetic run here instead of a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        rundir = Path(args.keep or scratch)
        timings: dict = {}
        _timed(timings, "write_synthetic_s", write_synthetic_run, rundir, n_frames=args.frames, n_solvent=119,
               shift=(10.0, 10.0, 10.0))
        run = _timed(timings, "open_s", Run, RunFiles.locate(rundir))
        kde = _timed(timings, "kde_3_distances_4_angles_s", structure_kde, run)
        _timed(timings, "cn_ag_ag_s", coordination_series, run, "Ag", RationalSwitch(3.25, 6, 8))
        _timed(timings, "cn_ag_around_com_s", coordination_series, run, "Ag", RationalSwitch(3.0, 6, 8), point="group:Ag")
        _timed(timings, "cn_solvent_O_around_point_s", coordination_series, run, "O", RationalSwitch(3.0, 6, 10),
               point="10.0,10.0,10.0")
        found = _timed(timings, "nuclei_s", nuclei, run, "Ag")
        print(json.dumps({"frames": run.n_frames, "atoms": run.universe.atoms.n_atoms, "seconds": timings,
                          "kde_maxima": {k: [round(m, 2) for m in r.maxima] for k, r in kde.items()},
                          "octahedra_per_frame": float(found.n_octahedra.mean())}, indent=1))


if __name__ == "__main__":
    main()
