"""The test stage: train the shipped model on all rounds, measure it, write metrics and the model card,
and copy model.pb + MODEL_CARD.md into the output folder."""

from __future__ import annotations

import json
import platform
import shutil
import time
from pathlib import Path

import numpy as np

from nucleate.errors import NucleateError
from nucleate.geometry import minimum_image
from nucleate.studies.ag6.training import evaluate
from nucleate.studies.ag6.training.frames import FrameSet, Labels
from nucleate.studies.ag6.training.recipe import KINDS, TYPE_MAP
from nucleate.studies.ag6.training.stages import Pipeline

STABILITY_BOXES = ("ag6/monomer_dimer", "ag6/ag6l6_methanol")
AG_AG_BOND_ANGSTROM = 3.5  # an octahedron has 12 Ag-Ag edges below this
TIMESTEP_FS = 0.5  # the study's timestep, used by every stability check
WATCH_POLL_S = 20.0  # seconds between looks at a running stability check's trajectory


def accuracy(p: Pipeline, model: Path) -> dict:
    from nucleate.studies.ag6.training.train import dp_test

    systems = p.test_systems()
    outdir = p.work / "final" / "test"
    if not all((outdir / f"{name}.f.out").is_file() for name in systems):
        dp_test(model, systems, outdir)
    rows = {}
    for name, system in systems.items():
        natoms = len((system / "type.raw").read_text().split())
        rows[name] = evaluate.rmse_from_detail(outdir / name, natoms)
    return rows


def compression_error(p: Pipeline, model: Path) -> float:
    """Largest force difference (eV/A) between the compressed model and the plain frozen one (final/model.pb)
    on the held-out frames; `accuracy` has already run dp test of the compressed one into final/test."""
    from nucleate.studies.ag6.training.train import dp_test

    plain = model.parent / "model.pb"
    systems = p.test_systems()
    outdir = p.work / "final" / "test_uncompressed"
    if not all((outdir / f"{name}.f.out").is_file() for name in systems):
        dp_test(plain, systems, outdir)
    worst = 0.0
    for name in systems:
        a, b = (np.loadtxt(d / f"{name}.f.out", ndmin=2)[:, 3:6] for d in (outdir, p.work / "final" / "test"))
        worst = max(worst, float(np.abs(a - b).max()))
    return worst


def cp2k_comparison(p: Pipeline, model: Path) -> dict | None:
    path = p.work / "cp2k" / "cp2k_labels.npz"
    if not path.is_file():
        return None
    from nucleate.studies.ag6.training.frames import write_deepmd_system
    from nucleate.studies.ag6.training.train import dp_test

    frames = FrameSet.load(p.work / "cp2k" / "frames" / "AgL_cp2k.npz")
    cp2k = Labels.load(path)
    xtb = Labels.load(p.work / "cp2k" / "labels" / "AgL_cp2k.npz")
    ok = cp2k.ok & xtb.ok
    if not ok.any():
        return None
    # evaluate the model on the CP2K frames through dp test against the xTB labels, then compare to CP2K
    system = write_deepmd_system(frames, xtb, p.work / "cp2k" / "data_xtb", TYPE_MAP)
    dp_test(model, {"cp2k_frames": system}, p.work / "final" / "cp2k")
    detail = np.loadtxt(p.work / "final" / "cp2k" / "cp2k_frames.f.out", ndmin=2)
    model_forces = detail[:, 3:6].reshape(-1, frames.natoms, 3)
    xtb_ok = xtb.ok
    cp2k_on_xtb_frames = cp2k.forces_ev_per_angstrom[xtb_ok]
    return {"frames": int(ok.sum()), "atoms": frames.natoms, "seconds_per_frame": float(np.mean(cp2k.seconds[cp2k.ok])),
            "xtb_vs_cp2k_force_rmse_mev_per_angstrom": evaluate.compare_forces(cp2k.forces_ev_per_angstrom[ok],
                                                                                xtb.forces_ev_per_angstrom[ok]),
            "model_vs_cp2k_force_rmse_mev_per_angstrom": evaluate.compare_forces(cp2k_on_xtb_frames, model_forces),
            "cp2k_force_rms_mev_per_angstrom": 1000.0 * float(np.sqrt(np.nanmean(cp2k.forces_ev_per_angstrom[ok] ** 2)))}


def _stability_run(preset: str, data: str, groups: str, model: str, rundir: str, steps: int, dump: int,
                   minimize_iterations: int = 0) -> dict:
    """One NVT check in its own process (spawned: LAMMPS and TensorFlow are never forked)."""
    from nucleate.engine.render import render_run
    from nucleate.engine.rundir import RunDirectory
    from nucleate.engine.runner import execute
    from nucleate.engine.spec import RunSpec

    spec = RunSpec.from_dict({
        "system": {"data": data, "groups": groups, "type_map": TYPE_MAP},
        "potential": {"deepmd": [model]},
        "md": {"temperature_K": 300.0, "timestep_fs": TIMESTEP_FS, "steps": steps, "thermostat": "nose-hoover",
               "tdamp_fs": 50.0, "seed": 4242,
               **({"minimize": True, "minimize_max_iterations": minimize_iterations} if minimize_iterations else {})},
        "output": {"thermo": dump, "dump": dump, "checkpoint": max(dump, steps // 10)}, "name": "stability-" + preset.replace("/", "-")})
    rundir = Path(rundir)
    # a killed check continues from its last checkpoint; anything else starts afresh
    resume = (rundir / "manifest.json").is_file() and RunDirectory(rundir).checkpoint() is not None
    if not resume:
        render_run(spec, rundir, overwrite=True)
    try:
        run = execute(rundir, continue_run=resume)
        return {"completed": True, "steps_per_s": run.steps_per_s}
    except NucleateError as exc:
        return {"completed": False, "error": str(exc)[:300]}


def stability(p: Pipeline, model: Path) -> dict:
    """NVT 300 K of the study's boxes with the model (from the CG-relaxed packed box): speed, lost atoms,
    methanol damage, Ag6 core.

    The boxes run side by side, one process (one core) each; a box whose methanol breaks is stopped
    there (see _run_watched)."""
    from nucleate.analysis.trajectory.io import read_dump_frames, scan_dump
    from nucleate.studies.ag6.training.recipe import Kind
    from nucleate.studies.ag6.training.sampling import build_box

    steps = max(2, int(round(p.scale.stability_ps * 1000 / TIMESTEP_FS)))
    dump = max(1, steps // 200)
    boxes, pending = {}, {}
    for preset in STABILITY_BOXES:
        name = preset.split("/")[-1]
        rundir = p.work / "final" / "stability" / name
        boxes[name] = (preset, rundir, build_box(Kind(name, preset), p.work / "final" / "stability" / f"{name}_box", 1))
        if not (rundir / "result.json").is_file():
            pending[name] = boxes[name]
    if pending:
        runs = {name: (rundir, packed, (preset, str(packed.data_path), str(packed.groups_path), str(model.resolve()),
                                        str(rundir), steps, dump, p.scale.minimize_iterations))
                for name, (preset, rundir, packed) in pending.items()}
        # a check shorter than a picosecond ends sooner than a look at it would pay off
        for name, result in _run_watched(runs, watch=p.scale.stability_ps >= 1.0).items():
            result = {"steps": steps, "timestep_fs": TIMESTEP_FS, "natoms": len(pending[name][2].elements), **result}
            (pending[name][1] / "result.json").write_text(json.dumps(result, indent=1) + "\n")
            p.log(f"stability {name}: {result}")
    out = {}
    for name, (_preset, rundir, packed) in boxes.items():
        result = json.loads((rundir / "result.json").read_text())
        frames = read_dump_frames(scan_dump(rundir / "traj.lammpstrj"))[0].astype(float)
        result.update(evaluate.methanol_damage(frames, packed.box, packed.elements, packed.molecules, packed.solvent))
        if name == "ag6l6_methanol":
            result.update(_core(frames[-1], packed))
            result["kde_maxima_angstrom"] = _kde_maxima(rundir) if len(frames) >= 20 else None
        out[name] = result
    return out


def _stability_child(args: tuple, out: str) -> None:
    Path(out).write_text(json.dumps(_stability_run(*args)))


def _run_watched(runs: dict, poll_s: float = WATCH_POLL_S, watch: bool = True) -> dict[str, dict]:
    """Run each (rundir, packed box, _stability_run arguments) in its own spawned process; stop a run at
    the first dumped frame with a broken methanol bond. A 20 ps check of a failing model otherwise holds
    a core for an hour after its answer is known. The dump up to that frame is kept (the engine never
    truncates its output)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # LAMMPS and TensorFlow are never forked
    procs, began, started = {}, time.perf_counter(), time.time()
    for name, (rundir, _, args) in runs.items():
        Path(rundir).mkdir(parents=True, exist_ok=True)
        (Path(rundir) / "child_result.json").unlink(missing_ok=True)
        procs[name] = context.Process(target=_stability_child, args=(args, str(Path(rundir) / "child_result.json")))
        procs[name].start()
    stopped: dict[str, tuple[int, int, float]] = {}
    last_look = time.perf_counter()
    while watch and any(proc.is_alive() for proc in procs.values()):
        time.sleep(min(1.0, poll_s))
        if time.perf_counter() - last_look < poll_s:
            continue
        last_look = time.perf_counter()
        for name, proc in procs.items():
            rundir, packed, _ = runs[name]
            if not proc.is_alive():
                continue
            damage = _first_broken_frame(Path(rundir) / "traj.lammpstrj", packed, not_before=started)
            if damage is not None:
                proc.kill()
                proc.join()
                stopped[name] = (*damage, time.perf_counter() - began)
    results = {}
    for name, proc in procs.items():
        proc.join()
        rundir = Path(runs[name][0])
        if name in stopped:
            step, broken, wall = stopped[name]
            results[name] = {"completed": False, "stopped_at_step": step, "steps_per_s": step / wall,
                             "error": f"stopped at {step * TIMESTEP_FS / 1000:g} ps: {broken} methanol bonds "
                                      "broken in that frame"}
        elif (rundir / "child_result.json").is_file():
            results[name] = json.loads((rundir / "child_result.json").read_text())
        else:
            results[name] = {"completed": False, "error": f"the run's process ended with exit code {proc.exitcode}"}
    return results


def _first_broken_frame(trajectory: Path, packed, not_before: float = 0.0) -> tuple[int, int] | None:
    """(step, broken bonds) of the first dumped frame with a broken methanol bond, or None; a file last
    written before `not_before` (epoch s) is a previous run's, about to be replaced, and is not read."""
    from nucleate.analysis.trajectory.io import read_dump_frames, scan_dump

    if not trajectory.is_file() or trajectory.stat().st_size == 0 or trajectory.stat().st_mtime < not_before:
        return None
    try:
        scan = scan_dump(trajectory)
    except NucleateError:  # a frame being written right now
        return None
    frames = read_dump_frames(scan)[0].astype(float)
    broken, _ = evaluate.methanol_damage_by_frame(frames, packed.box, packed.elements, packed.molecules,
                                                  packed.solvent)
    hit = np.flatnonzero(broken > 0)
    return None if len(hit) == 0 else (int(scan.steps[hit[0]]), int(broken[hit[0]]))


def _core(x: np.ndarray, packed) -> dict:
    ag = np.array([i for i, el in enumerate(packed.elements) if el == "Ag"])
    r = np.linalg.norm(minimum_image(x[ag][:, None] - x[ag][None], packed.box), axis=-1)[np.triu_indices(len(ag), 1)]
    return {"final_ag_ag_bonds_below_3.5A": int((r < AG_AG_BOND_ANGSTROM).sum()), "octahedral_core_kept": bool((r < AG_AG_BOND_ANGSTROM).sum() == 12)}


def _kde_maxima(rundir: Path) -> dict:
    from nucleate.analysis.trajectory import structure_kde
    from nucleate.analysis.trajectory.io import Run, RunFiles

    results = structure_kde(Run(RunFiles.locate(rundir)), angles=[])
    return {label: [float(m) for m in result.maxima] for label, result in results.items()}


def composition(p: Pipeline) -> dict:
    """Labelled frames and atoms per kind over all rounds (training set), and the held-out counts."""
    table = {}
    for r in range(p.scale.rounds + 1):
        for path in sorted((p.round_dir(r) / "labels").glob("*.npz")):
            labels = Labels.load(path)
            row = table.setdefault(path.stem, {"train_frames": 0, "failed": 0, "xtb_seconds": 0.0, "atoms": 0})
            row["train_frames"] += int(labels.ok.sum())
            row["failed"] += int((~labels.ok).sum())
            row["xtb_seconds"] += float(np.nansum(labels.seconds[np.isfinite(labels.seconds)]))
            row["atoms"] = int(labels.forces_ev_per_angstrom.shape[1])
    for path in sorted((p.work / "test" / "labels").glob("*.npz")):
        table.setdefault(path.stem, {})["test_frames"] = int(Labels.load(path).ok.sum())
    return table


def frames_by_round(p: Pipeline) -> list[int]:
    """Labelled training frames each round added (round 0: packed/distorted; later: committee MD)."""
    counts = []
    for r in range(p.scale.rounds + 1):
        counts.append(sum(int(Labels.load(path).ok.sum()) for path in sorted((p.round_dir(r) / "labels").glob("*.npz"))))
    return counts


def run_test(p: Pipeline, output: Path | None) -> dict:
    from nucleate.studies.ag6.training.card import write_model_card
    from nucleate.studies.ag6.training.cp2k import cp2k_version
    from nucleate.studies.ag6.training.train import COMPRESS_STRIDE, training_config
    from nucleate.models.xtb import tblite_version

    began = time.perf_counter()
    model = p.train_final()
    metrics = {
        "scale": p.scale.name, "seed": p.seed, "recipe": {k: v for k, v in vars(p.scale).items()},
        "kinds": {k.name: k.description for k in KINDS if k.name in p.scale.kinds},
        "versions": {"tblite": tblite_version(), "cp2k": cp2k_version(), "python": platform.python_version()},
        "composition": composition(p),
        "frames_by_round": frames_by_round(p),
        "held_out": accuracy(p, model),
        "cp2k": cp2k_comparison(p, model),
        "stability": stability(p, model),
        "model_bytes": model.stat().st_size,
        "uncompressed_model_bytes": (model.parent / "model.pb").stat().st_size,
        "compress_stride": COMPRESS_STRIDE,
        "compression_max_force_difference_ev_per_angstrom": compression_error(p, model),
        "training": training_config(["..."], [], steps=p.scale.final_steps, seed=p.seed),
    }
    metrics["test_seconds"] = time.perf_counter() - began
    (p.work / "final" / "metrics.json").write_text(json.dumps(metrics, indent=1, default=str) + "\n")
    write_model_card(metrics, p.work / "final" / "MODEL_CARD.md")
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        shutil.copy(model, output / "model.pb")
        for name in ("MODEL_CARD.md", "metrics.json", "input.json"):
            shutil.copy(p.work / "final" / name, output / name)
    return metrics
