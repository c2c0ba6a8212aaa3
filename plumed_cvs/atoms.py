"""Atom selections for CV specs: group names, ranges, relational rules, compact PLUMED id lists.

A selector is a small expression over named groups, evaluated once on the starting
configuration (positions in Angstrom from the data file, minimum image):

    Ag                       a group from groups.json
    ids:17-732:6             raw 1-based ids (escape hatch)
    self                     the current atom of an `each:` expansion
    nearest(Ag, other)       the Ag closest to `self` in another molecule
    nearest(S, same)         ... in the same molecule (`any` ignores molecules)
    farthest(Ag)             the Ag farthest from `self`
    Ag + S + N               union (order kept)
    Ag - nearest(Ag, same)   difference

Rules such as "each S with the nearest Ag of another dimer" replace the hand-picked index
pairs of hand-written PLUMED files, and are frozen into ids when the input is rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from nucleate.errors import NucleateError
from nucleate.systems import DataFile, Groups

_RULE = re.compile(r"^(nearest|farthest)\(\s*([^,()]+?)\s*(?:,\s*(same|other|any)\s*)?\)$")
_SCOPES = ("same", "other", "any")


def ordered_ids(ids) -> str:
    """1-based ids in their order (repeats kept) as PLUMED ranges: [13, 19, 25, 13, 19, 25] -> "13-25:6,13-25:6".
    (atoms.compact_ids sorts and drops repeats; a PAIR list must keep both.)"""
    ids = [int(i) for i in ids]
    if not ids:
        raise NucleateError("empty atom list")
    pieces, start = [], 0
    while start < len(ids):
        end = start + 1
        if end < len(ids) and ids[end] > ids[start]:
            stride = ids[end] - ids[start]
            while end + 1 < len(ids) and ids[end + 1] - ids[end] == stride:
                end += 1
            if end - start >= 2:
                pieces.append(f"{ids[start]}-{ids[end]}" + (f":{stride}" if stride != 1 else ""))
                start = end + 1
                continue
        pieces.append(str(ids[start]))
        start += 1
    return ",".join(pieces)


def compact_ids(ids) -> str:
    """1-based ids as PLUMED ranges, e.g. [17, 23, ..., 731] -> "17-731:6".

    Interleaved progressions (methyl H: 14,15,16,20,21,22,...) become one range per
    residue class ("14-728:6,15-729:6,16-730:6") instead of hundreds of short runs.
    """
    remaining = sorted({int(i) for i in ids})
    if not remaining:
        raise NucleateError("empty atom list")
    left = set(remaining)
    pieces: list[tuple[int, str]] = []
    for start in remaining:
        if start not in left:
            continue
        following = [i for i in remaining if i > start and i in left][:8]
        best = [start]
        for nxt in following:
            stride = nxt - start
            run = [start]
            while run[-1] + stride in left:
                run.append(run[-1] + stride)
            if len(run) > len(best):
                best = run
        if len(best) >= 3:
            stride = best[1] - best[0]
            text = f"{best[0]}-{best[-1]}" + (f":{stride}" if stride != 1 else "")
            left.difference_update(best)
        else:
            text = str(start)
            left.discard(start)
        pieces.append((start, text))
    return ",".join(text for _, text in sorted(pieces))


@dataclass
class Structure:
    """What selectors need from the system: groups, starting positions, molecule of each atom."""

    groups: Groups
    data: DataFile

    def __post_init__(self) -> None:
        if self.groups.natoms != self.data.natoms:
            raise NucleateError(
                f"the groups ({self.groups.natoms} atoms{self._src()}) and the data file "
                f"{self.data.path} ({self.data.natoms} atoms) describe different systems"
            )
        self.molecule_of = self._molecule_index()

    def _src(self) -> str:
        return f", {self.groups.source}" if self.groups.source else ""

    def _molecule_index(self) -> np.ndarray:
        """Molecule number of every atom (index = id); atoms in no molecule are their own."""
        index = -np.arange(self.data.natoms + 1)  # unique negative ids for loners
        molecules = [m.get("atoms", []) for m in self.groups.molecules]
        if not molecules:
            k = 1
            while f"mol{k}" in self.groups:
                molecules.append(self.groups.groups[f"mol{k}"])
                k += 1
        for number, atoms in enumerate(molecules, start=1):
            index[np.asarray(atoms, dtype=np.int64)] = number
        return index

    @property
    def has_molecules(self) -> bool:
        return bool(self.groups.molecules) or "mol1" in self.groups

    def vectors(self, origin: int, targets: np.ndarray) -> np.ndarray:
        """Minimum-image vectors (Angstrom) from atom `origin` to `targets` (1-based ids)."""
        delta = self.data.positions[targets - 1] - self.data.positions[origin - 1]
        cell = self.data.cell
        frac = delta @ np.linalg.inv(cell)
        frac -= np.round(frac)
        return frac @ cell

    def centroid(self, ids: np.ndarray) -> np.ndarray:
        """Geometric centre (Angstrom) of atoms, unwrapped around the first one."""
        first = int(ids[0])
        return self.data.positions[first - 1] + self.vectors(first, ids).mean(axis=0)

    def com(self, ids: np.ndarray) -> np.ndarray:
        masses = self.data.masses
        if not masses:
            raise NucleateError(
                f"the data file {self.data.path} has no Masses section, so a centre of mass cannot be "
                "computed; use initial_centroid:GROUP instead"
            )
        weights = np.array([masses[int(t)] for t in self.data.types[ids - 1]])
        first = int(ids[0])
        shift = (self.vectors(first, ids) * weights[:, None]).sum(axis=0) / weights.sum()
        return self.data.positions[first - 1] + shift


def _split_top_level(text: str) -> list[tuple[str, str]]:
    """'Ag - nearest(Ag, same) + S' -> [('+', 'Ag'), ('-', 'nearest(Ag, same)'), ('+', 'S')].

    Operators need spaces around them, so ranges such as ids:1-3 stay one term.
    """
    parts = re.split(r"\s+([+-])\s+", text.strip())
    terms = [("+", parts[0])]
    for sign, term in zip(parts[1::2], parts[2::2]):
        terms.append((sign, term.strip()))
    for _, term in terms:
        if not term or term.count("(") != term.count(")"):
            raise NucleateError(f"cannot read atom selection {text!r} (write 'A + B', 'A - B' with spaces)")
    return terms


def select(structure: Structure, selection, self_id: int | None = None, where: str = "") -> np.ndarray:
    """Evaluate a selector to 1-based ids (order kept, duplicates removed)."""
    if isinstance(selection, (list, tuple)):
        return structure.groups.select([int(i) for i in selection])
    if not isinstance(selection, str) or not selection.strip():
        raise NucleateError(f"{where}: atom selection must be a group name or expression, got {selection!r}")
    result: list[int] = []
    for sign, term in _split_top_level(selection):
        ids = _term(structure, term, self_id, where)
        if sign == "+":
            result.extend(int(i) for i in ids if int(i) not in result)
        else:
            drop = {int(i) for i in ids}
            result = [i for i in result if i not in drop]
    if not result:
        raise NucleateError(f"{where}: atom selection {selection!r} is empty")
    return np.asarray(result, dtype=np.int64)


def _term(structure: Structure, term: str, self_id: int | None, where: str) -> np.ndarray:
    if term == "self":
        if self_id is None:
            raise NucleateError(f"{where}: 'self' is only meaningful inside an `each:` expansion")
        return np.array([self_id])
    match = _RULE.match(term)
    if match:
        return np.array([_relational(structure, match, self_id, where)])
    if term.startswith(("nearest", "farthest")):
        raise NucleateError(f"{where}: cannot read rule {term!r}; write nearest(GROUP, same|other|any) or farthest(GROUP)")
    try:
        return structure.groups.select(term)
    except NucleateError as exc:
        raise NucleateError(f"{where}: {exc}") from None


def _relational(structure: Structure, match: re.Match, self_id: int | None, where: str) -> int:
    kind, group, scope = match.group(1), match.group(2), match.group(3) or "any"
    if self_id is None:
        raise NucleateError(f"{where}: {match.group(0)} needs an `each:` expansion (it is relative to 'self')")
    candidates = select(structure, group, self_id, where)
    candidates = candidates[candidates != self_id]
    if scope != "any":
        if not structure.has_molecules:
            raise NucleateError(
                f"{where}: {match.group(0)} needs molecules, but the groups define none "
                "(no 'molecules' list and no mol1, mol2, ... groups)"
            )
        same = structure.molecule_of[candidates] == structure.molecule_of[self_id]
        candidates = candidates[same if scope == "same" else ~same]
    if candidates.size == 0:
        raise NucleateError(
            f"{where}: no atom of {group!r} qualifies for {match.group(0)} relative to atom {self_id}"
            + (" (every candidate is in its molecule: do the groups define the molecules you mean?)" if scope == "other" else ""))
    distances = np.linalg.norm(structure.vectors(self_id, candidates), axis=1)
    pick = np.argmin(distances) if kind == "nearest" else np.argmax(distances)
    return int(candidates[pick])
