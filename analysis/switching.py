"""PLUMED's rational switching function and COORDINATION sums, in numpy (lengths in A).

The function is PLUMED 2.11's RATIONAL switching function (src/tools/SwitchingFunction.cpp):

    s(r) = 1                                         for r <= d0
    s(r) = (1 - x^n) / (1 - x^m),  x = (r - d0)/r0    for d0 < r <= d_max   (n = NN, m = MM)
    s(r) = n/m                                       where |x - 1| < 100 * machine epsilon
    s(r) = 0                                         for r > d_max

Defaults as in PLUMED: NN = 6, MM = 0 meaning 2*NN, D_0 = 0.  For MM = 2*NN the function is
1/(1 + x^n) exactly (no removable singularity at x = 1).

Cut-off and stretching.  Whenever a cut-off d_max is in force PLUMED also *stretches* the
function so that it reaches zero exactly at d_max and is 1 at r = 0:

    s_stretched(r) = s(r) * stretch + shift,  stretch = 1/(s(0) - s(d_max)),  shift = -s(d_max) * stretch

(s(0) = 1 always.)  Which d_max applies depends on how the PLUMED input wrote the function:

* COORDINATION ... R_0= NN= MM= D_0=  (the simplified keywords, used by the Ag6 study):
  d_max = d0 + r0 * 0.00001**(1/(NN - MM)), i.e. where x^(n-m) = 1e-5, so s(d_max) is about 1e-5
  for n < m; always stretched (the PLUMED manual's remark that simplified switching functions
  are never stretched is stale: the code stretches them).  This is `RationalSwitch(...)`'s
  default, `d_max="auto"`.
* SWITCH={RATIONAL R_0= ...} without D_MAX: no cut-off, no stretching (`d_max=None`).
* SWITCH={RATIONAL ... D_MAX=d}: cut at d and stretched, unless NOSTRETCH (`stretch=False`).

`RationalSwitch.from_plumed("RATIONAL R_0=3.25 NN=6 MM=8")` reads the SWITCH={...} syntax.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nucleate.errors import NucleateError
from nucleate.geometry import cell_matrix, minimum_image

AUTO = "auto"
_NEAR_ONE = 100.0 * np.finfo(float).eps
# Rows of group A per block, so a block of separation vectors stays around a few MB.
_BLOCK_PAIRS = 200_000


@dataclass(frozen=True)
class RationalSwitch:
    """PLUMED RATIONAL switching function; r0, d0, d_max in A (or in whatever unit r is given)."""

    r0: float
    nn: int = 6
    mm: int = 0
    d0: float = 0.0
    d_max: float | str | None = AUTO
    stretch: bool = True
    _scale: tuple[float, float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.r0 > 0:
            raise NucleateError(f"switching function R_0 must be positive, got {self.r0}")
        if int(self.nn) != self.nn or self.nn <= 0 or int(self.mm) != self.mm or self.mm < 0:
            raise NucleateError(f"switching function NN and MM must be positive integers (MM=0 means 2*NN), got NN={self.nn} MM={self.mm}")
        object.__setattr__(self, "nn", int(self.nn))
        object.__setattr__(self, "mm", int(self.mm) or 2 * int(self.nn))
        if self.nn == self.mm:
            raise NucleateError(f"switching function with NN = MM = {self.nn} is constant; choose MM != NN")
        if self.d_max == AUTO:
            object.__setattr__(self, "d_max", self.d0 + self.r0 * 0.00001 ** (1.0 / (self.nn - self.mm)))
        elif isinstance(self.d_max, str):
            raise NucleateError(f"d_max must be a number, None or 'auto', got {self.d_max!r}")
        elif self.d_max is not None and not self.d_max > self.d0:
            # s(d_max) = 1 there: the stretch 1/(s(0) - s(d_max)) would divide by zero
            raise NucleateError(f"switching function D_MAX={self.d_max} must be larger than D_0={self.d0}")
        scale = (1.0, 0.0)
        if self.d_max is not None and self.stretch:
            s_zero = float(self._raw(np.array([0.0]))[0])
            s_cut = float(self._raw(np.array([float(self.d_max)]))[0])
            stretch = 1.0 / (s_zero - s_cut)
            scale = (stretch, -s_cut * stretch)
        object.__setattr__(self, "_scale", scale)

    @property
    def cutoff(self) -> float:
        """Distance beyond which s = 0 (infinity when there is no cut-off)."""
        return np.inf if self.d_max is None else float(self.d_max)

    @property
    def stretch_factor(self) -> float:
        return self._scale[0]

    @property
    def shift(self) -> float:
        return self._scale[1]

    def _raw(self, r: np.ndarray) -> np.ndarray:
        x = (r - self.d0) / self.r0
        out = np.ones_like(x)
        inside = x > 0.0
        xi = x[inside]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if self.mm == 2 * self.nn:
                values = 1.0 / (1.0 + xi ** self.nn)
            else:
                values = (1.0 - xi ** self.nn) / (1.0 - xi ** self.mm)
                values = np.where(np.abs(xi - 1.0) < _NEAR_ONE, self.nn / self.mm, values)
                values = np.where(np.isfinite(values), values, 0.0)  # x^m overflowed: s -> 0
        out[inside] = values
        return out

    def __call__(self, r) -> np.ndarray:
        """s(r) for distances r (any shape), with PLUMED's cut-off and stretching."""
        r = np.asarray(r, dtype=float)
        stretch, shift = self._scale
        out = self._raw(r) * stretch + shift
        return np.where(r > self.cutoff, 0.0, out)

    @classmethod
    def from_plumed(cls, text: str) -> "RationalSwitch":
        """Read PLUMED's SWITCH syntax, e.g. "{RATIONAL R_0=0.3 NN=6 MM=12 D_0=0 D_MAX=1.0}"."""
        words = text.strip().strip("{}").split()
        if not words or words[0].upper() != "RATIONAL":
            raise NucleateError(f"only RATIONAL switching functions are supported, got {text!r}")
        keys: dict[str, str] = {}
        flags: set[str] = set()
        for word in words[1:]:
            if "=" in word:
                key, value = word.split("=", 1)
                keys[key.upper()] = value
            else:
                flags.add(word.upper())
        unknown = (set(keys) - {"R_0", "NN", "MM", "D_0", "D_MAX"}) | (flags - {"STRETCH", "NOSTRETCH"})
        if unknown:
            raise NucleateError(f"unknown keywords {sorted(unknown)} in switching function {text!r}")
        if "R_0" not in keys:
            raise NucleateError(f"switching function {text!r} needs R_0")
        try:
            return cls(r0=float(keys["R_0"]), nn=int(keys.get("NN", 6)), mm=int(keys.get("MM", 0)),
                       d0=float(keys.get("D_0", 0.0)),
                       d_max=float(keys["D_MAX"]) if "D_MAX" in keys else None,
                       stretch="NOSTRETCH" not in flags)
        except ValueError as exc:
            raise NucleateError(f"cannot read switching function {text!r}: {exc}") from None


def _pair_sum(a: np.ndarray, b: np.ndarray, switch: RationalSwitch, cell, skip=None) -> float:
    """Sum of s(|b_j - a_i|) over all i, j; `skip(i_block, rows)` gives a mask of pairs to drop."""
    a = np.asarray(a, dtype=float).reshape(-1, 3)
    b = np.asarray(b, dtype=float).reshape(-1, 3)
    cell = cell_matrix(cell)
    rows = max(1, _BLOCK_PAIRS // max(len(b), 1))
    total = 0.0
    for start in range(0, len(a), rows):
        block = a[start:start + rows]
        r = np.linalg.norm(minimum_image(b[None, :, :] - block[:, None, :], cell), axis=-1)
        values = switch(r)
        if skip is not None:
            values = np.where(skip(start, len(block)), 0.0, values)
        total += float(values.sum())
    return total


def coordination(group_a, group_b, switch: RationalSwitch, cell=None, ids_a=None, ids_b=None) -> float:
    """PLUMED COORDINATION GROUPA=A GROUPB=B: sum over all pairs, minimum image in `cell`.

    Positions (N, 3) and cell in A.  Pairs of one atom with itself (same id in both groups) are
    skipped, as PLUMED does; pass the 1-based ids when the groups overlap.
    """
    skip = None
    if ids_a is not None and ids_b is not None:
        ids_a = np.asarray(ids_a)
        ids_b = np.asarray(ids_b)
        skip = lambda start, n: ids_a[start:start + n, None] == ids_b[None, :]  # noqa: E731
    return _pair_sum(group_a, group_b, switch, cell, skip)


def coordination_within(group, switch: RationalSwitch, cell=None) -> float:
    """PLUMED COORDINATION GROUPA=G (no GROUPB): each pair i < j counted once."""
    group = np.asarray(group, dtype=float).reshape(-1, 3)
    index = np.arange(len(group))
    skip = lambda start, n: index[start:start + n, None] >= index[None, :]  # noqa: E731
    return _pair_sum(group, group, switch, cell, skip)


def coordination_around_point(point, group, switch: RationalSwitch, cell=None) -> float:
    """Atoms of `group` around one point (e.g. a FIXEDATOM or a centre of mass), minimum image."""
    return _pair_sum(np.asarray(point, dtype=float).reshape(1, 3), group, switch, cell)
