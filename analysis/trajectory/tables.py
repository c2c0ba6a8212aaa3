"""Small tables of trajectory-analysis results: KDE maxima (JSON/CSV), time series and nuclei (CSV).

Lengths in A, angles in degrees, times in the run's time unit (ps, or steps without a timestep);
every file is written whole or not at all (nucleate.analysis.output_files).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from nucleate.analysis.output_files import write_output, write_text_output
from nucleate.analysis.trajectory.kde import KDEResult


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
