"""Read LAMMPS data files (atom_style atomic; `full`/`charge`/`molecular` columns tolerated).

The reader is deliberately small and strict: it names the file and line it cannot understand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nucleate.errors import NucleateError

_HEADER_KEYS = {
    "atoms": "natoms",
    "atom types": "ntypes",
}
_SECTIONS = {"Atoms", "Masses", "Velocities", "Bonds", "Angles", "Dihedrals", "Impropers",
             "Pair Coeffs", "PairIJ Coeffs", "Bond Coeffs", "Angle Coeffs"}


@dataclass
class DataFile:
    path: Path
    natoms: int
    ntypes: int
    box_lo: np.ndarray            # (3,) Angstrom
    box_hi: np.ndarray            # (3,)
    tilt: np.ndarray              # (3,) xy xz yz
    ids: np.ndarray               # (N,) 1-based
    types: np.ndarray             # (N,) 1-based
    positions: np.ndarray         # (N, 3) Angstrom, ordered by id
    masses: dict[int, float] = field(default_factory=dict)
    atom_style: str = "atomic"

    @property
    def lengths(self) -> np.ndarray:
        return self.box_hi - self.box_lo

    @property
    def cell(self) -> np.ndarray:
        """3x3 cell, rows are the lattice vectors a, b, c (LAMMPS restricted triclinic)."""
        lx, ly, lz = self.lengths
        xy, xz, yz = self.tilt
        return np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])

    @property
    def volume(self) -> float:
        return float(np.prod(self.lengths))

    @property
    def is_triclinic(self) -> bool:
        return bool(np.any(self.tilt != 0.0))


def _fail(path: Path, lineno: int, message: str) -> NucleateError:
    return NucleateError(f"{path}, line {lineno}: {message}")


def read_data(path: str | Path) -> DataFile:
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise NucleateError(f"data file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NucleateError(f"data file {path} cannot be read: {exc}") from None

    header: dict[str, int] = {}
    lo = np.zeros(3)
    hi = np.zeros(3)
    tilt = np.zeros(3)
    masses: dict[int, float] = {}
    atoms_rows: list[tuple[int, list[str]]] = []
    style = "atomic"
    section = None
    for lineno, raw in enumerate(lines[1:], start=2):  # line 1 is a free comment
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line in _SECTIONS:
            section = line
            if section == "Atoms" and "#" in raw:
                style = raw.split("#", 1)[1].strip() or "atomic"
            continue
        if section is None:
            words = line.split()
            key = " ".join(w for w in words if not _is_number(w))
            try:
                if key in _HEADER_KEYS:
                    header[_HEADER_KEYS[key]] = int(words[0])
                elif key in ("xlo xhi", "ylo yhi", "zlo zhi"):
                    axis = "xyz".index(key[0])
                    lo[axis], hi[axis] = float(words[0]), float(words[1])
                elif key == "xy xz yz":
                    tilt[:] = [float(w) for w in words[:3]]
            except ValueError:
                raise _fail(path, lineno, f"cannot read header line {raw.strip()!r}") from None
            continue
        words = line.split()
        if section == "Masses":
            try:
                masses[int(words[0])] = float(words[1])
            except (ValueError, IndexError):
                raise _fail(path, lineno, f"cannot read mass line {raw.strip()!r}") from None
        elif section == "Atoms":
            atoms_rows.append((lineno, words))

    if "natoms" not in header or "ntypes" not in header:
        raise NucleateError(f"{path}: missing 'N atoms' or 'N atom types' in the header; is this a LAMMPS data file?")
    natoms = header["natoms"]
    if len(atoms_rows) != natoms:
        raise NucleateError(f"{path}: header says {natoms} atoms but the Atoms section has {len(atoms_rows)} lines")
    # column layout by atom style: id type [mol] [q] x y z
    offset = {"atomic": 2, "charge": 3, "molecular": 3, "bond": 3, "angle": 3, "full": 4}.get(style.split()[0], 2)
    ids = np.empty(natoms, dtype=np.int64)
    types = np.empty(natoms, dtype=np.int64)
    pos = np.empty((natoms, 3))
    for k, (lineno, words) in enumerate(atoms_rows):
        try:
            ids[k] = int(words[0])
            types[k] = int(words[1])
            pos[k] = [float(w) for w in words[offset:offset + 3]]
        except (ValueError, IndexError):
            raise _fail(path, lineno, f"cannot read atom line {' '.join(words)!r} as atom_style {style}") from None
        if not 1 <= types[k] <= header["ntypes"]:
            raise _fail(path, lineno, f"atom {ids[k]} has type {types[k]}, outside 1-{header['ntypes']}")
    order = np.argsort(ids)
    ids, types, pos = ids[order], types[order], pos[order]
    if not np.array_equal(ids, np.arange(1, natoms + 1)):
        raise NucleateError(f"{path}: atom ids must be 1..{natoms} without gaps (PLUMED needs consecutive ids)")
    return DataFile(path=path, natoms=natoms, ntypes=header["ntypes"], box_lo=lo, box_hi=hi, tilt=tilt,
                    ids=ids, types=types, positions=pos, masses=masses, atom_style=style)


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def write_data(path: str | Path, positions, types, box, masses, type_map, *, tilt=(0.0, 0.0, 0.0),
               box_lo=(0.0, 0.0, 0.0), comment: str = "") -> Path:
    """Write an atom_style atomic data file; returns its path.

    positions: (N, 3) A, written in the order given with ids 1..N.  types: (N,) 1-based, indexing
    type_map.  box: (3,) edge lengths in A (box from box_lo to box_lo + box).  masses: g/mol, a
    mapping element -> mass or a sequence in type-map order.  All types of the map are declared,
    so a DeePMD model sees the same type numbering in every system.  Written to a temporary
    file first and renamed, so a reader never sees half a file.
    """
    path = Path(path)
    positions = np.asarray(positions, dtype=float)
    types = np.asarray(types, dtype=np.int64)
    box = np.asarray(box, dtype=float)
    lo = np.asarray(box_lo, dtype=float)
    type_map = list(type_map)
    if positions.ndim != 2 or positions.shape[1] != 3 or positions.shape[0] != types.size:
        raise NucleateError(f"write_data({path}): {positions.shape} positions for {types.size} types")
    if types.size and (types.min() < 1 or types.max() > len(type_map)):
        raise NucleateError(f"write_data({path}): atom types {types.min()}-{types.max()} outside the type map {type_map}")
    if isinstance(masses, dict):
        missing = [el for el in type_map if el not in masses]
        if missing:
            raise NucleateError(f"write_data({path}): no mass for {', '.join(missing)}")
        mass_list = [float(masses[el]) for el in type_map]
    else:
        mass_list = [float(m) for m in masses]
        if len(mass_list) != len(type_map):
            raise NucleateError(f"write_data({path}): {len(mass_list)} masses for {len(type_map)} types")
    lines = [comment.replace("\n", " ") or "LAMMPS data file written by nucleate", "",
             f"{types.size} atoms", f"{len(type_map)} atom types", ""]
    for axis, name in enumerate("xyz"):
        lines.append(f"{lo[axis]:.10f} {lo[axis] + box[axis]:.10f} {name}lo {name}hi")
    if np.any(np.asarray(tilt, dtype=float) != 0.0):
        lines.append("{:.10f} {:.10f} {:.10f} xy xz yz".format(*tilt))
    lines += ["", "Masses", ""]
    lines += [f"{k} {m:.6f}  # {el}" for k, (el, m) in enumerate(zip(type_map, mass_list), start=1)]
    lines += ["", "Atoms # atomic", ""]
    lines += [f"{i} {t} {x:.8f} {y:.8f} {z:.8f}" for i, (t, (x, y, z)) in enumerate(zip(types, positions), start=1)]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)
    return path
