"""Plots of free-energy surfaces and Delta G series (matplotlib, Agg backend; PNG or SVG by suffix)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nucleate.analysis.fes_grid import FES

_UNIT_LABEL = {"kj/mol": "kJ/mol", "kcal/mol": "kcal/mol", "ev": "eV", "j/mol": "J/mol"}


def _pyplot():
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150 if path.suffix.lower() == ".png" else None, bbox_inches="tight")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    plt.close(fig)
    return path


def unit_label(unit: str) -> str:
    return _UNIT_LABEL.get(unit.lower(), unit)


def plot_fes(fes: FES, path, basins=None, path_points=None, max_free: float | None = None, title: str = "") -> Path:
    """1D: F with its error band; 2D: filled contours, labelled basins and a path (n, 2)."""
    if fes.grid.ndim == 1:
        return plot_fes_1d(fes, path, title=title)
    return plot_fes_2d(fes, path, basins=basins, path_points=path_points, max_free=max_free, title=title)


def plot_fes_1d(fes: FES, path, title: str = "") -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    x = fes.grid.axis(0)
    finite = np.isfinite(fes.free)
    ax.plot(x[finite], fes.free[finite], color="C0")
    if fes.free_err is not None:
        ok = finite & np.isfinite(fes.free_err)
        ax.fill_between(x[ok], (fes.free - fes.free_err)[ok], (fes.free + fes.free_err)[ok], color="C0", alpha=0.3,
                        linewidth=0, label="block error")
        ax.legend(frameon=False)
    ax.set_xlabel(fes.names[0])
    ax.set_ylabel(f"F ({unit_label(fes.energy_unit)})")
    if title:
        ax.set_title(title)
    return _save(fig, path)


def plot_fes_2d(fes: FES, path, basins=None, path_points=None, max_free: float | None = None,
                title: str = "") -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    x, y = fes.grid.axis(0), fes.grid.axis(1)
    free = np.where(np.isfinite(fes.free), fes.free, np.nan)  # masked (blank) where no sample
    top = max_free if max_free is not None else np.nanmax(free)
    levels = np.linspace(np.nanmin(free), top, 25) if np.isfinite(top) and top > np.nanmin(free) else 25
    filled = ax.contourf(x, y, np.ma.masked_invalid(free).T, levels=levels, cmap="viridis", extend="max")
    fig.colorbar(filled, ax=ax, label=f"F ({unit_label(fes.energy_unit)})")
    if path_points is not None and len(path_points):
        ax.plot(path_points[:, 0], path_points[:, 1], color="white", linewidth=2, label="min. free-energy path")
        ax.legend(frameon=False, loc="best", labelcolor="white")
    for basin in basins or []:
        ax.plot(*basin.location, marker="o", color="red", markersize=4)
        ax.annotate(f"{basin.name} ({basin.free_basin:.1f})", basin.location, color="white",
                    xytext=(4, 4), textcoords="offset points", fontsize=8)
    ax.set_xlabel(fes.names[0])
    ax.set_ylabel(fes.names[1])
    if title:
        ax.set_title(title)
    return _save(fig, path)


def plot_delta_g(series, path, time_unit: str = "ps", title: str = "") -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ok = np.isfinite(series.delta_g)
    err = np.where(np.isfinite(series.error), series.error, 0.0)
    ax.errorbar(series.times[ok], series.delta_g[ok], yerr=err[ok], marker="o", markersize=3, capsize=2)
    ax.set_xlabel(f"time ({time_unit})")
    ax.set_ylabel(f"G({series.target}) - G({series.reference}) ({unit_label(series.energy_unit)})")
    if title:
        ax.set_title(title)
    return _save(fig, path)
