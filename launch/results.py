"""What a finished campaign ends with: for each WT-MetaD run, or each group of walkers, one free-energy
surface reweighted from all of its COLVAR files, in CAMPAIGN/results/<name>/ (fes.dat with its energy
unit and kT in the header, fes.png, and a one-line summary in results.json).

The CVs are the METAD's ARG (one or two of them); the weights are every bias column the COLVAR prints
(LABEL.rbias of the METAD, as PLUMED prints it with c(t) already subtracted, or LABEL.bias with its
LABEL.rct; walls and restraints as they are): the same rule as `nucleate reweight`.  A run whose COLVAR
lacks those columns, or whose samples cannot give a surface, gets a reason instead of a figure.
"""

from __future__ import annotations

import logging
from pathlib import Path

from nucleate.engine import rundir as rd
from nucleate.engine.plumed_input import keyword, logical_lines
from nucleate.errors import NucleateError

log = logging.getLogger(__name__)

FOLDER = "results"
BLOCKS = 5  # contiguous blocks in time for the error bars (all walkers' samples in time order)


def write_results(campaign) -> dict[str, dict]:
    """Reweight each finished WT-MetaD run or walker group of `campaign`; returns, per name, either
    {"fes": path, "png": path, "samples": n, "walkers": k} or {"skipped": reason}."""
    groups: dict[str, list[dict]] = {}
    for run in campaign.runs:
        groups.setdefault(run.get("group") or run["name"], []).append(run)
    summary = {}
    for name, runs in groups.items():
        if any(campaign.steps_done(r) < r["target_step"] for r in runs):
            continue
        try:
            summary[name] = _reweight_group(name, [Path(r["rundir"]) for r in runs], campaign.path / FOLDER / name)
        except NucleateError as exc:
            summary[name] = {"skipped": str(exc)}
    if summary:
        (campaign.path / FOLDER).mkdir(exist_ok=True)
        rd.write_json_atomic(campaign.path / FOLDER / "results.json", summary)
    return summary


def _reweight_group(name: str, rundirs: list[Path], folder: Path) -> dict:
    from nucleate.analysis.cli_weights import fields_of
    from nucleate.analysis.plot_fes import plot_fes_1d, plot_fes_2d
    from nucleate.api import reweight

    plumed = rundirs[0] / rd.PLUMED
    if not plumed.is_file():
        raise NucleateError("unbiased (no plumed.dat): nothing to reweight")
    lines = logical_lines(plumed.read_text(errors="replace"))
    metad = [line for line in lines if line.action == "METAD"]
    if len(metad) != 1:
        raise NucleateError(f"{plumed}: {len(metad)} METAD actions; the campaign reweights runs with one")
    cvs = [c for c in (keyword(metad[0], "ARG") or "").split(",") if c]
    if not 1 <= len(cvs) <= 2:
        raise NucleateError(f"{plumed}: METAD biases {len(cvs)} CVs; reweight one or two of them with "
                            "`nucleate reweight --cv`")
    colvars = [_colvar_printing(lines, rundir, cvs) for rundir in rundirs]
    bias = _bias_columns(fields_of(colvars[0]))
    if not bias:
        raise NucleateError(f"{colvars[0]} prints no bias column (LABEL.bias or LABEL.rbias)")
    temperature = float(rd.RunDirectory(rundirs[0]).manifest()["temperature_K"])
    result = reweight([str(c) for c in colvars] if len(colvars) > 1 else str(colvars[0]), cvs, bias,
                      temperature_K=temperature, blocks=BLOCKS, walkers=len(colvars) > 1)
    folder.mkdir(parents=True, exist_ok=True)
    fes_path = result.fes.write(folder / "fes.dat")
    what = f"{len(colvars)} walkers" if len(colvars) > 1 else "one run"
    title = f"{name}: F({', '.join(cvs)}) reweighted from {what}"
    png = (plot_fes_1d if len(cvs) == 1 else plot_fes_2d)(result.fes, folder / "fes.png", title=title)
    return {"fes": str(fes_path), "png": str(png), "cvs": cvs, "bias": bias, "walkers": len(colvars),
            "samples": int(result.details.n_samples), "effective_samples": round(float(result.details.n_effective), 1),
            "energy_unit": result.fes.energy_unit, "temperature_K": temperature, "error": result.error_meaning,
            "warning": result.details.warning}


def _colvar_printing(lines, rundir: Path, cvs: list[str]) -> Path:
    """The file of the first PRINT that prints the METAD's CVs (COLVAR as the presets write it)."""
    for line in lines:
        if line.action != "PRINT":
            continue
        args = (keyword(line, "ARG") or "").split(",")
        if "*" in args or all(c in args for c in cvs):
            path = rundir / (keyword(line, "FILE") or "COLVAR")
            if not path.is_file():
                raise NucleateError(f"{path} is missing")
            return path
    raise NucleateError(f"{rundir / rd.PLUMED}: no PRINT prints {', '.join(cvs)}")


def _bias_columns(fields: list[str]) -> list[str]:
    """Every bias acting on the run, once: LABEL.rbias where PLUMED prints it, else LABEL.bias."""
    labels = [f.rsplit(".", 1)[0] for f in fields if f.endswith((".bias", ".rbias"))]
    return [f"{label}.rbias" if f"{label}.rbias" in fields else f"{label}.bias" for label in dict.fromkeys(labels)]


def describe(summary: dict[str, dict]) -> list[str]:
    """One line per name for the terminal."""
    lines = []
    for name, entry in summary.items():
        if "fes" in entry:
            lines.append(f"{name}: F({', '.join(entry['cvs'])}) from {entry['samples']} samples of "
                         f"{entry['walkers']} {'walkers' if entry['walkers'] > 1 else 'run'} (effective "
                         f"{entry['effective_samples']:g}) -> {entry['fes']}, {entry['png']}")
            if entry.get("warning"):
                lines.append(f"  {entry['warning']}")
        else:
            lines.append(f"{name}: no FES ({entry['skipped']})")
    return lines

