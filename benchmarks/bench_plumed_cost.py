"""PLUMED cost of real inputs (issue 16): the shipped presets and the study's own plumed.dat files,
side by side with no PLUMED, same box, same model, one process.

    .venv/bin/python benchmarks/bench_plumed_cost.py [--steps 100] [--repeats 2] [--verbatim-repeats 1]
        [--boxes monomer_dimer,dimer_octahedral] [--workdir DIR] [--json FILE]
    .venv/bin/python benchmarks/bench_plumed_cost.py --pull     # the guards' effect instead (below)
    .venv/bin/python benchmarks/bench_plumed_cost.py --potential zero --threads 1,2 --steps 1000 \
        --variants none,preset                                   # PLUMED alone, per thread count (below)

Boxes: the study's own starting configurations (ag6_paper_inputs/<box>/conf.lmp, 732 and 726
atoms; groups and molecules from `systems.import_data`), so that the study's files run on the
configuration their atom indices were typed for. Model: the embedded Ag6 DeePMD model. Nose-Hoover
300 K, 0.5 fs, 1 thread everywhere (OMP_NUM_THREADS=1 and PLUMED_NUM_THREADS=1 are set below).

Variants per box (each an ordinary render_run + execute):
  none            no PLUMED
  preset          the shipped preset as it is (bond guards + the study's coordinations as print-only monitors)
  preset_study    the preset with guards: {style: study} (as shipped before issue 16)
  preset_noguard  the preset with guards: null
  study_verbatim  the authors' plumed.dat, unchanged (its dHH set-up takes minutes: --verbatim-repeats)
  study_fixed     the authors' file minus its dHH line, PRINT of its named scalars instead of ARG=*

Measured per run: LAMMPS's loop time (ms/step), the process CPU time of the MD chunks, and, from
the engine's own counters (engine/plumed_coupling.py), the wall time inside PLUMED's calls
(plumed_seconds / calls), the whole callback, and PLUMED's set-up (init_seconds). Rounds alternate
the order of the variants so that drifting load cancels. The target (issue 16): every shipped
preset adds under 5 % to the DeePMD step; the wall-clock overhead is noisy at that level on a
shared machine, the callback's share of the no-PLUMED step is not.

--potential zero --threads 1,2: PLUMED's own time when the model leaves the CPU cores free (as on a
GPU node): the same boxes with LAMMPS's `pair_style zero` (the model's 5 A cutoff, so the same
neighbour lists, no forces: the atoms drift, and the guards' and walls' forces act more than in a
real run, so this is an upper bound of their cost), each run in a process of its own with
PLUMED_NUM_THREADS set to each value of --threads (OMP_NUM_THREADS stays 1), in alternating order.
PLUMED reads PLUMED_NUM_THREADS once per process, hence the separate processes. The kernel of the
hillclimber wheel is built with -fopenmp (`plumed config makefile_conf`; `plumed config has
openmp` only answers "not found": openmp is no `has` option of PLUMED 2.11). PLUMED runs OpenMP
threads in COORDINATION (from 10 pairs per thread), the multicolvar/matrix actions
(COORDINATIONNUMBER) and grids; the other actions run on one thread whatever the setting.

--pull: does the cheap guard hold a bond as the study's does? In the monomer_dimer box, with the
model's own bonds, a MOVINGRESTRAINT drags the C-O distance of one methanol (the study walls C-O)
from its length to 2.5 A over 600 steps and holds it there for 200 (KAPPA 40, 100, 200 kcal/mol/A^2,
--pull-kappa), with no guard, the bond guards and the study's guards; the C-O length over
the last 200 steps is reported beside the wall-only equilibrium (k_pull 2.5 + 2 kappa r_wall) /
(k_pull + 2 kappa) (the model's own bond can only pull it shorter).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("PLUMED_NUM_THREADS", "1")

from nucleate.runtime import quiet_environment

STUDY = Path("/work/shared/reference/ag6_paper_inputs")
TYPE_MAP = ["Ag", "S", "N", "C", "H", "O"]
COMPOSITION = {"monomer_dimer": {"AgL": 2}, "dimer_octahedral": {"Ag2L2": 3}}
VARIANTS = ("none", "preset", "preset_study", "preset_noguard", "study_verbatim", "study_fixed")
SHIPPED = ("preset",)
_LOOP = re.compile(r"^Loop time of ([0-9.eE+-]+) on \d+ procs for (\d+) steps", re.M)


def system_files(box: str, workdir: Path) -> tuple[Path, Path]:
    """The study's conf.lmp and a groups.json naming its molecules."""
    from nucleate.systems import import_data

    conf = STUDY / box / "conf.lmp"
    _, groups = import_data(conf, TYPE_MAP, composition=COMPOSITION[box])
    path = workdir / f"{box}.groups.json"
    groups.write(path)
    return conf, path


def study_fixed(text: str) -> str:
    """The study's file as we advise a user to change it: no dHH, PRINT of its named scalars."""
    text = re.sub(r"^dHH: DISTANCES .*\n", "", text, flags=re.M)
    labels = [m.group(1) for m in re.finditer(r"^(\w+):\s*(COORDINATION|COMBINE|DISTANCE|ANGLE)\s", text, re.M)]
    labels += [f"{m.group(1)}.lowest" for m in re.finditer(r"^(\w+):\s*COORDINATIONNUMBER", text, re.M)]
    labels += [f"{m.group(1)}.bias" for m in re.finditer(r"^(\w+):\s*(METAD|UPPER_WALLS|LOWER_WALLS|RESTRAINT)", text, re.M)]
    return re.sub(r"^PRINT (.*)ARG=\*", lambda m: f"PRINT {m.group(1)}ARG={','.join(labels)}", text, flags=re.M)


def plumed_section(variant: str, box: str, workdir: Path):
    preset = {"preset": f"ag6/{box}"}
    if variant == "none":
        return None
    if variant == "preset":
        return preset
    if variant == "preset_study":
        return {**preset, "overrides": {"guards": {"style": "study"}}}
    if variant == "preset_noguard":
        return {**preset, "overrides": {"guards": None}}
    text = (STUDY / box / "plumed.dat").read_text()
    path = workdir / f"{box}.{variant}.plumed.dat"
    path.write_text(text if variant == "study_verbatim" else study_fixed(text))
    return {"file": str(path)}


class Recorder:
    """Keeps the engine's PlumedCoupling of the current run, to read its timing counters afterwards."""

    def __init__(self):
        self.coupling = None

    def wrap(self, base):
        recorder = self

        class Recording(base):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                recorder.coupling = self

        return Recording


def potential_section(potential: str) -> dict:
    """The embedded Ag6 DeePMD model, or (potential "zero") LAMMPS's zero-cost pair style with the
    model's cutoff: the same box and neighbour lists with no model, so that PLUMED's time stands alone
    (as on a GPU node, where the model leaves the CPU cores free)."""
    if potential == "zero":
        return {"pair_style": "zero 5.0", "pair_coeff": ["* *"]}
    from nucleate.models import AG6_DIR

    return {"deepmd": str(AG6_DIR / "model.pb")}


def run_variant(variant: str, box: str, outdir: Path, files: tuple[Path, Path], steps: int, workdir: Path,
                potential: str = "deepmd") -> dict:
    from nucleate.engine import runner
    from nucleate.engine.render import render_run
    from nucleate.engine.spec import RunSpec

    conf, groups = files
    spec = {"name": f"{box}-{variant}", "system": {"data": str(conf), "groups": str(groups), "type_map": TYPE_MAP},
            "potential": potential_section(potential),
            "md": {"temperature_K": 300, "timestep_fs": 0.5, "steps": steps, "thermostat": "nose-hoover",
                   "tdamp_fs": 50, "seed": 21734},
            "output": {"thermo": 100, "dump": 100, "checkpoint": steps * 10, "progress": steps}}
    plumed = plumed_section(variant, box, workdir)
    if plumed is not None:
        spec["plumed"] = plumed
    if outdir.exists():
        shutil.rmtree(outdir)
    render_run(RunSpec.from_dict(spec), outdir)
    recorder, cpu = Recorder(), {"s": 0.0}
    original = runner._Lammps.command

    def timed(self, line, *, source):
        if not line.startswith("run "):
            return original(self, line, source=source)
        start = resource.getrusage(resource.RUSAGE_SELF)
        try:
            return original(self, line, source=source)
        finally:
            end = resource.getrusage(resource.RUSAGE_SELF)
            cpu["s"] += (end.ru_utime + end.ru_stime) - (start.ru_utime + start.ru_stime)

    t0 = time.perf_counter()
    with mock.patch.object(runner, "PlumedCoupling", recorder.wrap(runner.PlumedCoupling)), \
            mock.patch.object(runner._Lammps, "command", timed):
        result = runner.execute(outdir, progress_stream=io.StringIO())
    wall = time.perf_counter() - t0
    found = _LOOP.findall((outdir / "log.lammps").read_text())
    loop_s, loop_steps = sum(float(s) for s, _ in found), sum(int(n) for _, n in found)
    if result.status != "completed" or loop_steps != steps:
        sys.exit(f"{box}/{variant}: {result.status} after {loop_steps} of {steps} steps ({outdir})")
    c = recorder.coupling
    row = {"box": box, "variant": variant, "steps": steps, "loop_ms_per_step": 1e3 * loop_s / steps,
           "cpu_ms_per_step": 1e3 * cpu["s"] / steps, "wall_s": wall, "potential": potential,
           "threads": int(os.environ.get("PLUMED_NUM_THREADS", "1"))}
    if c is not None:
        # steps 1..N, as LAMMPS's loop time: the first evaluation belongs to LAMMPS's set-up; the
        # coupling's own Python (callback - PLUMED) is the same every call
        row.update(calls=c.calls, plumed_ms_per_step=c.plumed_ms_per_step,
                   plumed_first_call_ms=1e3 * c.first_call_seconds,
                   plumed_ms_per_call_all=1e3 * c.plumed_seconds / c.calls,
                   callback_ms_per_step=1e3 * (c.callback_seconds - c.plumed_seconds) / c.calls + c.plumed_ms_per_step,
                   plumed_init_s=c.init_seconds)
    return row


def run_in_process(variant: str, box: str, outdir: Path, files: tuple[Path, Path], steps: int, workdir: Path,
                   potential: str, threads: int) -> dict:
    """run_variant in a fresh process with PLUMED_NUM_THREADS = threads (PLUMED reads it once per process)."""
    env = dict(os.environ, PLUMED_NUM_THREADS=str(threads))  # OMP_NUM_THREADS stays 1: PLUMED's own setting only
    job = json.dumps({"variant": variant, "box": box, "outdir": str(outdir), "files": [str(f) for f in files],
                      "steps": steps, "workdir": str(workdir), "potential": potential})
    done = subprocess.run([sys.executable, __file__, "--one-run", job], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{box}/{variant} with {threads} thread(s) failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _one_run(job: str) -> None:
    args = json.loads(job)
    row = run_variant(args["variant"], args["box"], Path(args["outdir"]), tuple(Path(f) for f in args["files"]),
                      args["steps"], Path(args["workdir"]), potential=args["potential"])
    print(json.dumps(row))


def summarise(rows: list[dict]) -> list[dict]:
    table = []
    for box in dict.fromkeys(r["box"] for r in rows):
        mine = [r for r in rows if r["box"] == box]
        base = statistics.median(r["loop_ms_per_step"] for r in mine if r["variant"] == "none")
        base_cpu = statistics.median(r["cpu_ms_per_step"] for r in mine if r["variant"] == "none")
        for variant, threads in dict.fromkeys((r["variant"], r.get("threads", 1)) for r in mine):
            runs = [r for r in mine if r["variant"] == variant and r.get("threads", 1) == threads]
            entry = {"box": box, "variant": variant, "threads": threads, "runs": len(runs),
                     "loop_ms": [round(r["loop_ms_per_step"], 2) for r in runs],
                     "median_ms": statistics.median(r["loop_ms_per_step"] for r in runs),
                     "median_cpu_ms": statistics.median(r["cpu_ms_per_step"] for r in runs)}
            entry["overhead_pct"] = 100 * (entry["median_ms"] / base - 1)
            entry["cpu_overhead_pct"] = 100 * (entry["median_cpu_ms"] / base_cpu - 1)
            if "plumed_ms_per_step" in runs[0]:
                for key in ("plumed_ms_per_step", "callback_ms_per_step", "plumed_init_s"):
                    entry[key] = statistics.median(r[key] for r in runs)
                entry["plumed_ms"] = [round(r["plumed_ms_per_step"], 3) for r in runs]
                entry["callback_share_pct"] = 100 * entry["callback_ms_per_step"] / base
            table.append(entry)
    return table


def markdown(table: list[dict]) -> str:
    threads = len({e["threads"] for e in table}) > 1
    lines = ["| box | variant | " + ("PLUMED threads | " if threads else "") + "runs | ms/step (each run) | "
             "median ms/step | vs none, wall | vs none, CPU | PLUMED ms/step (inside its calls) | PLUMED ms/step "
             "(each run) | callback ms/step | callback / no-PLUMED step | PLUMED set-up s |",
             "|---|---|" + ("---|" if threads else "") + "---|---|---|---|---|---|---|---|---|---|"]
    for e in table:
        digits = 1 if e["median_ms"] >= 10 else 2
        plumed = (f"{e['plumed_ms_per_step']:.2f} | {', '.join(f'{v:.2f}' for v in e['plumed_ms'])} | "
                  f"{e['callback_ms_per_step']:.2f} | {e['callback_share_pct']:.1f} % | {e['plumed_init_s']:.1f}"
                  if "plumed_ms_per_step" in e else "- | - | - | - | -")
        lines.append(f"| {e['box']} | {e['variant']} | " + (f"{e['threads']} | " if threads else "")
                     + f"{e['runs']} | {', '.join(f'{v:.{digits}f}' for v in e['loop_ms'])} | "
                     f"{e['median_ms']:.{digits}f} | {e['overhead_pct']:+.1f} % | {e['cpu_overhead_pct']:+.1f} % | {plumed} |")
    return "\n".join(lines)


def pull_runs(workdir: Path, files: tuple[Path, Path], kappas: list[float], pull_steps: int = 600,
              hold_steps: int = 200) -> list[dict]:
    from nucleate.engine.render import render_run
    from nucleate.engine.runner import execute
    from nucleate.engine.spec import RunSpec
    from nucleate.plumed_cvs import render_plumed
    from nucleate.systems import Groups, read_data

    conf, groups_path = files
    data, groups = read_data(conf), Groups.read(groups_path)
    carbon = int(groups["solvent_C"][0])
    oxygen = next(int(m["atoms"][i]) for m in groups.molecules if carbon in m["atoms"]
                  for i, a in enumerate(m["atoms"]) if a in set(groups["solvent_O"].tolist()))
    delta = data.positions[oxygen - 1] - data.positions[carbon - 1]
    delta -= data.lengths * (delta / data.lengths).round()  # minimum image
    start = float((delta**2).sum()) ** 0.5
    results = []
    for k_pull in kappas:
        for name, guards in (("none", None), ("bonds", {"style": "bonds", "study_monitors": False}),
                             ("study", {"style": "study", "monitors": False})):
            config = {"units": {"length": "A", "energy": "kcal/mol", "time": "fs"},
                      "cvs": [{"name": "d_pull", "type": "distance", "atoms": [f"ids:{carbon}", f"ids:{oxygen}"]}],
                      "print_stride": 5, "print_format": "%.5f"}
            if guards:
                config["guards"] = guards
            text = render_plumed(config, groups, data, temperature_K=300.0)
            text += (f"pull: MOVINGRESTRAINT ARG=d_pull STEP0=0 AT0={start:.4f} KAPPA0={k_pull:g} "
                     f"STEP1={pull_steps} AT1=2.5 KAPPA1={k_pull:g}\n")
            path = workdir / f"pull-{name}-{k_pull:g}.dat"
            path.write_text(text)
            out = workdir / f"pull-{name}-{k_pull:g}"
            shutil.rmtree(out, ignore_errors=True)
            spec = {"name": out.name, "system": {"data": str(conf), "groups": str(groups_path), "type_map": TYPE_MAP},
                    "potential": potential_section("deepmd"),
                    "md": {"temperature_K": 300, "timestep_fs": 0.5, "steps": pull_steps + hold_steps,
                           "thermostat": "nose-hoover", "tdamp_fs": 50, "seed": 21734},
                    "output": {"thermo": 100, "dump": 100, "checkpoint": 10 * (pull_steps + hold_steps)},
                    "plumed": {"file": str(path)}}
            render_run(RunSpec.from_dict(spec), out)
            status = execute(out, progress_stream=io.StringIO()).status
            rows = [line.split() for line in (out / "COLVAR").read_text().splitlines() if not line.startswith("#")]
            length = [float(r[1]) for r in rows]
            hold = length[-(hold_steps // 5):]
            row = {"k_pull": k_pull, "guard": name, "status": status, "co_start_A": start,
                   "co_hold_mean_A": statistics.mean(hold), "co_hold_max_A": max(hold), "co_max_A": max(length),
                   "wall_only_equilibrium_A": (k_pull * 2.5 + 2 * 100.0 * 1.60) / (k_pull + 2 * 100.0)}
            results.append(row)
            print(f"  pull k={k_pull:g} {name:5s}: C-O over the hold {row['co_hold_mean_A']:.3f} A (max "
                  f"{row['co_hold_max_A']:.3f}); bond-wall-only equilibrium {row['wall_only_equilibrium_A']:.3f} A",
                  file=sys.stderr, flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="MD steps per run (default 100)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds over the variants, alternating order (default 2)")
    parser.add_argument("--verbatim-repeats", type=int, default=1,
                        help="rounds that include study_verbatim (minutes of PLUMED set-up each; default 1)")
    parser.add_argument("--boxes", default="monomer_dimer,dimer_octahedral")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma list from {','.join(VARIANTS)}")
    parser.add_argument("--workdir", type=Path, help="holds the runs (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="also write every number to this JSON file")
    parser.add_argument("--pull", action="store_true", help="run the bond-pulling comparison of the guards instead")
    parser.add_argument("--pull-kappa", default="40,100,200", help="pull strengths, kcal/mol/A^2 (default 40,100,200)")
    parser.add_argument("--potential", choices=("deepmd", "zero"), default="deepmd",
                        help="deepmd: the embedded Ag6 model (default); zero: pair_style zero, PLUMED's time alone")
    parser.add_argument("--threads", help="comma list of PLUMED_NUM_THREADS values, each run in its own process "
                        "(default: this process, PLUMED_NUM_THREADS as set, else 1)")
    parser.add_argument("--one-run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run:
        quiet_environment()
        _one_run(args.one_run)
        return
    threads = [int(t) for t in args.threads.split(",") if t] if args.threads else [None]
    if any(t is not None and t < 1 for t in threads):
        parser.error("--threads: positive integers")
    variants = [v for v in args.variants.split(",") if v]
    if "none" not in variants or any(v not in VARIANTS for v in variants):
        parser.error(f"--variants: names from {VARIANTS}, 'none' included (the baseline)")
    if not STUDY.exists():
        sys.exit(f"the study's inputs ({STUDY}) are not on this machine")
    quiet_environment()
    started, load = time.perf_counter(), os.getloadavg()[0]
    if args.pull:
        with tempfile.TemporaryDirectory(prefix="bench_plumed_pull-") as scratch:
            workdir = (args.workdir or Path(scratch)).resolve()
            workdir.mkdir(parents=True, exist_ok=True)
            kappas = [float(k) for k in args.pull_kappa.split(",") if k]
            results = pull_runs(workdir, system_files("monomer_dimer", workdir), kappas)
        print("| pull KAPPA (kcal/mol/A^2) | guard | C-O over the last 200 steps, mean (max) A | "
              "bond-wall-only equilibrium A |\n|---|---|---|---|")
        for r in results:
            print(f"| {r['k_pull']:g} | {r['guard']} | {r['co_hold_mean_A']:.3f} ({r['co_hold_max_A']:.3f}) | "
                  f"{r['wall_only_equilibrium_A']:.3f} |")
        if args.json:
            args.json.write_text(json.dumps({"pull": results}, indent=1) + "\n")
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_plumed_cost-") as scratch:
        workdir = (args.workdir or Path(scratch)).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        for box in [b for b in args.boxes.split(",") if b]:
            files = system_files(box, workdir)
            if threads == [None] and args.potential == "deepmd":
                run_variant("none", box, workdir / "warmup", files, 10, workdir)  # TensorFlow's first session
            for k in range(args.repeats):
                order = [(v, t) for v in variants for t in threads if v != "study_verbatim" or k < args.verbatim_repeats]
                for variant, nt in (order if k % 2 == 0 else order[::-1]):
                    outdir = workdir / f"{box}-{variant}-{k}" if nt is None else workdir / f"{box}-{variant}-t{nt}-{k}"
                    if nt is None:
                        row = run_variant(variant, box, outdir, files, args.steps, workdir, potential=args.potential)
                    else:
                        row = run_in_process(variant, box, outdir, files, args.steps, workdir, args.potential, nt)
                    row["round"] = k
                    rows.append(row)
                    print(f"  {box} {variant:15s} threads {row['threads']} round {k}: {row['loop_ms_per_step']:7.1f} ms/step"
                          + (f", PLUMED {row['plumed_ms_per_step']:.2f} ms/step, callback {row['callback_ms_per_step']:.2f},"
                             f" set-up {row['plumed_init_s']:.1f} s" if "plumed_ms_per_step" in row else ""),
                          file=sys.stderr, flush=True)
    table = summarise(rows)
    model = "embedded Ag6 model" if args.potential == "deepmd" else "pair_style zero (no model: PLUMED alone)"
    print(f"# PLUMED cost: {model}, {args.steps} steps per run, PLUMED_NUM_THREADS "
          f"{args.threads or os.environ['PLUMED_NUM_THREADS']}; load average {load:.2f} at start, "
          f"{os.getloadavg()[0]:.2f} at end; {time.perf_counter() - started:.0f} s in all\n")
    print(markdown(table))
    for e in table:
        if e["variant"] in SHIPPED and args.potential == "deepmd":
            verdict = "met" if e["callback_share_pct"] < 5 else "NOT met"
            print(f"\ntarget (shipped preset adds < 5 % to the DeePMD step), {e['box']}: callback "
                  f"{e['callback_share_pct']:.1f} % of the no-PLUMED step -> {verdict}; wall clock {e['overhead_pct']:+.1f} %")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "table": table, "steps": args.steps, "potential": args.potential,
                                         "load_average_start": load, "load_average_end": os.getloadavg()[0],
                                         "cpus": os.cpu_count()}, indent=1) + "\n")


if __name__ == "__main__":
    main()
