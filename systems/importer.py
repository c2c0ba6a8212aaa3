"""Import an existing LAMMPS data file as a system: elements from a type map, molecules from bonding."""

from __future__ import annotations

import shutil
import tempfile
import os
from pathlib import Path


from nucleate.errors import NucleateError

from .elements import element_of_mass, mass
from .groups import Groups
from .lammps_data import DataFile, read_data, write_data
from .recognise import recognise, recognise_composition
from .topology import make_groups


def parse_type_map(type_map) -> list[str] | None:
    if type_map is None:
        return None
    if isinstance(type_map, str):
        type_map = [t.strip() for t in type_map.split(",") if t.strip()]
    return list(type_map)


def infer_type_map(data: DataFile) -> list[str]:
    """Element per type from the data file's masses; without masses that name every type, an error
    asking for the type map (a guessed order would mislabel atoms silently)."""
    types = range(1, data.ntypes + 1)
    if data.masses and all(t in data.masses for t in types):
        guessed = [element_of_mass(data.masses[t]) for t in types]
        if all(guessed):
            return guessed
        why = "types " + ", ".join(str(t) for t, el in zip(types, guessed) if not el) + " have masses of no known element"
    elif data.masses:
        why = "no mass for types " + ", ".join(str(t) for t in types if t not in data.masses)
    else:
        why = "it has no Masses section"
    raise NucleateError(f"{data.path}: cannot tell the elements of its {data.ntypes} atom types ({why}); give them in "
                        "type order with --type-map, e.g. --type-map C,H,O")


def import_data(path, type_map=None, level: str = "auto", composition: dict[str, int] | None = None
                ) -> tuple[DataFile, Groups]:
    """Read a data file and name its atom groups (1-based ids, naming convention of topology.py).

    type_map: elements in type order ("Ag,S,N,C,H,O" or a list); default: from the masses (an
    error when they do not name every type).  level / composition: see recognise.recognise and recognise_composition.
    Molecule recognition never makes this fail without a composition: if it cannot work, the
    groups still hold the element groups and `all`.
    """
    data = read_data(path)
    type_map = parse_type_map(type_map) or infer_type_map(data)
    if data.ntypes > len(type_map) or (data.types.size and data.types.max() > len(type_map)):
        raise NucleateError(f"{path}: {data.ntypes} atom types but the type map {','.join(type_map)} names only "
                            f"{len(type_map)}; give one element per type")
    elements = [type_map[t - 1] for t in data.types]
    box = None if data.is_triclinic else data.lengths  # recognition uses orthorhombic minimum images only
    if composition:
        records = recognise_composition(elements, data.positions - data.box_lo, box, composition)
        return data, make_groups(elements, data.positions, box, records, type_map, source=str(path))
    try:
        records = recognise(elements, data.positions - data.box_lo, box, level)
        groups = make_groups(elements, data.positions, box, records, type_map, source=str(path))
    except NucleateError as exc:
        if "type map" in str(exc):
            raise
        groups = Groups.from_types(data.types, type_map, source=str(path))
    return data, groups


def import_system(path, outdir, type_map=None, level: str = "auto", composition=None, overwrite: bool = False
                  ) -> tuple[Path, Path, Groups]:
    """import_data, then write outdir/system.data (with masses) and outdir/groups.json atomically."""
    data, groups = import_data(path, type_map, level, composition)
    type_map = groups.type_map
    outdir = Path(outdir)
    if outdir.exists() and any(outdir.iterdir()) and not overwrite:
        raise NucleateError(f"output folder {outdir} exists and is not empty; choose another or overwrite it (--force)")
    masses = [data.masses.get(t, mass(el)) if data.masses else mass(el) for t, el in enumerate(type_map, start=1)]
    outdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.importing-", dir=outdir.parent))
    try:
        write_data(tmp / "system.data", data.positions, data.types, data.lengths, masses, type_map,
                   tilt=data.tilt, box_lo=data.box_lo, comment=f"imported by nucleate from {Path(path).resolve()}")
        groups.source = str(outdir / "groups.json")
        groups.write(tmp / "groups.json")
        if not outdir.exists():
            os.replace(tmp, outdir)
        else:
            for name in ("system.data", "groups.json"):
                os.replace(tmp / name, outdir / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return outdir / "system.data", outdir / "groups.json", groups
