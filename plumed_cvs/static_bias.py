"""The static part of a generated PLUMED input -- walls, restraints, guards -- evaluated by PLUMED
on a configuration, without MD: how far outside its walls a box starts, and the forces that would
push it back.

The input is the `plumed:` section rendered as for a run, but without its adaptive bias (METAD,
OPES: zero at t = 0 anyway, and they would write HILLS/KERNELS files) and without PRINT/FLUSH, so
evaluating it writes no file apart from PLUMED's log in a temporary folder. Every other action is
the one the run will use, so `c_box` (initial_centroid), the `nearest(...)`/`farthest(...)`
assignments and the walls are those of this configuration.

    with StaticBias(config, groups, data, temperature_K=300) as static:
        report = static.report(data.positions)      # StartBias: total and per wall, input's unit
        energy, forces = static.energy_forces(xyz)   # input's energy unit, per A

Values per wall come from PLUMED's own data interface (`getDataRank` + `setMemoryForData` of
`LABEL.bias`), in the input's energy unit; the total from `getBias`.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nucleate import units
from nucleate.errors import NucleateError
from nucleate.runtime import captured_stderr, plumed_module

from .presets import resolve
from .render import build_input, plumed_units

STATIC_ACTIONS = ("UPPER_WALLS", "LOWER_WALLS", "RESTRAINT")
_TERM = re.compile(r"^(\w+):\s+(" + "|".join(STATIC_ACTIONS) + r")\b", re.M)


@dataclass
class StartBias:
    """The static bias of one configuration: total and per wall/restraint label (energy_unit)."""
    total: float
    terms: dict[str, float]
    energy_unit: str
    temperature_K: float
    preset: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def kT(self) -> float:
        return units.kbt(self.temperature_K, self.energy_unit)

    @property
    def total_kT(self) -> float:
        return self.total / self.kT

    def largest(self, count: int = 3, at_least_kT: float = 0.01) -> list[tuple[str, float]]:
        ranked = sorted(self.terms.items(), key=lambda kv: -kv[1])
        return [(k, v) for k, v in ranked[:count] if v / self.kT >= at_least_kT]

    def describe(self) -> str:
        head = (f"walls + restraints at the start: {self.total:.3g} {self.energy_unit} "
                f"({self.total_kT:.3g} kT at {self.temperature_K:g} K)")
        worst = self.largest()
        if worst:
            head += "; " + ", ".join(f"{k} {v:.3g}" for k, v in worst)
        return head

    def to_dict(self) -> dict:
        return {"preset": self.preset, "energy_unit": self.energy_unit, "temperature_K": self.temperature_K,
                "kT": self.kT, "total": self.total, "total_kT": self.total_kT, "terms": dict(self.terms),
                "notes": list(self.notes)}


def static_config(config: dict) -> tuple[dict, str | None]:
    """The resolved `plumed:` section without its adaptive bias."""
    resolved, preset = resolve(config)
    resolved = {k: v for k, v in resolved.items() if k != "bias"}
    return resolved, preset


class StaticBias:
    """One PLUMED instance evaluating the walls, restraints and guards of `config` on configurations
    of the system `data` (positions in A)."""

    def __init__(self, config: dict, groups, data, *, temperature_K: float = 300.0):
        resolved, self.preset = static_config(config)
        self.energy_unit = plumed_units(resolved)["energy"]
        self.temperature_K = float(temperature_K)
        self.text = build_input(resolved, groups, data, temperature_K=temperature_K, preset=self.preset,
                                outputs=False)
        self.labels = [m.group(1) for m in _TERM.finditer(self.text)]
        self.natoms = int(data.natoms)
        self._box = np.ascontiguousarray(data.cell, dtype=float)  # rows: the cell vectors, as PLUMED takes them
        self._masses = np.ascontiguousarray([float(data.masses.get(int(t), 1.0)) for t in data.types])
        self._charges = np.zeros(self.natoms)
        self._virial = np.zeros((3, 3))
        self._bias = np.zeros(1)
        self._step = 0
        # PLUMED works in kJ/mol and nm; it is told the MD side uses kJ/mol and A
        self._to_unit = units.energy_factor("kj/mol", self.energy_unit)
        self._folder = tempfile.TemporaryDirectory(prefix="nucleate-static-bias-")
        folder = Path(self._folder.name)
        (folder / "plumed.dat").write_text(self.text)
        with captured_stderr():
            self._plumed = plumed_module().Plumed()
        p = self._plumed
        p.cmd("setMDEngine", "nucleate")
        p.cmd("setMDEnergyUnits", 1.0)
        p.cmd("setMDLengthUnits", units.NM_PER_ANGSTROM)
        p.cmd("setMDTimeUnits", 1.0)
        p.cmd("setPlumedDat", str(folder / "plumed.dat"))
        p.cmd("setLogFile", str(folder / "plumed.log"))
        p.cmd("setNatoms", self.natoms)
        p.cmd("setTimestep", 1.0e-3)
        try:
            p.cmd("init")
        except Exception as exc:  # noqa: BLE001 - PLUMED's own exception types
            raise NucleateError(f"PLUMED could not set up the walls of {self.preset or 'the plumed: section'}: "
                                f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else exc}") from None
        self._terms = {label: np.zeros(1) for label in self.labels}
        for label, buffer in self._terms.items():
            rank = np.zeros(1, dtype=np.int64)
            p.cmd(f"getDataRank {label}.bias", rank)
            p.cmd(f"setMemoryForData {label}.bias", buffer)

    def __enter__(self) -> "StaticBias":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "_plumed", None) is not None:
            self._plumed.finalize()
            self._plumed = None
        self._folder.cleanup()

    def energy_forces(self, positions: np.ndarray) -> tuple[float, np.ndarray]:
        """Total static bias (input's energy unit) and the forces it exerts ((N, 3), unit per A)."""
        positions = np.ascontiguousarray(positions, dtype=float)
        if positions.shape != (self.natoms, 3):
            raise ValueError(f"expected ({self.natoms}, 3) positions, got {positions.shape}")
        forces = np.zeros_like(positions)
        self._virial[:] = 0.0
        p = self._plumed
        # a new step number each time: PLUMED computes every step it is given
        self._step += 1
        p.cmd("setStep", self._step)
        p.cmd("setBox", self._box)
        p.cmd("setMasses", self._masses)
        p.cmd("setCharges", self._charges)
        p.cmd("setPositions", positions)
        p.cmd("setForces", forces)
        p.cmd("setVirial", self._virial)
        p.cmd("calc")
        p.cmd("getBias", self._bias)
        return float(self._bias[0]) * self._to_unit, forces * self._to_unit

    def report(self, positions: np.ndarray) -> StartBias:
        total, _ = self.energy_forces(positions)
        return StartBias(total=total, terms={k: float(v[0]) for k, v in self._terms.items()},
                         energy_unit=self.energy_unit, temperature_K=self.temperature_K, preset=self.preset)


def start_bias(config: dict, groups, data, *, temperature_K: float = 300.0) -> StartBias:
    """The static bias of `data`'s own configuration under `config` (one PLUMED evaluation)."""
    with StaticBias(config, groups, data, temperature_K=temperature_K) as static:
        return static.report(data.positions)
