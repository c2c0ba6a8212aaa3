"""Engine benchmark: cost of the in-process PLUMED coupling on the study's 732-atom DeePMD system.

    .venv/bin/python benchmarks/bench_engine.py [--steps 200] [--repeats 2] [--workdir DIR] [--json FILE]

One process, one system (the study's monomer_dimer conf.lmp: 2 AgL + 120 methanol in a 20 A
cube), one DeePMD model, Nose-Hoover 300 K, 0.5 fs, the same number of steps for every variant:

  none   plain LAMMPS + DeePMD, no PLUMED
  empty  the engine's PLUMED coupling with a plumed.dat holding only a comment
  metad  WT-MetaD on the study's two CVs (s1: Ag-Ag + Ag-N coordination; s2: methanol O around a
         FIXEDATOM), PACE=100, PRINT STRIDE=100
  study  (optional, --variants) the study's own plumed.dat, walls and LOWEST guards included;
         slow: PLUMED 2.11 takes minutes to set it up (the 490x490 H-H DISTANCES expand to a
         pair list) and about 0.3 s per step

Variants run in rounds, alternating order, each through `render_run` + `execute`.  The step time
is LAMMPS's own "Loop time" (MD loop only, set-up excluded); the engine's RunResult.steps_per_s
(which includes the first force evaluation and the final checkpoint) is reported beside it.

The coupling is also timed from inside (the callback's wall time, split into PLUMED's
prepareCalc/performCalc and the rest) and, to resolve microseconds, on the same box with
`pair_style zero` (no model), where the step costs little and the coupling's share is visible.

The DeePMD model: the study's models are unpublished, so a stand-in of realistic size is trained
(se_e2_a, rcut 6 A, sel from the neighbour counts of conf.lmp plus 25 % margin, embedding
[25,50,100], axis 16, fitting [240,240,240]) for a few hundred steps on LJ energies/forces of
jittered copies of conf.lmp.  Its accuracy is irrelevant; its cost per step is that of a real
model of this size.  It is cached under --workdir (keyed by its training input).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import math
import os
import platform
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

import numpy as np

from nucleate.systems.elements import MASSES
from nucleate.runtime import quiet_environment
from nucleate.systems import read_data

CONF = Path("/work/shared/reference/ag6_paper_inputs/monomer_dimer/conf.lmp")
TYPE_MAP = ["Ag", "S", "N", "C", "H", "O"]
RCUT_A = 6.0
SEL_MARGIN = 1.25
VARIANTS = ("none", "empty", "metad", "study")
PLUMED_CALC = {"prepareCalc", "performCalc", "performCalcNoUpdate"}


# ---------------------------------------------------------------------- the model
def neighbour_maxima(data, rcut_angstrom: float) -> dict[str, int]:
    """Largest number of neighbours of each element within rcut around any atom (minimum image)."""
    lengths = np.asarray(data.box_hi) - np.asarray(data.box_lo)
    x = np.asarray(data.positions)
    dx = x[:, None, :] - x[None, :, :]
    dx -= lengths * np.round(dx / lengths)
    r = np.linalg.norm(dx, axis=-1)
    np.fill_diagonal(r, np.inf)
    near = r < rcut_angstrom
    types = np.asarray(data.types)
    return {element: int(near[:, types == t].sum(axis=1).max()) for t, element in enumerate(TYPE_MAP, start=1)}


def sel_from_counts(counts: dict[str, int]) -> list[int]:
    # margin for denser moments of the liquid; multiples of 4 as DeePMD's neighbor-stat suggests
    return [max(4, 4 * math.ceil(SEL_MARGIN * counts[e] / 4)) for e in TYPE_MAP]


def training_input(sel: list[int], train_steps: int) -> dict:
    return {
        "model": {
            "type_map": TYPE_MAP,
            "descriptor": {"type": "se_e2_a", "rcut": RCUT_A, "rcut_smth": 0.5, "sel": sel,
                           "neuron": [25, 50, 100], "axis_neuron": 16, "resnet_dt": False, "seed": 1},
            "fitting_net": {"neuron": [240, 240, 240], "resnet_dt": True, "seed": 1},
        },
        "learning_rate": {"type": "exp", "start_lr": 1e-3, "stop_lr": 1e-5, "decay_steps": 50},
        "loss": {"type": "ener", "start_pref_e": 0.02, "limit_pref_e": 1.0, "start_pref_f": 1000.0,
                 "limit_pref_f": 1.0, "start_pref_v": 0.0, "limit_pref_v": 0.0},
        "training": {"training_data": {"systems": ["data"], "batch_size": 1}, "numb_steps": train_steps,
                     "seed": 1, "disp_file": "lcurve.out", "disp_freq": max(1, train_steps // 10),
                     "save_freq": train_steps, "save_ckpt": "model.ckpt"},
    }


def label_frames(data, nframes: int, jitter_angstrom: float, seed: int) -> dict[str, np.ndarray]:
    """LJ energies (eV) and forces (eV/A) of jittered copies of the box: smooth labels of the right shape."""
    from nucleate.runtime import lammps_class

    rng = np.random.default_rng(seed)
    lengths = np.asarray(data.box_hi) - np.asarray(data.box_lo)
    lmp = lammps_class()(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        lmp.commands_list([
            "units metal", "atom_style atomic", "boundary p p p", "atom_modify map array sort 0 0.0",
            f"read_data {CONF}",
            *[f"mass {t} {MASSES[e]}" for t, e in enumerate(TYPE_MAP, start=1)],
            f"pair_style lj/cut {RCUT_A}", "pair_coeff * * 0.01 1.0", "pair_modify shift yes",
        ])
        order = np.argsort(np.asarray(lmp.numpy.extract_atom("id"))[: data.natoms])
        coords, energies, forces = [], [], []
        for _ in range(nframes):
            pos = (np.asarray(data.positions) + rng.normal(0.0, jitter_angstrom, (data.natoms, 3))) % lengths
            lmp.numpy.extract_atom("x")[order] = pos
            lmp.command("run 0 post no")
            coords.append(pos.ravel())
            energies.append(lmp.get_thermo("pe"))
            forces.append(np.array(lmp.numpy.extract_atom("f")[: data.natoms])[order].ravel())
    finally:
        lmp.close()
    box = np.tile(np.diag(lengths).ravel(), (nframes, 1))
    return {"coord": np.array(coords), "energy": np.array(energies), "force": np.array(forces), "box": box}


def dp_command() -> list[str]:
    beside = Path(sys.executable).parent / "dp"
    return [str(beside)] if beside.exists() else [shutil.which("dp") or "dp"]


def build_model(workdir: Path, data, sel: list[int], train_steps: int, nframes: int) -> tuple[Path, float, bool]:
    """Train and freeze the stand-in model, or reuse the cached one; returns (path, seconds, cached)."""
    config = training_input(sel, train_steps)
    key = hashlib.sha256(json.dumps([config, nframes], sort_keys=True).encode()).hexdigest()[:12]
    folder = workdir / f"model-{key}"
    model = folder / "model.pb"
    if model.exists():
        return model, 0.0, True
    t0 = time.perf_counter()
    tmp = workdir / f".model-{key}.building"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "data" / "set.000").mkdir(parents=True)
    labels = label_frames(data, nframes, jitter_angstrom=0.05, seed=7)
    for name, array in labels.items():
        np.save(tmp / "data" / "set.000" / f"{name}.npy", array)
    (tmp / "data" / "type.raw").write_text("\n".join(str(t - 1) for t in data.types) + "\n")
    (tmp / "data" / "type_map.raw").write_text("\n".join(TYPE_MAP) + "\n")
    (tmp / "input.json").write_text(json.dumps(config, indent=1) + "\n")
    quiet_environment()
    with open(tmp / "dp.log", "w") as log:
        for argv in (["--tf", "train", "input.json", "--skip-neighbor-stat"],
                     ["--tf", "freeze", "-c", ".", "-o", "model.pb"]):
            done = subprocess.run(dp_command() + argv, cwd=tmp, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
            if done.returncode != 0:
                sys.exit(f"`dp {' '.join(argv)}` failed in {tmp}; see {tmp / 'dp.log'}")
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    return model, time.perf_counter() - t0, False


# ---------------------------------------------------------------------- PLUMED inputs
def plumed_inputs(data, folder: Path) -> dict[str, Path]:
    ids = np.arange(1, data.natoms + 1)
    types = np.asarray(data.types)

    def id_list(element: str) -> str:
        return ",".join(str(i) for i in ids[types == TYPE_MAP.index(element) + 1])

    ag = ids[types == 1]
    texts = {
        "empty": "# empty PLUMED input: the coupling alone\n",
        "metad": "\n".join([
            "# the study's s1/s2 (ag6_paper_inputs/monomer_dimer/plumed.dat) with WT-MetaD, nothing else",
            "UNITS LENGTH=A ENERGY=kcal/mol TIME=fs",
            "c_box: FIXEDATOM AT=11.075,10.526,10.622",
            f"cn_ag_ag: COORDINATION GROUPA={ag[0]} GROUPB={','.join(str(i) for i in ag[1:])} R_0=3.25 NN=6 MM=8",
            f"cn_ag_n: COORDINATION GROUPA={id_list('Ag')} GROUPB={id_list('N')} R_0=3.25 NN=6 MM=8",
            "s1: COMBINE ARG=cn_ag_ag,cn_ag_n COEFFICIENTS=1,1 PERIODIC=NO",
            f"cn: COORDINATION GROUPA=c_box GROUPB={id_list('O')} R_0=2.0 NN=6 MM=10",
            "metad: METAD ARG=s1,cn PACE=100 FILE=HILLS TEMP=300 BIASFACTOR=25 SIGMA=0.05,0.01 HEIGHT=3",
            "PRINT STRIDE=100 FILE=COLVAR ARG=s1,cn,metad.bias",
        ]) + "\n",
        # the authors' file, minus its #RESTART marker (this is a fresh run)
        "study": (CONF.parent / "plumed.dat").read_text().replace("#RESTART\n", ""),
    }
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, text in texts.items():
        paths[name] = folder / f"plumed-{name}.dat"
        paths[name].write_text(text)
    return paths


# ---------------------------------------------------------------------- timing the coupling
class CallbackClock:
    """Accumulates, for the coupling of the current run, the callback's wall time and PLUMED's share."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.calls, self.callback_s, self.plumed_calc_s = 0, 0.0, 0.0

    def coupling_class(self, base):
        clock = self

        class _PlumedTimer:  # forwards every cmd; times only the ones where PLUMED computes
            def __init__(self, plumed):
                self._plumed = plumed

            def cmd(self, key, *args):
                if key in PLUMED_CALC:
                    t = time.perf_counter()
                    self._plumed.cmd(key, *args)
                    clock.plumed_calc_s += time.perf_counter() - t
                else:
                    self._plumed.cmd(key, *args)

            def __getattr__(self, name):
                return getattr(self._plumed, name)

        class TimedCoupling(base):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self._plumed = _PlumedTimer(self._plumed)

            def _callback(self, *args):
                t = time.perf_counter()
                super()._callback(*args)
                clock.callback_s += time.perf_counter() - t
                clock.calls += 1

        return TimedCoupling


_LOOP = re.compile(r"^Loop time of ([0-9.eE+-]+) on \d+ procs for (\d+) steps", re.M)


def loop_time(rundir: Path) -> tuple[float, int]:
    """LAMMPS's own MD-loop wall time (s) and step count, summed over the run's chunks."""
    found = _LOOP.findall((rundir / "log.lammps").read_text())
    return sum(float(s) for s, _ in found), sum(int(n) for _, n in found)


def run_variant(variant: str, outdir: Path, *, model: Path | None, pair_style: str | None, plumed: Path | None,
                steps: int, clock: CallbackClock) -> dict:
    from nucleate.engine import runner
    from nucleate.engine.render import render_run
    from nucleate.engine.spec import RunSpec

    potential = {"deepmd": str(model)} if model else {"pair_style": pair_style, "pair_coeff": ["* *"]}
    spec = RunSpec.from_dict({
        "name": variant,
        "system": {"data": str(CONF), "type_map": TYPE_MAP},
        "potential": potential,
        "md": {"temperature_K": 300, "timestep_fs": 0.5, "steps": steps, "thermostat": "nose-hoover",
               "tdamp_fs": 50, "seed": 21734},
        # one chunk (progress = steps), no mid-run checkpoint, same output for every variant
        "output": {"thermo": 100, "dump": 100, "checkpoint": max(steps, 100) * 10, "progress": steps},
        "plumed": {"file": str(plumed)} if plumed else None,
    })
    if outdir.exists():
        shutil.rmtree(outdir)
    render_run(spec, outdir)
    clock.reset()
    cpu0 = time.process_time()
    run_clock = {"cpu_s": 0.0, "wall_s": 0.0, "voluntary_switches": 0, "involuntary_switches": 0}
    with mock.patch.object(runner, "PlumedCoupling", clock.coupling_class(runner.PlumedCoupling)), \
            mock.patch.object(runner._Lammps, "command", _timed_run_command(runner._Lammps.command, run_clock)):
        result = runner.execute(outdir, progress_stream=io.StringIO())
    cpu_s = time.process_time() - cpu0
    loop_s, loop_steps = loop_time(outdir)
    if result.status != "completed" or loop_steps != steps:
        sys.exit(f"{variant}: run in {outdir} ended {result.status} after {loop_steps} of {steps} steps")
    return {"variant": variant, "loop_s": loop_s, "steps": steps, "loop_steps_per_s": steps / loop_s,
            "engine_steps_per_s": result.steps_per_s, "segment_wall_s": result.wall_s, "process_cpu_s": cpu_s,
            "callback_calls": clock.calls, "callback_s": clock.callback_s, "plumed_calc_s": clock.plumed_calc_s,
            "run_command_cpu_s": run_clock["cpu_s"], "run_command_wall_s": run_clock["wall_s"],
            "cpu_ms_per_step": 1e3 * run_clock["cpu_s"] / steps,
            "voluntary_switches": run_clock["voluntary_switches"],
            "involuntary_switches": run_clock["involuntary_switches"]}


def _timed_run_command(command, totals: dict):
    """Wraps the engine's LAMMPS command so that `run` chunks count process CPU time (all threads):
    unlike wall time it hardly moves when other users load the machine."""

    def timed(self, line, *, source):
        if not line.startswith("run "):
            return command(self, line, source=source)
        usage0, cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.process_time(), time.perf_counter()
        try:
            return command(self, line, source=source)
        finally:
            usage1 = resource.getrusage(resource.RUSAGE_SELF)
            totals["cpu_s"] += time.process_time() - cpu0
            totals["wall_s"] += time.perf_counter() - wall0
            totals["voluntary_switches"] += usage1.ru_nvcsw - usage0.ru_nvcsw
            totals["involuntary_switches"] += usage1.ru_nivcsw - usage0.ru_nivcsw

    return timed


def rounds(variants: list[str], repeats: int, runner_fn) -> list[dict]:
    results = []
    for k in range(repeats):
        order = variants if k % 2 == 0 else variants[::-1]  # alternate: drift in machine load cancels
        for variant in order:
            res = runner_fn(variant, k)
            res["round"] = k
            results.append(res)
            print(f"  round {k} {variant:6s} {res['loop_steps_per_s']:9.2f} steps/s (loop)  "
                  f"{res['engine_steps_per_s']:9.2f} (engine)  {res['cpu_ms_per_step']:9.3f} CPU ms/step  "
                  f"switches {res['voluntary_switches']}/{res['involuntary_switches']}", file=sys.stderr, flush=True)
    return results


# ---------------------------------------------------------------------- summary
def summarise(results: list[dict], variants: list[str]) -> dict[str, dict]:
    summary = {}
    for v in variants:
        rows = [r for r in results if r["variant"] == v]
        rates = [r["loop_steps_per_s"] for r in rows]
        calls = sum(r["callback_calls"] for r in rows)
        summary[v] = {
            "runs": len(rows), "best_steps_per_s": max(rates), "median_steps_per_s": statistics.median(rates),
            "best_ms_per_step": 1e3 / max(rates), "median_ms_per_step": 1e3 / statistics.median(rates),
            "engine_median_steps_per_s": statistics.median(r["engine_steps_per_s"] for r in rows),
            "median_cpu_ms_per_step": statistics.median(r["cpu_ms_per_step"] for r in rows),
            "median_cpu_per_wall": statistics.median(r["run_command_cpu_s"] / r["run_command_wall_s"] for r in rows),
            "callback_us_per_step": 1e6 * sum(r["callback_s"] for r in rows) / calls if calls else 0.0,
            "plumed_calc_us_per_step": 1e6 * sum(r["plumed_calc_s"] for r in rows) / calls if calls else 0.0,
        }
        summary[v]["coupling_python_us_per_step"] = summary[v]["callback_us_per_step"] - summary[v]["plumed_calc_us_per_step"]
    base = summary[variants[0]]
    for v in variants:
        s = summary[v]
        s["overhead_best_pct"] = 100.0 * (s["best_ms_per_step"] / base["best_ms_per_step"] - 1.0)
        s["overhead_median_pct"] = 100.0 * (s["median_ms_per_step"] / base["median_ms_per_step"] - 1.0)
        s["cpu_overhead_median_pct"] = 100.0 * (s["median_cpu_ms_per_step"] / base["median_cpu_ms_per_step"] - 1.0)
    return summary


LABELS = {"none": "(a) no PLUMED", "empty": "(b) PLUMED coupling, empty plumed.dat",
          "metad": "(c) WT-MetaD on s1 (Ag-Ag + Ag-N CN) and s2 (O CN)", "study": "(d) the study's own plumed.dat"}


def markdown(deepmd: dict, zero: dict | None, variants: list[str], steps: int, zero_steps: int) -> str:
    base_ms = deepmd[variants[0]]["median_ms_per_step"]

    def callback_cells(s: dict) -> str:
        if not s["callback_us_per_step"]:
            return "- | -"
        return f"{s['callback_us_per_step']:.0f} | {s['plumed_calc_us_per_step']:.0f}"

    lines = [f"LAMMPS + DeePMD, {steps} steps per run; step time = LAMMPS loop time (set-up excluded)", "",
             "| variant | runs | best steps/s | median steps/s | median ms/step | overhead vs (a), best | "
             "overhead vs (a), median | CPU ms/step, median | CPU overhead vs (a) | CPU/wall | callback us/step | "
             "of which PLUMED calc us/step | callback / step |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for v in variants:
        s = deepmd[v]
        share = 100.0 * s["callback_us_per_step"] / (1e3 * s["median_ms_per_step"])
        share_cell = f"{share:.2f} %" if s["callback_us_per_step"] else "-"
        lines.append(f"| {LABELS[v]} | {s['runs']} | {s['best_steps_per_s']:.3f} | {s['median_steps_per_s']:.3f} | "
                     f"{s['median_ms_per_step']:.1f} | {s['overhead_best_pct']:+.1f} % | {s['overhead_median_pct']:+.1f} % | "
                     f"{s['median_cpu_ms_per_step']:.1f} | {s['cpu_overhead_median_pct']:+.1f} % | "
                     f"{100 * s['median_cpu_per_wall']:.0f} % | {callback_cells(s)} | {share_cell} |")
    if not zero:
        return "\n".join(lines)
    lines += ["", f"Same box and engine with `pair_style zero` (no model), {zero_steps} steps per run: "
              "the coupling's absolute cost per step", "",
              "| variant | runs | best us/step | median us/step | added vs (a), best, us/step | callback us/step | "
              "of which PLUMED calc us/step | added / DeePMD median step of (a) |",
              "|---|---|---|---|---|---|---|---|"]
    for v in variants:
        s = zero[v]
        added_us = 1e3 * (s["best_ms_per_step"] - zero[variants[0]]["best_ms_per_step"])
        lines.append(f"| {LABELS[v]} | {s['runs']} | {1e3 * s['best_ms_per_step']:.0f} | {1e3 * s['median_ms_per_step']:.0f} | "
                     f"{added_us:.0f} | {callback_cells(s)} | {100.0 * added_us / (1e3 * base_ms):.3f} % |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="MD steps per DeePMD run (default 200)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds over the variants (default 2)")
    parser.add_argument("--variants", default="none,empty,metad",
                        help=f"comma list from {','.join(VARIANTS)}; the first is the baseline")
    parser.add_argument("--zero-steps", type=int, default=2000, help="steps per pair_style zero run; 0 skips them")
    parser.add_argument("--train-steps", type=int, default=200, help="training steps of the stand-in model")
    parser.add_argument("--frames", type=int, default=16, help="labelled frames for training")
    parser.add_argument("--workdir", type=Path, help="caches the model and holds the runs (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write all numbers to this JSON file")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if not variants or any(v not in VARIANTS for v in variants) or args.steps < 1 or args.repeats < 1:
        parser.error(f"--variants must list names from {VARIANTS}; --steps and --repeats must be positive")

    quiet_environment()
    t_start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_engine-")))
        workdir = workdir.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        data = read_data(CONF)
        counts = neighbour_maxima(data, RCUT_A)
        sel = sel_from_counts(counts)
        print(f"neighbours within {RCUT_A} A (max over atoms): {counts}; sel = {sel}", file=sys.stderr)
        model, train_s, cached = build_model(workdir, data, sel, args.train_steps, args.frames)
        print(f"model {model} ({'cached' if cached else f'trained in {train_s:.0f} s'})", file=sys.stderr)
        plumed = plumed_inputs(data, workdir / "plumed")
        plumed["none"] = None
        clock = CallbackClock()
        runs = workdir / "runs"

        def deepmd_run(variant, k, steps=args.steps):
            return run_variant(variant, runs / f"deepmd-{variant}-{k}", model=model, pair_style=None,
                               plumed=plumed[variant], steps=steps, clock=clock)

        def zero_run(variant, k):
            return run_variant(variant, runs / f"zero-{variant}-{k}", model=None, pair_style=f"zero {RCUT_A}",
                               plumed=plumed[variant], steps=args.zero_steps, clock=clock)

        deepmd_run(variants[0], "warmup", steps=20)  # first LAMMPS/TensorFlow session in this process
        print("DeePMD runs:", file=sys.stderr)
        deepmd_results = rounds(variants, args.repeats, deepmd_run)
        zero_results = []
        if args.zero_steps > 0:
            print("pair_style zero runs:", file=sys.stderr)
            zero_results = rounds(variants, max(args.repeats, 3), zero_run)
        deepmd = summarise(deepmd_results, variants)
        zero = summarise(zero_results, variants) if zero_results else None

    total_s = time.perf_counter() - t_start
    print(f"# Engine benchmark: {data.natoms} atoms ({CONF.parent.name}/conf.lmp), DeePMD se_e2_a sel={sel} "
          f"rcut {RCUT_A} A [25,50,100]/16/[240,240,240], Nose-Hoover 300 K, 0.5 fs, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}\n")
    print(markdown(deepmd, zero, variants, args.steps, args.zero_steps))
    print(f"\n{platform.node()} ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}), "
          f"total {total_s:.0f} s{', model trained in %.0f s' % train_s if not cached else ', cached model'}")
    if args.json:
        args.json.write_text(json.dumps({
            "system": str(CONF), "natoms": data.natoms, "neighbour_maxima": counts, "sel": sel,
            "steps": args.steps, "zero_steps": args.zero_steps, "repeats": args.repeats, "variants": variants,
            "deepmd": deepmd, "zero": zero, "runs": deepmd_results + zero_results, "model_train_s": train_s,
            "model_cached": cached, "total_s": total_s, "cpus": os.cpu_count(), "load_average": os.getloadavg(),
            "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "DP_INTRA_OP_PARALLELISM_THREADS",
                                                       "DP_INTER_OP_PARALLELISM_THREADS")},
        }, indent=2) + "\n")


if __name__ == "__main__":
    main()
