"""Coordination-number time series with exactly PLUMED's COORDINATION sums (lengths in A).

Three forms, as in the study's plumed.dat files:
* A-B:     COORDINATION GROUPA=A GROUPB=B  (all pairs, an atom never with itself)
* within:  COORDINATION GROUPA=A           (pairs i < j once)
* point:   COORDINATION GROUPA=point GROUPB=B, the point a fixed position (FIXEDATOM AT=x,y,z)
           or a group's centre of mass each frame (COM, made whole across the boundaries the
           way PLUMED does it), e.g. the nucleation point c = COM of the Ag atoms.
"""

from __future__ import annotations

import numpy as np
from MDAnalysis.analysis.base import AnalysisBase

from nucleate.analysis.switching import (RationalSwitch, coordination, coordination_around_point,
                                         coordination_within)
from nucleate.analysis.trajectory.io import frame_cell
from nucleate.errors import NucleateError
from nucleate.geometry import center_of_mass


class CoordinationSeries(AnalysisBase):
    """results.cn (n_frames,), results.steps (MD steps), results.times (ps, or steps if dt unknown)."""

    def __init__(self, group_a, switch: RationalSwitch, group_b=None, point=None, point_group=None, **kwargs):
        super().__init__(group_a.universe.trajectory, **kwargs)
        if sum(x is not None for x in (group_b, point, point_group)) > 1:
            raise NucleateError("a coordination number is A-B, within A, or A around one point: give only one of these")
        self.group_a, self.group_b, self.switch = group_a, group_b, switch
        self.point = None if point is None else np.asarray(point, dtype=float).reshape(3)
        self.point_group = point_group

    def _prepare(self):
        self.results.cn = np.zeros(self.n_frames)
        self.results.steps = np.zeros(self.n_frames, dtype=np.int64)
        self.results.times = np.zeros(self.n_frames)

    def _single_frame(self):
        cell = frame_cell(self._ts)
        positions = self.group_a.positions.astype(float)
        if self.group_b is not None:
            value = coordination(positions, self.group_b.positions.astype(float), self.switch, cell,
                                 ids_a=self.group_a.indices, ids_b=self.group_b.indices)
        elif self.point is not None:
            value = coordination_around_point(self.point, positions, self.switch, cell)
        elif self.point_group is not None:
            centre = center_of_mass(self.point_group.positions.astype(float), self.point_group.masses, cell)
            value = coordination_around_point(centre, positions, self.switch, cell)
        else:
            value = coordination_within(positions, self.switch, cell)
        i = self._frame_index
        self.results.cn[i] = value
        self.results.steps[i] = int(self._ts.data.get("step", self._ts.frame))
        self.results.times[i] = self._ts.time
