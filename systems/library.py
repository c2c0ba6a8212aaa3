"""The molecule library: named geometries read from systems/molecules/*.xyz, with provenance.

Each file's comment line is a JSON object saying where the geometry came from (the rules it was
built from, the potential it was relaxed with); systems/molecules/build_geometries.py makes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from nucleate.errors import NucleateError

from .elements import VDW_RADII, mass

MOLECULE_DIR = Path(__file__).resolve().parent / "molecules"


@dataclass(frozen=True)
class Molecule:
    name: str
    elements: tuple[str, ...]
    positions: np.ndarray            # (n, 3) A, centred on the centre of geometry
    provenance: dict = field(default_factory=dict)

    @property
    def natoms(self) -> int:
        return len(self.elements)

    @property
    def mass(self) -> float:
        """g/mol"""
        return float(sum(mass(el) for el in self.elements))

    @property
    def is_solvent(self) -> bool:
        return bool(self.provenance.get("solvent", False))

    @property
    def radius(self) -> float:
        """Largest atom distance from the centre of geometry plus that atom's vdW radius (A)."""
        reach = np.linalg.norm(self.positions, axis=1) + np.array([VDW_RADII.get(el, 1.5) for el in self.elements])
        return float(reach.max())

    def formula(self) -> str:
        return hill_formula(self.elements)


def hill_formula(elements) -> str:
    counts: dict[str, int] = {}
    for el in elements:
        counts[el] = counts.get(el, 0) + 1
    order = (["C", "H"] if "C" in counts else []) + sorted(el for el in counts if not ("C" in counts and el in "CH"))
    return "".join(f"{el}{counts[el] if counts[el] > 1 else ''}" for el in order)


def molecule_names() -> list[str]:
    return sorted(p.stem for p in MOLECULE_DIR.glob("*.xyz"))


@lru_cache(maxsize=None)
def molecule(name: str) -> Molecule:
    path = MOLECULE_DIR / f"{name}.xyz"
    if not path.is_file():
        raise NucleateError(f"unknown molecule {name!r}; the library has: {', '.join(molecule_names())}")
    lines = path.read_text().splitlines()
    try:
        natoms = int(lines[0])
        provenance = json.loads(lines[1]) if lines[1].strip().startswith("{") else {"source": lines[1].strip()}
        rows = [line.split() for line in lines[2:2 + natoms]]
        elements = tuple(row[0] for row in rows)
        positions = np.array([[float(v) for v in row[1:4]] for row in rows])
    except (ValueError, IndexError) as exc:
        raise NucleateError(f"molecule file {path} is not a valid xyz file ({exc})") from None
    if positions.shape != (natoms, 3):
        raise NucleateError(f"molecule file {path}: header says {natoms} atoms, found {len(positions)}")
    return Molecule(name=name, elements=elements, positions=positions - positions.mean(axis=0), provenance=provenance)


@lru_cache(maxsize=None)
def vdw_volume(name: str, spacing: float = 0.1) -> float:
    """Volume (A^3) of the union of the molecule's Bondi vdW spheres, counted on a grid."""
    from scipy.spatial import cKDTree

    mol = molecule(name)
    radii = np.array([VDW_RADII.get(el, 1.5) for el in mol.elements])
    lo = mol.positions.min(axis=0) - radii.max()
    hi = mol.positions.max(axis=0) + radii.max()
    axes = [np.arange(a + spacing / 2, b, spacing) for a, b in zip(lo, hi)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    inside = np.zeros(len(grid), dtype=bool)
    tree = cKDTree(grid)
    for centre, r in zip(mol.positions, radii):
        inside[tree.query_ball_point(centre, r)] = True
    return float(inside.sum() * spacing**3)
