"""The free energy of some of the CVs of a surface, the others integrated out (`plumed sum_hills --idw`).

F(s_a) = -kT ln sum_{s_b} exp(-F(s_a, s_b) / kT), the sum running over the grid points of the
integrated CVs, as PLUMED's sum_hills --idw A --kt kT computes it (its FesWeight projection: a
plain sum over grid points, no grid-spacing factor, so the result is PLUMED's to the last digit;
a spacing factor would only shift F by a constant).  Evaluated as a log-sum-exp, so a deep surface
(F of thousands of kT) neither overflows nor underflows.
"""

from __future__ import annotations

import numpy as np

from nucleate.analysis.fes_grid import FES, GridSpec
from nucleate.errors import NucleateError


def project_fes(fes: FES, keep, kt: float) -> FES:
    """The surface on the CVs `keep` (names, in the order given), the other CVs integrated out at kT
    (in the surface's energy unit)."""
    keep = list(keep)
    names = list(fes.grid.names)
    unknown = [name for name in keep if name not in names]
    if unknown or not keep or len(set(keep)) != len(keep):
        raise NucleateError(f"--idw {','.join(keep)}: name one or more of the CVs of {fes.meta.get('source', 'the hills')}"
                            f" ({', '.join(names)}), each once")
    if not (kt > 0 and np.isfinite(kt)):
        raise NucleateError(f"--kt must be a positive energy (got {kt})")
    axes = [names.index(name) for name in keep]
    summed = tuple(k for k in range(len(names)) if k not in axes)
    scaled = -np.asarray(fes.free, dtype=float) / kt
    top = np.max(scaled, axis=summed, keepdims=True) if summed else scaled
    top = np.where(np.isfinite(top), top, 0.0)  # a line with no finite value stays +inf
    with np.errstate(divide="ignore"):
        free = -kt * (np.log(np.sum(np.exp(scaled - top), axis=summed)) + np.squeeze(top, axis=summed))
    free = np.transpose(free, np.argsort(np.argsort(axes)))  # the remaining axes in the order asked
    grid = fes.grid
    projected = GridSpec(tuple(keep), tuple(grid.mins[k] for k in axes), tuple(grid.maxs[k] for k in axes),
                         tuple(grid.nbins[k] for k in axes), tuple(grid.periodic[k] for k in axes),
                         tuple(grid.periods[k] for k in axes))
    integrated = [names[k] for k in summed]
    return FES(grid=projected, free=free, energy_unit=fes.energy_unit, kt=kt,
               meta=dict(fes.meta) | {"integrated": integrated},
               header=dict(fes.header) | {"integrated_out": ",".join(integrated) or "none"},
               notes=list(fes.notes) + [f"F({', '.join(keep)}) = -kT ln sum over the grid points of "
                                        f"{', '.join(integrated) or 'nothing'} of exp(-F/kT) (plumed sum_hills --idw)"])
