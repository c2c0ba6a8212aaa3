"""Plots of free-energy surfaces and Delta G series.

Each function draws into the matplotlib Axes given as `ax=` (a notebook's, a figure of several
panels) or into a new figure of its own, and returns the figure.  Given a `path` instead, it writes
the figure there (PNG or SVG by suffix) and returns the path: the form the CLI uses.  New figures
are bare `Figure`s with an Agg canvas, never pyplot's, so nothing here touches the global backend
or pyplot's figure list (a notebook's inline plots keep working).

    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> plot_fes(fes, ax=ax)                     # doctest: +SKIP
    <Figure size 640x480 with 1 Axes>
    >>> plot_fes(fes, "fes.png")                 # doctest: +SKIP
    PosixPath('fes.png')
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nucleate.analysis.fes_grid import FES
from nucleate.analysis.output_files import write_output

_UNIT_LABEL = {"kj/mol": "kJ/mol", "kcal/mol": "kcal/mol", "ev": "eV", "j/mol": "J/mol"}


def agg_figure(width_in: float, height_in: float):
    """A bare Agg figure: no pyplot, so no global figure manager and no GUI backend lookup."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(fig)
    return fig


def _figure_and_axes(ax, width_in: float, height_in: float):
    """The caller's Axes and its figure, or a new figure of the given size with one Axes."""
    if ax is not None:
        return ax.figure, ax
    fig = agg_figure(width_in, height_in)
    return fig, fig.subplots()


def _save(fig, path, tight: bool = True) -> Path:
    """tight=False keeps the fixed margins: `bbox_inches="tight"` draws the figure twice."""
    dpi = 150 if Path(path).suffix.lower() == ".png" else None
    return write_output(path, lambda temporary: fig.savefig(temporary, dpi=dpi, bbox_inches="tight" if tight else None))


def _done(fig, path, tight: bool = True):
    """The figure, or with a path the file it was written to."""
    return fig if path is None else _save(fig, path, tight)


def unit_label(unit: str) -> str:
    return _UNIT_LABEL.get(unit.lower(), unit)


def plot_fes(fes: FES, path=None, basins=None, path_points=None, max_free: float | None = None, title: str = "",
             *, ax=None):
    """1D: F with its error band; 2D: a colour map, labelled basins and a path (n, 2).

    Draws into `ax` (or a new figure) and returns the figure; with `path`, writes it there and
    returns the path.

        >>> fig = plot_fes(nc.reweight(...).fes)                  # doctest: +SKIP
        >>> fig.savefig("fes.svg")                                # doctest: +SKIP
    """
    if fes.grid.ndim == 1:
        return plot_fes_1d(fes, path, title=title, ax=ax)
    return plot_fes_2d(fes, path, basins=basins, path_points=path_points, max_free=max_free, title=title, ax=ax)


def plot_fes_1d(fes: FES, path=None, title: str = "", *, ax=None):
    """F against the CV, with the block error as a band when the FES has one."""
    fig, ax = _figure_and_axes(ax, 5, 3.5)
    x = fes.grid.axis(0)
    finite = np.isfinite(fes.free)
    ax.plot(x[finite], fes.free[finite], color="C0")
    if fes.free_err is not None:
        ok = finite & np.isfinite(fes.free_err)
        free, err = fes.free[ok], fes.free_err[ok]  # masked first: inf - inf would warn
        ax.fill_between(x[ok], free - err, free + err, color="C0", alpha=0.3, linewidth=0, label="block error")
        ax.legend(frameon=False)
    ax.set_xlabel(fes.names[0])
    ax.set_ylabel(f"F ({unit_label(fes.energy_unit)})")
    if title:
        ax.set_title(title)
    return _done(fig, path)


def plot_fes_2d(fes: FES, path=None, basins=None, path_points=None, max_free: float | None = None,
                title: str = "", *, ax=None):
    """Grid points drawn as pixels (imshow): a 10^4-point grid renders in milliseconds, where
    filled contours cost a large share of a whole `nucleate reweight` run."""
    own_figure = ax is None
    fig, ax = _figure_and_axes(ax, 5.5, 4.2)
    if own_figure:  # a caller's figure keeps the layout the caller chose
        fig.subplots_adjust(left=0.13, right=0.97, bottom=0.12, top=0.93 if title else 0.97)
    x, y = fes.grid.axis(0), fes.grid.axis(1)
    free = np.ma.masked_invalid(np.where(np.isfinite(fes.free), fes.free, np.nan))  # blank where no sample
    low = float(free.min()) if free.count() else 0.0
    top = max_free if max_free is not None else (float(free.max()) if free.count() else low + 1.0)
    dx, dy = (x[1] - x[0] if len(x) > 1 else 1.0) / 2, (y[1] - y[0] if len(y) > 1 else 1.0) / 2
    image = ax.imshow(free.T, origin="lower", extent=(x[0] - dx, x[-1] + dx, y[0] - dy, y[-1] + dy),
                      aspect="auto", interpolation="nearest", cmap="viridis", vmin=low,
                      vmax=top if top > low else low + 1.0)
    fig.colorbar(image, ax=ax, label=f"F ({unit_label(fes.energy_unit)})", extend="max" if max_free else "neither")
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
    return _done(fig, path, tight=False)


def plot_delta_g(series, path=None, time_unit: str = "ps", title: str = "", *, ax=None):
    """Delta G against time with its block error bars (a `DeltaGSeries`)."""
    fig, ax = _figure_and_axes(ax, 5, 3.5)
    ok = np.isfinite(series.delta_g)
    err = np.where(np.isfinite(series.error), series.error, 0.0)
    ax.errorbar(series.times[ok], series.delta_g[ok], yerr=err[ok], marker="o", markersize=3, capsize=2)
    ax.set_xlabel(f"time ({time_unit})")
    ax.set_ylabel(f"G({series.target}) - G({series.reference}) ({unit_label(series.energy_unit)})")
    if title:
        ax.set_title(title)
    return _done(fig, path)
