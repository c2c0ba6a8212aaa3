"""Trajectory analyses of a run by group names: structure KDEs, coordination series, nuclei.

Entry points take a `Run` (nucleate.analysis.trajectory.io) and names from its groups file, run
the MDAnalysis analyses over frames [start:stop:step], and return plain results that
nucleate.analysis.trajectory.tables writes as small tables (lengths in A, angles in degrees,
times in ps).
"""

from __future__ import annotations

import numpy as np

from nucleate.analysis.switching import RationalSwitch
from nucleate.analysis.trajectory.bonds import BondAngles, BondDistances, bond_cutoff, parse_combination
from nucleate.analysis.trajectory.clusters import Nuclei
from nucleate.analysis.trajectory.coordination import CoordinationSeries
from nucleate.analysis.trajectory.io import Run
from nucleate.analysis.trajectory.kde import KDEResult, kde
from nucleate.errors import NucleateError

STUDY_PAIRS = ["Ag-Ag", "Ag-S", "Ag-N"]
STUDY_ANGLES = ["Ag-Ag-Ag", "S-Ag-S", "N-Ag-Ag", "N-Ag-S"]


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
