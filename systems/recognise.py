"""Recognise molecules in a bare configuration from its bonding (used by import_data).

Covalent fragments come from element-pair bond cut-offs (elements.bond_cutoff) under periodic
boundaries.  CH4O is methanol; CH2NS is the ligand L = S-CH=NH.  Silver joins ligands through
Ag-S bonds: each Ag is matched to one ligand S (an AgL unit), choosing among equally plausible
matchings the one that makes the most staple pairs (Ag_a bound to N of b's ligand and Ag_b to N
of a's).  AgL units are then grouped into Ag2L2 dimers or Ag6L6 clusters as the requested level
(or composition) demands.  Anything else becomes a molecule named by its Hill formula.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from nucleate.errors import NucleateError

from .elements import METALS, bond_cutoff
from .library import hill_formula
from .topology import MoleculeRecord, close_pairs, minimum_image

AG_S_BOND = 3.0     # A; Ag-S 2.39-2.74 in the authors' files, 2.54 KDE maximum in the paper
AG_N_BOND = 2.7     # A; Ag-N 2.05-2.45 bonded, own-ligand Ag...N 3.3-3.4
AG_AG_CONTACT = 3.5  # A; Ag-Ag 2.89-3.19 in the authors' proto-octahedron
SOLVENTS = {"CH4O": "methanol", "H2O": "water"}
LIGAND_FORMULA = "CH2NS"
LEVELS = ("auto", "AgL", "Ag2L2", "Ag6L6")
_MAX_MATCHINGS = 2000


@dataclass
class _Unit:
    """One Ag (or none) with one ligand; atoms are 0-based indices."""
    ag: int
    ligand: np.ndarray
    s: int
    n: int


def covalent_fragments(elements: list[str], positions: np.ndarray, box) -> list[np.ndarray]:
    """Connected components of the covalent bond graph of the non-metal atoms (0-based)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nonmetal = np.array([el not in METALS for el in elements])
    idx = np.flatnonzero(nonmetal)
    kinds = sorted({elements[i] for i in idx})
    longest = max((bond_cutoff(a, b) for a in kinds for b in kinds), default=0.0)
    pairs, dist = close_pairs(positions[idx], box, max(longest, 0.1))
    if len(pairs):
        limits = np.array([bond_cutoff(elements[idx[i]], elements[idx[j]]) for i, j in pairs])
        pairs = pairs[dist < limits]
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(idx.size, idx.size))
    count, labels = connected_components(graph, directed=False)
    return [idx[labels == k] for k in range(count)]


def _distance(positions, box, i, j) -> float:
    delta = positions[j] - positions[i]
    return float(np.linalg.norm(minimum_image(delta, box) if box is not None else delta))


def _ligand_atoms(elements, fragment) -> tuple[int, int]:
    s = next(i for i in fragment if elements[i] == "S")
    n = next(i for i in fragment if elements[i] == "N")
    return s, n


def _match_silver(ags: list[int], ligands: list[np.ndarray], elements, positions, box) -> dict[int, int]:
    """Ag index -> ligand number, maximising (matched, staple pairs, -sum of Ag-S distances)."""
    from scipy.optimize import linear_sum_assignment

    if not ags or not ligands:
        return {}
    sn = [_ligand_atoms(elements, lig) for lig in ligands]
    d_s = np.array([[_distance(positions, box, a, s) for s, _ in sn] for a in ags])
    binds_n = np.array([[_distance(positions, box, a, n) < AG_N_BOND for _, n in sn] for a in ags])
    candidates = d_s < AG_S_BOND

    def score(assign: dict[int, int]) -> tuple:
        owner = {lig: a for a, lig in assign.items()}
        staples = 0
        for a, lig in assign.items():
            for other_lig in np.flatnonzero(binds_n[a]):
                b = owner.get(int(other_lig))
                if b is not None and b != a and binds_n[b, lig]:
                    staples += 1
        return (len(assign), staples, -sum(d_s[a, lig] for a, lig in assign.items()))

    # start: the matching of shortest total Ag-S distance among bonded pairs
    cost = np.where(candidates, d_s, 1e6)
    rows, cols = linear_sum_assignment(cost)
    best = {int(r): int(c) for r, c in zip(rows, cols) if candidates[r, c]}
    # improve component by component of the Ag-S graph (alternative matchings are few and local)
    components = _bipartite_components(candidates)
    improved = True
    while improved:
        improved = False
        for ag_rows, lig_cols in components:
            for alternative in itertools.islice(_matchings(ag_rows, lig_cols, candidates), _MAX_MATCHINGS):
                trial = {a: l for a, l in best.items() if a not in ag_rows}
                trial.update(alternative)
                if score(trial) > score(best):
                    best, improved = trial, True
    return {ags[a]: lig for a, lig in best.items()}


def _bipartite_components(candidates: np.ndarray) -> list[tuple[list[int], list[int]]]:
    from scipy.sparse import bmat, csr_matrix
    from scipy.sparse.csgraph import connected_components

    na, nl = candidates.shape
    adj = csr_matrix(candidates.astype(float))
    graph = bmat([[None, adj], [adj.T, None]])
    _, labels = connected_components(graph, directed=False)
    out = []
    for label in np.unique(labels):
        ag_rows = [int(i) for i in np.flatnonzero(labels[:na] == label)]
        lig_cols = [int(j) for j in np.flatnonzero(labels[na:] == label)]
        if ag_rows and lig_cols and (len(ag_rows) > 1 or len(lig_cols) > 1):
            out.append((ag_rows, lig_cols))
    return out


def _matchings(ag_rows, lig_cols, candidates):
    """All maximal one-to-one Ag -> ligand choices within one component."""
    def extend(k, used, chosen):
        if k == len(ag_rows):
            yield dict(chosen)
            return
        a = ag_rows[k]
        options = [l for l in lig_cols if candidates[a, l] and l not in used]
        for l in options:
            chosen[a] = l
            yield from extend(k + 1, used | {l}, chosen)
            del chosen[a]
        if not options:
            yield from extend(k + 1, used, chosen)
    yield from extend(0, frozenset(), {})


def _pair_units(units: list[_Unit], positions, box, require_staple: bool) -> list[list[int]]:
    """Groups of unit numbers: staple-bonded pairs first, then (if not require_staple) nearest Ag-Ag."""
    def n_bonds(u, v):
        return int(_distance(positions, box, u.ag, v.n) < AG_N_BOND) + int(_distance(positions, box, v.ag, u.n) < AG_N_BOND)

    candidates = []
    for i, j in itertools.combinations(range(len(units)), 2):
        bonds = n_bonds(units[i], units[j])
        d_agag = _distance(positions, box, units[i].ag, units[j].ag)
        if bonds == 2 or not require_staple:
            candidates.append((-bonds, d_agag, i, j))
    paired: set[int] = set()
    out = []
    for _, _, i, j in sorted(candidates):
        if i not in paired and j not in paired:
            paired |= {i, j}
            out.append([i, j])
    out += [[i] for i in range(len(units)) if i not in paired]
    return out


def _clusters_of_six(units: list[_Unit], positions, box, require_octahedron: bool) -> list[list[int]] | None:
    """Units whose Ag atoms touch (Ag-Ag < AG_AG_CONTACT), grouped; None if not all groups have six."""
    from scipy.sparse.csgraph import connected_components

    n = len(units)
    contact = np.zeros((n, n), dtype=bool)
    for i, j in itertools.combinations(range(n), 2):
        contact[i, j] = contact[j, i] = _distance(positions, box, units[i].ag, units[j].ag) < AG_AG_CONTACT
    _, labels = connected_components(contact, directed=False)
    groups = [list(np.flatnonzero(labels == k)) for k in np.unique(labels)]
    result = []
    for members in groups:
        edges = int(contact[np.ix_(members, members)].sum() // 2)
        if len(members) == 6 and (edges >= 12 or not require_octahedron):
            result.append(members)
        elif not require_octahedron:
            return None
    return result


def recognise(elements, positions, box, level: str = "auto") -> list[MoleculeRecord]:
    """Molecules of a configuration (positions in A, box edge lengths in A or None).

    level: "AgL" keeps AgL units, "Ag2L2" pairs them into dimers, "Ag6L6" groups six touching
    units into clusters, "auto" pairs staple-bonded units and names octahedral clusters Ag6L6.
    """
    if level not in LEVELS:
        raise NucleateError(f"unknown recognition level {level!r}; choose one of {', '.join(LEVELS)}")
    elements = list(elements)
    positions = np.asarray(positions, dtype=float)
    box = None if box is None else np.asarray(box, dtype=float)
    fragments = covalent_fragments(elements, positions, box)
    records: list[MoleculeRecord] = []
    ligands = []
    for frag in fragments:
        formula = hill_formula(elements[i] for i in frag)
        if formula == LIGAND_FORMULA:
            ligands.append(frag)
        elif formula in SOLVENTS:
            records.append(MoleculeRecord(SOLVENTS[formula], np.sort(frag) + 1, solvent=True))
        else:
            records.append(MoleculeRecord(formula, np.sort(frag) + 1))
    ags = [i for i, el in enumerate(elements) if el == "Ag"]
    owner = _match_silver(ags, ligands, elements, positions, box)
    units = []
    for ag, lig in owner.items():
        s, n = _ligand_atoms(elements, ligands[lig])
        units.append(_Unit(ag=ag, ligand=ligands[lig], s=s, n=n))
    for k, lig in enumerate(ligands):
        if k not in owner.values():
            records.append(MoleculeRecord("L", np.sort(lig) + 1))
    for ag in ags:
        if ag not in owner:
            records.append(MoleculeRecord("Ag", np.array([ag + 1])))

    groups = [[i] for i in range(len(units))]
    if level in ("Ag6L6", "auto"):
        clusters = _clusters_of_six(units, positions, box, require_octahedron=(level == "auto"))
        if clusters is None and level == "Ag6L6":
            groups = None
        elif clusters:
            in_cluster = {i for c in clusters for i in c}
            rest = [i for i in range(len(units)) if i not in in_cluster]
            paired = _pair_units([units[i] for i in rest], positions, box, require_staple=True)
            groups = clusters + [[rest[i] for i in p] for p in paired]
        elif level == "auto":
            groups = _pair_units(units, positions, box, require_staple=True)
    elif level == "Ag2L2":
        groups = _pair_units(units, positions, box, require_staple=False)
    if groups is None:
        raise NucleateError("the AgL units do not form clusters of six touching units; cannot name Ag6L6 molecules")
    names = {1: "AgL", 2: "Ag2L2", 6: "Ag6L6"}
    for members in groups:
        atoms = np.sort(np.concatenate([[units[i].ag] for i in members] + [units[i].ligand for i in members])) + 1
        records.append(MoleculeRecord(names.get(len(members), f"Ag{len(members)}L{len(members)}"), atoms))
    return sorted(records, key=lambda m: int(m.atoms[0]))


def composition(records: list[MoleculeRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for rec in records:
        counts[rec.name] = counts.get(rec.name, 0) + 1
    return counts


def recognise_composition(elements, positions, box, expected: dict[str, int]) -> list[MoleculeRecord]:
    """The first recognition level whose molecule counts include `expected` (name -> count)."""
    found = {}
    for level in LEVELS:
        try:
            records = recognise(elements, positions, box, level)
        except NucleateError:
            continue
        counts = composition(records)
        if all(counts.get(name, 0) == count for name, count in expected.items()):
            return records
        found[level] = counts
    described = "; ".join(f"{lvl}: " + ", ".join(f"{v} {k}" for k, v in c.items()) for lvl, c in found.items())
    wanted = ", ".join(f"{v} {k}" for k, v in expected.items())
    raise NucleateError(f"cannot recognise {wanted} in this configuration; recognised instead {described}")
