"""`nucleate reproduce ag6`: run (or reuse) the simulations, analyse them, write the report."""

from __future__ import annotations

import shutil
import sys
import time
import traceback
from pathlib import Path

from nucleate.errors import NucleateError
from nucleate.studies.ag6 import analyse, execute
from nucleate.studies.ag6.plan import SCALES, SIMULATIONS, TEMPERATURE_K
from nucleate.studies.ag6.published import study_rows
from nucleate.studies.ag6.report import write_report


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def reproduce(outdir: str | Path, *, model: str | Path | None = None, scale: str = "quick",
              only: list[str] | None = None, jobs: int = 1, machine: str | None = None, walkers: int = 1,
              log=_log) -> Path | None:
    """Run the study at `scale` into `outdir` and write outdir/report/REPORT.md; returns its path, or None
    when a Ctrl-C/SIGTERM stopped it (run it again to resume).  With `machine` (a machine profile) the
    simulations run as one campaign of batch jobs (nucleate.launch) instead of in this process, each
    WT-MetaD simulation as `walkers` walkers sharing their hills."""
    began = time.perf_counter()
    if scale not in SCALES:
        raise NucleateError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    if walkers < 1:
        raise NucleateError(f"--walkers must be at least 1, got {walkers}")
    if walkers > 1 and machine is None:
        raise NucleateError("--walkers runs the walkers as a campaign: give a machine profile too "
                            "(--machine local runs them on this machine's cores)")
    names = execute.all_names()
    for name in only or []:
        if name not in names:
            raise NucleateError(f"--only {name}: no such simulation; choose from {', '.join(names)}")
    wanted = list(only) if only else names
    if model is None:
        from nucleate.models import ag6_model_path

        model = ag6_model_path()
    model, outdir = Path(model), Path(outdir)
    state = execute.open_folder(outdir, scale, model)
    if machine is not None:
        statuses, stopped = execute.run_on_machine(outdir, scale, model, wanted, machine, walkers=walkers,
                                                     log=log), False
    else:
        statuses, stopped = execute.run_all(outdir, scale, model, wanted, jobs=jobs, log=log)
    if stopped:
        again = " ".join(["nucleate reproduce ag6", f"-o {outdir}", f"--scale {scale}", f"--model {model}",
                          *(f"--only {n}" for n in only or []), f"--jobs {jobs}"])
        log(f"reproduce ag6: stopped; every simulation kept its last checkpoint and no report was written. "
            f"Resume with:\n  {again}")
        return None
    # the report covers every simulation that has output, also those run by an earlier --only call
    for sim in SIMULATIONS:
        if sim.name not in statuses and (outdir / "runs" / sim.name / execute.STATUS).is_file():
            statuses[sim.name] = execute._read_status(outdir / "runs" / sim.name)
    for name, status in statuses.items():
        status["prepared"] = execute.preparation_of(name, outdir)
    results = {}
    for sim in SIMULATIONS:
        if sim.name in statuses:
            results[sim.name] = _analyse(sim.name, outdir, log)
    from nucleate.units import kbt

    lengths_ps = {n: st.get("end_step", 0) * 0.5e-3 for n, st in statuses.items()}
    rows = study_rows(results, lengths_ps, kbt(TEMPERATURE_K, "kcal/mol"))
    path = write_report(outdir, state, statuses, results, rows, _card_line(model), time.perf_counter() - began)
    log(f"reproduce ag6: report {path}")
    return path


def _analyse(name: str, outdir: Path, log) -> dict:
    rundir = outdir / "runs" / name
    figures = outdir / "report" / "figures" / name
    shutil.rmtree(figures, ignore_errors=True)  # generated: an earlier analysis's figures must not linger
    # a simulation run as walkers: runs/<name> is their template, the status names their run directories
    walkers = [Path(p) for p in execute._read_status(rundir).get("walkers", [])]
    if not all((d / "traj.lammpstrj").is_file() for d in walkers or [rundir]):
        return {"numbers": {}, "figures": [analyse._note_figure(figures / "missing.png", f"{name}: no trajectory")],
                "notes": ["no trajectory: the simulation did not start"]}
    try:
        result = (analyse.ANALYSES[name](rundir, figures, walkers=walkers) if walkers
                  else analyse.ANALYSES[name](rundir, figures))
    except Exception as exc:  # noqa: BLE001 - one failed analysis must not cost the others their report
        log(f"reproduce ag6: analysis of {name} failed: {exc}")
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return {"numbers": {}, "figures": [analyse._note_figure(figures / "analysis_failed.png", f"{name}: {detail}")],
                "notes": [f"analysis failed: {detail}"], "error": detail}
    result.setdefault("notes", [])
    if walkers:
        result["notes"].append(f"{len(walkers)} walkers sharing their hills (multiple-walker WT-MetaD); the FES and "
                               "Delta G are reweighted from all of them, the methanol check covers every walker.")
    try:
        integrity = analyse.methanol_integrity(*(walkers or [rundir]))
    except Exception as exc:  # noqa: BLE001 - the check is extra information, never the report's end
        log(f"reproduce ag6: methanol check of {name} failed: {exc}")
        return result
    result["numbers"]["methanol"] = integrity
    if integrity["first_damage_ps"] is not None:
        result["notes"].append(f"**The model damaged methanol in this run** from {integrity['first_damage_ps']:g} ps "
                               f"({integrity['broken_bonds']} bond and {integrity['foreign_o_protons']} proton events "
                               f"over {integrity['frames']} frames): its numbers describe the model's failure, "
                               "not the study's chemistry.")
    return result


def _card_line(model: Path) -> str | None:
    card = model.parent / "MODEL_CARD.md"
    if not card.is_file():
        return None
    for line in card.read_text().splitlines():
        if line.startswith("# "):
            return f"model card: {line[2:].strip()}"
    return None
