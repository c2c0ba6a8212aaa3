"""The units a run's PLUMED files are written in, and where that is known from.

In order: what the user gives (--input-units), the run directory's manifest.json (nucleate's
record of the run), the `UNITS` line of a plumed.dat beside the file (what PLUMED itself was
told), and PLUMED's defaults (kJ/mol, nm, ps) when neither file is there.  Several files read
together must agree.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from nucleate.errors import NucleateError
from nucleate.units import ENERGY_TO_KJMOL, LENGTH_TO_NM, PLUMED_DEFAULT_UNITS, TIME_TO_PS

PLUMED_INPUT_NAME = "plumed.dat"


@dataclass(frozen=True)
class PlumedUnits:
    """The units PLUMED wrote the file in (its UNITS line; PLUMED's defaults are kJ/mol, nm, ps)."""

    energy: str = "kj/mol"
    length: str = "nm"
    time: str = "ps"
    source: str = "PLUMED defaults (no manifest.json or plumed.dat found and no units given)"

    def __post_init__(self):
        for value, table, kind in ((self.energy, ENERGY_TO_KJMOL, "energy"),
                                   (self.length, LENGTH_TO_NM, "length"),
                                   (self.time, TIME_TO_PS, "time")):
            if value.lower() not in table:
                raise NucleateError(f"unknown {kind} unit {value!r} ({self.source}); known: {', '.join(table)}")
        object.__setattr__(self, "energy", self.energy.lower())
        object.__setattr__(self, "length", self.length.lower())
        object.__setattr__(self, "time", self.time.lower())

    def same_as(self, other: "PlumedUnits") -> bool:
        return (self.energy, self.length, self.time) == (other.energy, other.length, other.time)


def units_from_manifest(run_dir: Path) -> PlumedUnits | None:
    """The `plumed_units` block of `run_dir/manifest.json`, or None if there is none."""
    manifest = Path(run_dir) / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise NucleateError(f"{manifest}: not readable JSON ({exc}); fix or remove it, or pass --units") from exc
    block = data.get("plumed_units")
    if not isinstance(block, dict):
        return None
    return PlumedUnits(energy=str(block.get("energy", PLUMED_DEFAULT_UNITS["energy"])),
                       length=str(block.get("length", PLUMED_DEFAULT_UNITS["length"])),
                       time=str(block.get("time", PLUMED_DEFAULT_UNITS["time"])), source=str(manifest))


def _plumed_statements(text: str):
    """The statements of a PLUMED input: comments cut, `...` continuation blocks joined, up to
    ENDPLUMED."""
    pending: list[str] | None = None
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if pending is not None:
            if words[0] == "...":
                yield pending
                pending = None
            else:
                pending += words
            continue
        if words[0] == "ENDPLUMED":
            return
        if words[-1] == "...":
            pending = words[:-1]
        else:
            yield words


_KEYWORD = re.compile(r"^(ENERGY|LENGTH|TIME)=(.+)$", re.IGNORECASE)


def _unit_name(value: str, table: dict, kind: str, where: str) -> str:
    """A unit as PLUMED accepts it: a name, or a number of PLUMED's internal units (kJ/mol, nm, ps)."""
    if value.lower() in table:
        return value.lower()
    try:
        factor = float(value)
    except ValueError:
        raise NucleateError(f"{where}: UNITS {kind.upper()}={value} is not a unit nucleate knows "
                            f"({', '.join(table)}); pass --input-units") from None
    for name, known in table.items():
        if abs(known - factor) <= 1e-6 * known:
            return name
    raise NucleateError(f"{where}: UNITS {kind.upper()}={value} ({value} x PLUMED's internal unit) is not one of "
                        f"{', '.join(table)}; pass --input-units")


def units_from_plumed_input(run_dir: Path) -> PlumedUnits | None:
    """The UNITS line of `run_dir/plumed.dat` (PLUMED's defaults if it has none), or None if
    there is no such file."""
    path = Path(run_dir) / PLUMED_INPUT_NAME
    if not path.is_file():
        return None
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise NucleateError(f"cannot read {path}: {exc.strerror or exc}; pass --input-units") from None
    found = dict(PLUMED_DEFAULT_UNITS)
    tables = {"energy": ENERGY_TO_KJMOL, "length": LENGTH_TO_NM, "time": TIME_TO_PS}
    for words in _plumed_statements(text):
        if words[0].upper() != "UNITS":
            continue
        if any(w.upper() == "NATURAL" for w in words[1:]):
            raise NucleateError(f"{path}: UNITS NATURAL (energies in kT) is not supported; pass --input-units")
        for word in words[1:]:
            match = _KEYWORD.match(word)
            if match:
                kind = match.group(1).lower()
                found[kind] = _unit_name(match.group(2), tables[kind], kind, str(path))
        return PlumedUnits(source=f"{path} (UNITS line)", **found)
    return PlumedUnits(source=f"{path} (no UNITS line: PLUMED's defaults)", **found)


def units_beside(path: Path) -> PlumedUnits | None:
    """What the files beside a PLUMED output say about its units, or None."""
    folder = Path(path).resolve().parent
    return units_from_manifest(folder) or units_from_plumed_input(folder)


def resolve_units(paths: list[Path], units: PlumedUnits | str | None) -> PlumedUnits:
    """Units given by the user win; otherwise every file's run directory must agree."""
    if isinstance(units, str):
        return PlumedUnits(energy=units, source="given by the user")
    if units is not None:
        return units
    found: list[tuple[Path, PlumedUnits]] = []
    for path in paths:
        declared = units_beside(path)
        if declared is not None:
            found.append((Path(path), declared))
    if not found:
        return PlumedUnits()
    first_path, first = found[0]
    for path, other in found[1:]:
        if not first.same_as(other):
            raise NucleateError(
                f"mixed units: {first_path} was written in {first.energy}/{first.length}/{first.time} "
                f"({first.source}) but {path} in {other.energy}/{other.length}/{other.time} ({other.source}); "
                "analyse them separately or convert one of them")
    if len(found) < len(paths):
        missing = [str(p) for p in paths if all(p != f for f, _ in found)]
        warnings.warn(f"no manifest.json or plumed.dat beside {', '.join(missing)}; assuming the units of "
                      f"{first.source}", stacklevel=3)
    return first
