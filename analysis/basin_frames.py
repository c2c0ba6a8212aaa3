"""The trajectory frames whose CVs fall in a basin: the structures behind a free-energy minimum.

A basin is a box in CV space (`NAME=lo:hi[,lo:hi]`, as `nucleate deltag` takes it). Each COLVAR row
inside it is matched to the trajectory frame written at the same MD step: step = time / timestep
(the COLVAR's time in its own unit, the timestep from the run's manifest or given), and a frame
counts only when the dump holds that exact step. Rows between dump frames are reported without a
frame, so a user sees when the COLVAR and the dump strides differ.

    hits = frames_in_basins(times_ps, values, regions, timestep_ps=0.0005, dump_steps=scan.steps)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nucleate.errors import NucleateError

from .basins import BasinRegion


@dataclass
class BasinFrames:
    """COLVAR rows of one basin: their times, MD steps (or None), dump frame indices (-1: no frame) and CVs."""

    basin: str
    times: np.ndarray
    steps: np.ndarray | None
    frames: np.ndarray
    values: np.ndarray

    @property
    def n_frames(self) -> int:
        return int(np.count_nonzero(self.frames >= 0))


def frames_in_basins(times: np.ndarray, values: np.ndarray, regions: list[BasinRegion], *,
                     timestep: float | None = None, dump_steps: np.ndarray | None = None) -> list[BasinFrames]:
    """For each region, its COLVAR rows and the dump frames at their steps. `timestep` is in the unit of
    `times`; without it no step (and no frame) is known."""
    values = np.asarray(values, dtype=float).reshape(len(times), -1)
    steps = None
    if timestep is not None:
        if not timestep > 0:
            raise NucleateError(f"the timestep must be positive, got {timestep!r}")
        exact = np.asarray(times, dtype=float) / timestep
        steps = np.rint(exact).astype(np.int64)
        off = np.abs(exact - steps) > 1e-3
        if off.any():
            row = int(np.argmax(off))
            raise NucleateError(f"COLVAR time {times[row]:g} is not a whole number of {timestep:g} steps; "
                                "give the run's timestep (--timestep-fs) in the COLVAR's time unit")
    frame_of = {}
    if dump_steps is not None:
        frame_of = {int(step): k for k, step in enumerate(np.asarray(dump_steps))}
    result = []
    for region in regions:
        inside = region.contains(values)
        region_steps = steps[inside] if steps is not None else None
        frames = np.array([frame_of.get(int(s), -1) for s in region_steps] if region_steps is not None
                          else [-1] * int(inside.sum()), dtype=np.int64)
        result.append(BasinFrames(region.name, np.asarray(times)[inside], region_steps, frames, values[inside]))
    return result


def write_frames(path, hits: list[BasinFrames], cvs: list[str], time_unit: str, source: str) -> None:
    """One row per COLVAR row in a basin: basin, time, step, frame (-1: no dump frame at that step), CVs."""
    from .output_files import write_text_output

    lines = [f"# frames in basins of {source}: step = time / timestep; frame = index in the dump (0 = first), "
             "-1 where the dump has no frame at that step",
             f"#! FIELDS basin time step frame {' '.join(cvs)}", f"#! SET time_unit {time_unit}"]
    for hit in hits:
        for k in range(len(hit.times)):
            step = int(hit.steps[k]) if hit.steps is not None else -1
            lines.append(f"{hit.basin} {hit.times[k]:.6f} {step} {int(hit.frames[k])} "
                         + " ".join(f"{v:.6f}" for v in hit.values[k]))
    write_text_output(path, "\n".join(lines) + "\n")
