"""Named atom groups: the contract between systems, specs, the CV library and analysis.

Atom ids are LAMMPS/PLUMED ids: 1-based, as in the data file.  On disk a groups file is JSON:

    {"format": "nucleate-groups/1", "natoms": 732, "type_map": ["Ag", "S", ...],
     "groups": {"Ag": [1, 2], "solvent_O": [17, 23, ...], ...},
     "molecules": [{"name": "AgL", "atoms": [1, 3, 5, ...]}, ...]}

Group names end up in generated PLUMED input (its header) and in atom selections, so a groups
file read from disk must use plain names (a letter or '_', then letters, digits, '_', '.', '-'),
ids that are integers, no text with control characters, and no key given twice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from nucleate import validate as check
from nucleate.errors import NucleateError

FORMAT = "nucleate-groups/1"
_RANGE = re.compile(r"^(\d+)(?:-(\d+)(?::(\d+))?)?$")


def parse_id_ranges(text: str) -> np.ndarray:
    """Parse PLUMED-style id lists ("1-3,12-14,41-726:6"), the escape hatch for raw indices."""
    ids: list[int] = []
    for token in str(text).replace(" ", "").split(","):
        if not token:
            continue
        match = _RANGE.match(token)
        if not match:
            raise NucleateError(f"cannot read atom range {token!r} in {text!r}: use N, N-M or N-M:STRIDE")
        start = int(match.group(1))
        stop = int(match.group(2) or start)
        stride = int(match.group(3) or 1)
        if start < 1 or stop < start or stride < 1:
            raise NucleateError(f"atom range {token!r} in {text!r} is empty or not 1-based")
        ids.extend(range(start, stop + 1, stride))
    return np.asarray(ids, dtype=np.int64)


@dataclass
class Groups:
    natoms: int
    groups: dict[str, np.ndarray]
    type_map: list[str] = field(default_factory=list)
    molecules: list[dict] = field(default_factory=list)
    source: str = ""

    def __post_init__(self) -> None:
        self.groups = {name: np.asarray(ids, dtype=np.int64) for name, ids in self.groups.items()}
        for name, ids in self.groups.items():
            if ids.size and (ids.min() < 1 or ids.max() > self.natoms):
                raise NucleateError(
                    f"group {name!r}{self._where()} refers to atom {int(ids.max() if ids.max() > self.natoms else ids.min())}, "
                    f"outside the system's atoms 1-{self.natoms}"
                )

    def _where(self) -> str:
        return f" (in {self.source})" if self.source else ""

    @property
    def names(self) -> list[str]:
        return list(self.groups)

    def __contains__(self, name: str) -> bool:
        return name in self.groups

    def __getitem__(self, name: str) -> np.ndarray:
        """1-based atom ids of a group; an unknown or empty group is a user error."""
        if name not in self.groups:
            raise NucleateError(
                f"unknown atom group {name!r}{self._where()}; available groups: {', '.join(self.names) or '(none)'}"
            )
        ids = self.groups[name]
        if ids.size == 0:
            raise NucleateError(f"atom group {name!r}{self._where()} is empty")
        return ids

    def select(self, selection: str | Sequence[int]) -> np.ndarray:
        """A group name, "ids:<ranges>" (escape hatch), or an explicit list of 1-based ids."""
        if isinstance(selection, str):
            if selection.startswith("ids:"):
                ids = parse_id_ranges(selection[4:])
                if ids.size and ids.max() > self.natoms:
                    raise NucleateError(f"selection {selection!r} reaches atom {ids.max()}, but the system has {self.natoms}")
                return ids
            return self[selection]
        ids = np.asarray(list(selection), dtype=np.int64)
        if ids.size == 0:
            raise NucleateError("empty atom selection")
        if ids.min() < 1 or ids.max() > self.natoms:
            raise NucleateError(f"atom ids {ids.min()}-{ids.max()} outside the system's atoms 1-{self.natoms}")
        return ids

    def add(self, name: str, ids: Iterable[int]) -> None:
        self.groups[name] = np.asarray(sorted(int(i) for i in ids), dtype=np.int64)
        self.__post_init__()

    @classmethod
    def from_types(cls, types: Sequence[int], type_map: Sequence[str], source: str = "") -> "Groups":
        """Element groups (one per type-map entry present) from 1-based LAMMPS atom types."""
        types = np.asarray(types, dtype=np.int64)
        groups: dict[str, np.ndarray] = {}
        for index, element in enumerate(type_map, start=1):
            members = np.flatnonzero(types == index) + 1
            if members.size:
                groups[element] = members
        groups["all"] = np.arange(1, types.size + 1)
        return cls(natoms=int(types.size), groups=groups, type_map=list(type_map), source=source)

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "natoms": self.natoms,
            "type_map": list(self.type_map),
            "groups": {name: [int(i) for i in ids] for name, ids in self.groups.items()},
            "molecules": self.molecules,
        }

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def from_dict(cls, data: Mapping, source: str = "") -> "Groups":
        where = check.printable(source) or "groups"
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise NucleateError(f"{where}: not a nucleate groups file (format {found!r}, expected {FORMAT!r})")
        check.no_control_chars_in_document(dict(data), where)
        natoms = check.integer(data.get("natoms"), f"{where}: natoms", at_least=1)
        groups = data.get("groups")
        if not isinstance(groups, Mapping):
            raise NucleateError(f"{where}: groups must map group names to atom id lists, got {groups!r}")
        for name, ids in groups.items():
            check.identifier(name, f"{where}: group name")
            _check_ids(ids, f"{where}: groups.{name}")
        type_map = data.get("type_map", [])
        molecules = data.get("molecules", [])
        if not isinstance(type_map, list) or not isinstance(molecules, list):
            raise NucleateError(f"{where}: type_map and molecules must be lists")
        for index, molecule in enumerate(molecules):
            if not isinstance(molecule, Mapping):
                raise NucleateError(f"{where}: molecules[{index}] must be a mapping with name and atoms")
            _check_ids(molecule.get("atoms", []), f"{where}: molecules[{index}].atoms")
        return cls(natoms=natoms, groups=dict(groups), type_map=list(type_map), molecules=list(molecules),
                   source=source)

    @classmethod
    def read(cls, path: str | Path) -> "Groups":
        path = Path(path)
        where = check.printable(str(path))
        try:
            data = json.loads(path.read_text(), object_pairs_hook=_refuse_duplicate_keys,
                              parse_constant=_refuse_constant)
        except FileNotFoundError:
            raise NucleateError(f"groups file {where} does not exist") from None
        except json.JSONDecodeError as exc:
            raise NucleateError(f"groups file {where} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
        except UnicodeDecodeError as exc:
            raise NucleateError(f"groups file {where} is not a text file (byte {exc.start} is not UTF-8); give the "
                                "groups.json that `nucleate build` or `nucleate import-system` wrote") from None
        except IsADirectoryError:
            raise NucleateError(f"groups file {where} is a directory; give the groups.json inside it") from None
        except _BadJSON as exc:
            raise NucleateError(f"groups file {where}: {exc}") from None
        return cls.from_dict(data, source=str(path))


class _BadJSON(ValueError):
    pass


def _refuse_duplicate_keys(pairs: list) -> dict:
    """json.loads keeps the last of two equal keys silently; a groups file must not say a name twice."""
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise _BadJSON(f"key {key!r} is given twice; each group name may appear only once")
        result[key] = value
    return result


def _refuse_constant(name: str):
    raise _BadJSON(f"{name} is not an atom id")


def _check_ids(ids, where: str) -> None:
    """Atom ids as JSON integers (not booleans, not 1.5, not "7")."""
    if not isinstance(ids, list):
        raise NucleateError(f"{where} must be a list of atom ids, got {ids!r}")
    for value in ids:
        check.integer(value, f"{where}: atom id")
