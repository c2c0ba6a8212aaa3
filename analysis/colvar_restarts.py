"""Rows of a restarted run that a later restart replaced.

A run restarted from a checkpoint appends to its COLVAR (PLUMED's RESTART) or is given as the
old file then the new one: the rows the crashed run wrote after its last checkpoint come again,
recomputed.  PLUMED's meaning is that the later rows are the run: for every time that appears
more than once, only the last segment's rows are kept.  Concretely a row is kept when its time
is earlier than every time after it; one note says how many rows were replaced.

Several files that each start at (or before) the previous file's first time are not pieces of
one run but walkers of a multiple-walker run: concatenated, all but the last would be dropped,
so they are refused with the option to use instead.
"""

from __future__ import annotations

import logging

import numpy as np

from nucleate.analysis.plumed_files import PlumedTable
from nucleate.errors import NucleateError

log = logging.getLogger(__name__)


def _file_starts(table: PlumedTable) -> list[tuple[str, int]]:
    """(file, first row) of each file in the table, in row order."""
    starts, row, seen = [], 0, set()
    for segment in table.segments:
        if segment.path not in seen:
            seen.add(segment.path)
            starts.append((str(segment.path), row))
        row += segment.rows
    return starts


def _refuse_walker_files(table: PlumedTable, time: np.ndarray) -> None:
    starts = [(path, row) for path, row in _file_starts(table) if row < len(time)]
    for (before, first), (path, row) in zip(starts, starts[1:]):
        if time[row] <= time[first]:
            raise NucleateError(
                f"{path} starts at time {time[row]:g}, not after the start of {before} ({time[first]:g}): these "
                "look like the walkers of a multiple-walker run, not pieces of one run; pass --walkers (one "
                "COLVAR per walker), or give the pieces of one run in time order")


def drop_superseded_rows(table: PlumedTable) -> PlumedTable:
    """The table without the rows a later restart wrote again (keeps the last segment's rows)."""
    if "time" not in table or len(table) < 2:
        return table
    time = table.finite_column("time", why="restarts are found by time")
    backwards = time[1:] <= time[:-1]  # as np.diff(time) <= 0 (finite times), without its temporary
    if not backwards.any():
        return table
    _refuse_walker_files(table, time)
    later_minimum = np.minimum.accumulate(time[::-1])[::-1]
    keep = np.ones(len(time), dtype=bool)
    keep[:-1] = time[:-1] < later_minimum[1:]
    restart = int(np.argmax(backwards)) + 1
    restarts = int(backwards.sum())
    log.info("%s: time goes back %d time(s) (first at %s, to %g after %g): a restarted run; kept the later "
             "rows and dropped %d earlier row(s) with the same or later times", table.describe(), restarts,
             table.where(restart), time[restart], time[restart - 1], int((~keep).sum()))
    return table.keep_rows(keep)
