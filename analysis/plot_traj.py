"""Figures for trajectory analysis: KDE panels and time series.

Each function draws into the Axes given as `ax=` (one Axes, or one per panel) or into a new figure
of its own, and returns the figure; given a file prefix instead, it writes PNG and SVG and returns
their paths (the form the CLI uses).  New figures are bare `Figure`s with an Agg canvas, never
pyplot's, so the global matplotlib backend is left as the user set it.

    >>> fig = plot_kde_panels(nc.kde(run))                          # doctest: +SKIP
    >>> plot_kde_panels(results, Path("out/kde"))                   # doctest: +SKIP
    [PosixPath('out/kde.png'), PosixPath('out/kde.svg')]
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nucleate.analysis.output_files import write_output
from nucleate.analysis.plot_fes import agg_figure
from nucleate.analysis.trajectory.kde import KDEResult
from nucleate.errors import NucleateError


def _pyplot():
    """pyplot as the user's session has it, the backend untouched.  Kept for callers that still draw
    with pyplot (the Ag6 report's placeholder figures); new code draws on `agg_figure`."""
    import matplotlib.pyplot as plt

    return plt


def _panels(ax, n: int, new_figure):
    """(figure, one Axes per panel, whether the figure is ours).  `ax` may be one Axes, which then
    holds every panel's curves, or a sequence of at least n Axes."""
    if ax is None:
        fig, axes = new_figure()
        return fig, list(np.ravel(axes)), True
    if hasattr(ax, "plot"):
        return ax.figure, [ax] * n, False
    axes = list(np.ravel(ax))
    if len(axes) < n:
        raise NucleateError(f"{n} panels to draw but {len(axes)} Axes given")
    return axes[0].figure, axes[:n], False


def _done(fig, prefix, own_figure: bool):
    if own_figure:
        fig.tight_layout()
    if prefix is None:
        return fig
    prefix = Path(prefix)
    return [write_output(prefix.with_suffix(suffix),
                         lambda temporary, dpi=dpi: fig.savefig(temporary, dpi=dpi, bbox_inches="tight"))
            for suffix, dpi in ((".png", 150), (".svg", None))]


def plot_kde_panels(results: dict[str, KDEResult], prefix: Path | None = None, references: dict | None = None,
                    *, ax=None):
    """One panel per quantity: density, its maxima (dashed, labelled), reference values (dotted)
    and reference ranges (shaded).  references: {label: {"values": [...], "ranges": [[lo, hi], ...]}}
    or {label: [values]}.  Returns the figure, or with `prefix` the PNG and SVG written."""
    n = len(results)
    cols = min(n, 4)
    rows = math.ceil(n / cols)

    def new_figure():
        fig = agg_figure(3.4 * cols, 2.8 * rows)
        return fig, fig.subplots(rows, cols, squeeze=False)

    fig, axes, own = _panels(ax, n, new_figure)
    shared = len(set(map(id, axes))) < len(axes)  # several quantities in one Axes: tell them apart
    for ax_k, r in zip(axes, results.values()):
        ax_k.plot(r.grid, r.density, lw=1.5, label=r.label, **({} if shared else {"color": "tab:blue"}))
        ref = (references or {}).get(r.label)
        if ref is not None:
            ref = ref if isinstance(ref, dict) else {"values": ref}
            for lo, hi in ref.get("ranges", []):
                ax_k.axvspan(lo, hi, color="tab:red", alpha=0.12, lw=0)
            for value in ref.get("values", []):
                ax_k.axvline(value, color="tab:red", ls=":", lw=1.2)
        for position, height in zip(r.maxima, r.heights):
            ax_k.axvline(position, color="tab:blue", ls="--", lw=0.8)
            ax_k.annotate(f"{position:.2f}" if r.unit == "A" else f"{position:.0f}", (position, height),
                          textcoords="offset points", xytext=(3, 3), fontsize=8)
        if not shared:
            ax_k.set_title(r.label, fontsize=10)
        ax_k.set_xlabel("distance (A)" if r.unit == "A" else "angle (deg)")
        ax_k.set_ylabel("density")
    if shared and axes:
        axes[0].legend(frameon=False, fontsize=8)
    if own:
        for extra in fig.axes[n:]:
            extra.set_visible(False)
    return _done(fig, prefix, own)


def plot_time_series(times, series: dict[str, np.ndarray], ylabel: str, time_unit: str, prefix: Path | None = None,
                     drawstyle: str = "default", *, ax=None):
    """Stacked panels sharing the time axis, one per series (or all in one given Axes, labelled).
    Returns the figure, or with `prefix` the PNG and SVG written."""
    def new_figure():
        fig = agg_figure(6.4, 2.0 + 1.6 * len(series))
        return fig, fig.subplots(len(series), 1, sharex=True, squeeze=False)

    fig, axes, own = _panels(ax, len(series), new_figure)
    shared = len(set(map(id, axes))) < len(axes)
    for ax_k, (name, values) in zip(axes, series.items()):
        ax_k.plot(times, values, lw=1.0, drawstyle=drawstyle, label=name)
        ax_k.set_ylabel(name if len(series) > 1 and not shared else ylabel)
    if shared and axes:
        axes[0].legend(frameon=False, fontsize=8)
    if axes:
        axes[-1].set_xlabel(f"time ({time_unit})")
    return _done(fig, prefix, own)


def plot_nuclei(results, time_unit: str, prefix: Path | None = None, *, ax=None):
    """Largest cluster size, number of clusters and complete octahedra over time."""
    return plot_time_series(results.times, {"largest Ag cluster": results.largest,
                                            "Ag clusters": results.n_clusters,
                                            "complete Ag6 octahedra": results.n_octahedra},
                            "count", time_unit, prefix, drawstyle="steps-post", ax=ax)
