"""Figures for trajectory analysis (matplotlib Agg; each figure saved as PNG and SVG)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nucleate.analysis.output_files import write_output
from nucleate.analysis.traj_kde import KDEResult


def _pyplot():
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def _save(fig, prefix: Path) -> list[Path]:
    try:
        return [write_output(prefix.with_suffix(suffix),
                             lambda temporary: fig.savefig(temporary, dpi=dpi, bbox_inches="tight"))
                for suffix, dpi in ((".png", 150), (".svg", None))]
    finally:
        _pyplot().close(fig)


def plot_kde_panels(results: dict[str, KDEResult], prefix: Path, references: dict | None = None) -> list[Path]:
    """One panel per quantity: density, its maxima (dashed, labelled), reference values (dotted)
    and reference ranges (shaded).  references: {label: {"values": [...], "ranges": [[lo, hi], ...]}}
    or {label: [values]}."""
    plt = _pyplot()
    n = len(results)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), squeeze=False)
    for ax, r in zip(axes.flat, results.values()):
        ax.plot(r.grid, r.density, color="tab:blue", lw=1.5)
        ref = (references or {}).get(r.label)
        if ref is not None:
            ref = ref if isinstance(ref, dict) else {"values": ref}
            for lo, hi in ref.get("ranges", []):
                ax.axvspan(lo, hi, color="tab:red", alpha=0.12, lw=0)
            for value in ref.get("values", []):
                ax.axvline(value, color="tab:red", ls=":", lw=1.2)
        for position, height in zip(r.maxima, r.heights):
            ax.axvline(position, color="tab:blue", ls="--", lw=0.8)
            ax.annotate(f"{position:.2f}" if r.unit == "A" else f"{position:.0f}", (position, height),
                        textcoords="offset points", xytext=(3, 3), fontsize=8)
        ax.set_title(r.label, fontsize=10)
        ax.set_xlabel("distance (A)" if r.unit == "A" else "angle (deg)")
        ax.set_ylabel("density")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    return _save(fig, prefix)


def plot_time_series(times, series: dict[str, np.ndarray], ylabel: str, time_unit: str, prefix: Path,
                     drawstyle: str = "default") -> list[Path]:
    """Stacked panels sharing the time axis, one per series."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(series), 1, figsize=(6.4, 2.0 + 1.6 * len(series)), sharex=True, squeeze=False)
    for ax, (name, values) in zip(axes[:, 0], series.items()):
        ax.plot(times, values, lw=1.0, drawstyle=drawstyle)
        ax.set_ylabel(name if len(series) > 1 else ylabel)
    axes[-1, 0].set_xlabel(f"time ({time_unit})")
    fig.tight_layout()
    return _save(fig, prefix)


def plot_nuclei(results, time_unit: str, prefix: Path) -> list[Path]:
    """Largest cluster size, number of clusters and complete octahedra over time."""
    return plot_time_series(results.times, {"largest Ag cluster": results.largest,
                                            "Ag clusters": results.n_clusters,
                                            "complete Ag6 octahedra": results.n_octahedra},
                            "count", time_unit, prefix, drawstyle="steps-post")
