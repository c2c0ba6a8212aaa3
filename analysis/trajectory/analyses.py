"""Trajectory analyses of a run by group names: structure KDEs, coordination series, nuclei.

Entry points take a `Run` (nucleate.analysis.traj_io) and names from its groups file, run the
MDAnalysis analyses over frames [start:stop:step], and return plain results that the writers
below turn into small tables (JSON/CSV, lengths in A, angles in degrees, times in ps).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from nucleate.analysis.output_files import write_output, write_text_output
from nucleate.analysis.switching import RationalSwitch
from nucleate.analysis.traj_coordination import CoordinationSeries
from nucleate.analysis.traj_geometry import BondAngles, BondDistances, bond_cutoff, parse_combination
from nucleate.analysis.traj_io import Run
from nucleate.analysis.traj_kde import KDEResult, kde
from nucleate.analysis.traj_nuclei import Nuclei
from nucleate.errors import NucleateError

STUDY_PAIRS = ["Ag-Ag", "Ag-S", "Ag-N"]
STUDY_ANGLES = ["Ag-Ag-Ag", "S-Ag-S", "N-Ag-Ag", "N-Ag-S"]
# KDE maxima of the study's 25 ns unbiased Ag6L6 run (Tiwari & Karmakar, Fig. 1): A and degrees.
STUDY_KDE_MAXIMA = {"Ag-Ag": [2.97], "Ag-S": [2.54], "Ag-N": [2.28], "Ag-Ag-Ag": [59.0],
                    "S-Ag-S": [126.0], "N-Ag-Ag": [81.0, 138.0], "N-Ag-S": [100.0]}


def _frames(start, stop, step) -> dict:
    return {"start": start, "stop": stop, "step": step}


def _require_frames(run: Run, start, stop, step) -> None:
    if len(range(run.n_frames)[slice(start, stop, step)]) == 0:
        raise NucleateError(f"frames [{start}:{stop}:{step}] select nothing from {run.files.traj} ({run.n_frames} frames)")


def structure_kde(run: Run, pairs=STUDY_PAIRS, angles=STUDY_ANGLES, cutoffs: dict | None = None,
                  bandwidths: dict | None = None, start=None, stop=None, step=None) -> dict[str, KDEResult]:
    """KDE of bond distances (A) and bond angles (degrees) by group names; keys like 'Ag-S', 'N-Ag-Ag'."""
    _require_frames(run, start, stop, step)
    bandwidths = bandwidths or {}
    out: dict[str, KDEResult] = {}
    for label in pairs:
        a, b = parse_combination(label, 2)
        analysis = BondDistances(run.atoms(a), run.atoms(b), bond_cutoff(a, b, cutoffs)).run(**_frames(start, stop, step))
        out[label] = kde(analysis.results.distances, label, "A", bandwidths.get(label))
    for label in angles:
        a, vertex, c = parse_combination(label, 3)
        analysis = BondAngles(run.atoms(a), run.atoms(vertex), run.atoms(c), bond_cutoff(a, vertex, cutoffs),
                              bond_cutoff(c, vertex, cutoffs)).run(**_frames(start, stop, step))
        out[label] = kde(analysis.results.angles, label, "deg", bandwidths.get(label))
    return out


def parse_point(text: str) -> tuple[np.ndarray | None, str | None]:
    """'x,y,z' (A) -> a fixed point; 'group:NAME' -> that group's centre of mass each frame."""
    if text.startswith("group:"):
        return None, text[len("group:"):]
    try:
        xyz = np.array([float(v) for v in text.split(",")])
    except ValueError:
        xyz = np.empty(0)
    if xyz.shape != (3,):
        raise NucleateError(f"cannot read point {text!r}: give x,y,z in A or group:NAME (its centre of mass)")
    return xyz, None


def coordination_series(run: Run, group: str, switch: RationalSwitch, partner: str | None = None,
                        point: str | None = None, start=None, stop=None, step=None):
    """CN of `group` with `partner`, within `group` (neither given), or around `point` (see parse_point)."""
    _require_frames(run, start, stop, step)
    kwargs = {}
    if partner is not None:
        kwargs["group_b"] = run.atoms(partner)
    if point is not None:
        xyz, point_group = parse_point(point)
        kwargs["point"] = xyz
        kwargs["point_group"] = run.atoms(point_group) if point_group else None
    return _stamp(run, CoordinationSeries(run.atoms(group), switch, **kwargs).run(**_frames(start, stop, step)))


def nuclei(run: Run, group: str = "Ag", cutoff: float = 3.5, min_size: int = 2, diagonal_tolerance: float = 0.2,
           start=None, stop=None, step=None):
    _require_frames(run, start, stop, step)
    return _stamp(run, Nuclei(run.atoms(group), cutoff=cutoff, min_size=min_size,
                              diagonal_tolerance=diagonal_tolerance).run(**_frames(start, stop, step)))


def _stamp(run: Run, analysis):
    """Steps and times from the dump itself (in-memory frames know only their index)."""
    analysis.results.steps = run.steps(analysis.frames)
    analysis.results.times = run.times(analysis.frames)
    return analysis.results


def _write_csv(path: Path, header: list[str], rows) -> Path:
    def write(temporary: Path) -> None:
        with temporary.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)

    return write_output(path, write)


def write_kde_tables(results: dict[str, KDEResult], outdir: Path) -> list[Path]:
    """kde_maxima.json (summary) and kde_maxima.csv (one row per maximum)."""
    summary = {label: r.summary() for label, r in results.items()}
    json_path = write_text_output(outdir / "kde_maxima.json", json.dumps(
        {"bandwidth_rule": "Scott (scipy gaussian_kde) unless given", "quantities": summary}, indent=1) + "\n")
    rows = [[r.label, r.unit, f"{position:.4f}", f"{height:.6g}", f"{r.bandwidth:.6g}", r.n_samples]
            for r in results.values() for position, height in zip(r.maxima, r.heights)]
    csv_path = _write_csv(outdir / "kde_maxima.csv", ["quantity", "unit", "maximum", "density", "bandwidth",
                                                      "n_samples"], rows)
    return [json_path, csv_path]


def write_series_csv(path: Path, steps, times, time_unit: str, columns: dict[str, np.ndarray]) -> Path:
    rows = [[int(row[0]), f"{row[1]:.6g}", *(f"{v:.8g}" if isinstance(v, float) else v for v in row[2:])]
            for row in zip(steps, times, *columns.values())]
    return _write_csv(path, ["step", f"time_{time_unit}", *columns], rows)


def write_nuclei_tables(results, time_unit: str, outdir: Path) -> list[Path]:
    """nuclei.csv (per frame) and octahedra.json (ids of each complete octahedron, by frame)."""
    csv_path = write_series_csv(outdir / "nuclei.csv", results.steps, results.times, time_unit, {
        "largest": results.largest, "n_clusters": results.n_clusters, "n_octahedra": results.n_octahedra,
        "sizes": [" ".join(str(s) for s in sizes if s > 1) for sizes in results.sizes]})
    octahedra = [{"step": int(s), "octahedra": o} for s, o in zip(results.steps, results.octahedra) if o]
    json_path = write_text_output(outdir / "octahedra.json", json.dumps(octahedra) + "\n")
    return [csv_path, json_path]
