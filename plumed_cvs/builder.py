"""The state shared while a `plumed:` section is turned into PLUMED actions.

It holds the system (groups + starting configuration), the length unit of the generated
input, the rendered blocks in order, and every label defined so far: scalar values (what
walls, COMBINE, biases and PRINT can take), families (one label per atom of an `each:`
expansion, referred to by the family name) and virtual atoms (points usable as atoms).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nucleate.errors import NucleateError
from nucleate.templates import Rendered, render
from nucleate.units import length_factor

from .atoms import Structure, compact_ids, select


@dataclass
class Value:
    label: str                    # PLUMED value label, e.g. "s1" or "guard_co.lowest"
    bounds: tuple | None = None   # (lo, hi) the value can take, for grids; None if unbounded
    periodic: bool = False


@dataclass
class InputBuilder:
    structure: Structure
    length_unit: str = "nm"
    blocks: list[str] = field(default_factory=list)
    values: dict[str, Value] = field(default_factory=dict)
    families: dict[str, list[str]] = field(default_factory=dict)
    points: dict[str, str] = field(default_factory=dict)   # label -> description
    used_groups: dict[str, int] = field(default_factory=dict)
    print_labels: list[str] = field(default_factory=list)
    monitor_labels: list[str] = field(default_factory=list)  # print-only monitors with a PRINT of their own
    # label -> the two atoms/points of a plain DISTANCE CV: a wall on several of them is computed as one
    # COORDINATION ... PAIR (plumed_cvs/restraints.py)
    pairs: dict[str, tuple[str, str]] = field(default_factory=dict)
    monitor_stride: int | None = None
    _auto: int = 0

    # ---- units -------------------------------------------------------------------------
    def from_angstrom(self, value_A: float) -> float:
        """A length in Angstrom (the data file's unit) in the generated input's unit."""
        return value_A * length_factor("A", self.length_unit)

    # ---- labels ------------------------------------------------------------------------
    def claim(self, label: str, where: str) -> str:
        if label in self.values or label in self.families or label in self.points:
            raise NucleateError(f"{where}: the name {label!r} is already defined; names must be unique")
        return label

    def auto_label(self, stem: str) -> str:
        self._auto += 1
        return f"{stem}_{self._auto}"

    def add_value(self, label: str, bounds=None, *, printed: bool = True, periodic: bool = False) -> None:
        self.values[label] = Value(label, bounds, periodic)
        if printed:
            self.print_labels.append(label)

    def expand(self, names, where: str) -> list[str]:
        """CV names (scalars or families) -> PLUMED value labels."""
        names = [names] if isinstance(names, str) else list(names or [])
        if not names:
            raise NucleateError(f"{where}: needs at least one CV name")
        labels: list[str] = []
        for name in names:
            if not isinstance(name, str):
                raise NucleateError(f"{where}: CV names must be strings, got {name!r}")
            if name in self.families:
                labels.extend(self.families[name])
            elif name in self.values:
                labels.append(name)
            else:
                known = sorted(set(self.values) | set(self.families))
                raise NucleateError(
                    f"{where}: there is no CV named {name!r} (defined so far: {', '.join(known) or 'none'}); "
                    "define it under `cvs:` before it is used"
                )
        return labels

    def bounds_of(self, label: str):
        return self.values[label].bounds

    # ---- atoms -------------------------------------------------------------------------
    def atoms(self, selection, where: str, self_id: int | None = None) -> tuple[str, int]:
        """PLUMED atom list for a selector: a point label or compact ids; and the atom count."""
        if isinstance(selection, str) and selection in self.points:
            return selection, 1
        ids = select(self.structure, selection, self_id, where)
        if isinstance(selection, str) and selection in self.structure.groups:
            self.used_groups[selection] = int(ids.size)
        return compact_ids(ids), int(ids.size)

    def single_atom(self, selection, where: str, self_id: int | None = None) -> str:
        ref, size = self.atoms(selection, where, self_id)
        if size != 1:
            raise NucleateError(f"{where}: {selection!r} must be one atom or point, but it holds {size} atoms")
        return ref

    def each_ids(self, selection, where: str) -> np.ndarray:
        ids = select(self.structure, selection, None, where)
        if isinstance(selection, str) and selection in self.structure.groups:
            self.used_groups[selection] = int(ids.size)
        return ids

    # ---- output ------------------------------------------------------------------------
    def emit(self, template: str, **context) -> None:
        # still Rendered after the strip: plumed.dat.j2 may place this multi-line block
        self.blocks.append(Rendered(render(f"plumed/{template}", **context).rstrip("\n")))
