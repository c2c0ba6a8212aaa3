"""Molecule records, periodic neighbour search and the group naming convention.

Group names (shared with the CV library and analysis): element groups, `all`, `solute`,
`solvent`, `solvent_<El>`, `solvent_HO` (hydroxyl H), `solvent_HC` (H on C), and per solute
molecule k = 1, 2, ... in order of first atom id `mol{k}` and `mol{k}_<El>`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nucleate.errors import NucleateError
# minimum_image is imported from here by systems.recognise as well
from nucleate.geometry import minimum_image, wrap

from .groups import Groups


@dataclass
class MoleculeRecord:
    name: str
    atoms: np.ndarray        # 1-based atom ids, ascending
    solvent: bool = False

    def to_dict(self) -> dict:
        return {"name": self.name, "atoms": [int(i) for i in self.atoms]}


def close_pairs(positions: np.ndarray, box: np.ndarray | None, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) closer than cutoff (A) under periodic boundaries, and their distances."""
    from scipy.spatial import cKDTree

    if box is not None:
        box = np.asarray(box, dtype=float)
        if cutoff >= 0.5 * box.min():
            raise NucleateError(f"pair cut-off {cutoff} A exceeds half the smallest box edge {box.min()} A")
        tree = cKDTree(wrap(positions, box), boxsize=box)
    else:
        tree = cKDTree(positions)
    pairs = tree.query_pairs(cutoff, output_type="ndarray")
    if len(pairs) == 0:
        return np.empty((0, 2), dtype=np.int64), np.empty(0)
    delta = positions[pairs[:, 1]] - positions[pairs[:, 0]]
    if box is not None:
        delta = minimum_image(delta, box)
    return pairs, np.linalg.norm(delta, axis=1)


def closest_intermolecular(positions: np.ndarray, box: np.ndarray, molecule_index: np.ndarray,
                           search: float = 4.0) -> tuple[float, int, int]:
    """Shortest distance (A) between atoms of different molecules under periodic boundaries.

    Returns (distance, i, j) with 0-based atom indices; (inf, -1, -1) if none within `search`.
    """
    pairs, dist = close_pairs(positions, box, min(search, 0.49 * float(np.min(box))))
    inter = molecule_index[pairs[:, 0]] != molecule_index[pairs[:, 1]]
    if not inter.any():
        return float("inf"), -1, -1
    k = int(np.argmin(np.where(inter, dist, np.inf)))
    return float(dist[k]), int(pairs[k, 0]), int(pairs[k, 1])


def _hydrogen_partner(elements: list[str], positions: np.ndarray, box, atoms: np.ndarray, h: int) -> str:
    heavy = [a for a in atoms if elements[a] != "H"]
    if not heavy:
        return ""
    delta = positions[heavy] - positions[h]
    if box is not None:
        delta = minimum_image(delta, box)
    return elements[heavy[int(np.argmin(np.linalg.norm(delta, axis=1)))]]


def make_groups(elements, positions, box, molecules: list[MoleculeRecord], type_map, source: str = "") -> Groups:
    """Groups following the naming convention above (ids 1-based; positions in A)."""
    elements = list(elements)
    type_index = {el: k for k, el in enumerate(type_map, start=1)}
    missing = sorted(set(elements) - set(type_index))
    if missing:
        raise NucleateError(f"the type map {','.join(type_map)} lacks {', '.join(missing)}, present in the system; "
                            "add it to the type map")
    types = np.array([type_index[el] for el in elements], dtype=np.int64)
    groups = Groups.from_types(types, list(type_map), source=source)
    molecules = sorted(molecules, key=lambda m: int(m.atoms[0]))
    solvent = np.concatenate([m.atoms for m in molecules if m.solvent] or [np.empty(0, np.int64)]).astype(np.int64)
    is_solvent = np.zeros(len(elements), dtype=bool)
    is_solvent[solvent - 1] = True
    solute = np.flatnonzero(~is_solvent) + 1
    if molecules and solute.size:
        groups.add("solute", solute)
    if solvent.size:
        groups.add("solvent", solvent)
        for el in dict.fromkeys(elements[i - 1] for i in sorted(solvent)):
            groups.add(f"solvent_{el}", [i for i in solvent if elements[i - 1] == el])
        hydroxyl, on_carbon = [], []
        for mol in (m for m in molecules if m.solvent):
            for atom in mol.atoms - 1:
                if elements[atom] == "H":
                    partner = _hydrogen_partner(elements, positions, box, mol.atoms - 1, atom)
                    (hydroxyl if partner == "O" else on_carbon if partner == "C" else []).append(atom + 1)
        if hydroxyl:
            groups.add("solvent_HO", hydroxyl)
        if on_carbon:
            groups.add("solvent_HC", on_carbon)
    for k, mol in enumerate((m for m in molecules if not m.solvent), start=1):
        groups.add(f"mol{k}", mol.atoms)
        for el in dict.fromkeys(elements[i - 1] for i in mol.atoms):
            groups.add(f"mol{k}_{el}", [i for i in mol.atoms if elements[i - 1] == el])
    groups.molecules = [m.to_dict() for m in molecules]
    return groups
