"""CV building blocks: each `cvs:` entry becomes PLUMED actions through a Jinja fragment.

Types (lengths in the input's length unit, angles in radians):

  fixed_point          at: box_centre | [x, y, z] | initial_centroid:SEL | initial_com:SEL
  com                  atoms: SEL                     (COM virtual atom, moves with the atoms)
  coordination         a: SEL, b: SEL (optional: pairs within a), r0, d0=0, nn=6, mm=2*nn,
                       nlist: {cutoff, stride} (optional; pairs beyond cutoff count 0), pbc: true,
                       sum: true (with each: and one atom in a and b per member: the family's
                       sum as one value from one COORDINATION ... PAIR, not one action each)
  solvent_count        group: SEL, point: POINT, r0, d0, nn, mm, nlist  (alias coordination_point)
  combine              args: [CV...], coefficients: [...] (default all 1)
  distance             atoms: [A, B]
  displacement         atoms: [A, B] -> name.x, name.y, name.z (restrain these to hold A on B)
  angle                atoms: [A, B, C]    (angle at B)
  lowest_coordination  a: SEL, b: SEL, r0, d0, nn, mm   (COORDINATIONNUMBER ... LOWEST)
  min_distance         a: SEL, b: SEL (omit b: distinct pairs within a), beta=20, pbc
                       (DISTANCES ... MIN={BETA=...}; PLUMED sets up one DISTANCE per pair,
                       so keep the groups small)

POINT is the name of a fixed_point/com CV, or any `at:` form above, or com:SEL.
coordination, distance and angle take `each: SEL`: one CV per atom of SEL (family name_1,
name_2, ...; `self` is that atom); `unique: true` drops repeats of the same atom set.
A family name stands for all its members in combine/walls/print.
Every CV takes `comment`, `print` (default true) and `range: [lo, hi]` (for bias grids).

The rational switching function is PLUMED's s(r) = (1 - x^nn) / (1 - x^mm), x = (r - d0)/r0,
with PLUMED's defaults nn = 6, mm = 2*nn, d0 = 0. With this (R_0/NN/MM) syntax PLUMED also
sets d_max = d0 + r0 * 1e-5^(1/(nn - mm)) and stretches the function to
(s(r) - s(d_max)) / (1 - s(d_max)), so it is exactly 0 beyond d_max; the values differ from
the textbook formula by about 1e-5 (tested in tests/test_cvs_switching.py).
"""

from __future__ import annotations

import math

from nucleate.errors import NucleateError

from .atoms import ordered_ids
from .builder import InputBuilder
from .schema import check_keys, comment, flag, integer, label, number, numbers, require

_COMMON = {"name", "type", "comment", "print", "range"}
_SWITCH = {"r0", "d0", "nn", "mm"}


def add_cv(builder: InputBuilder, spec: dict, index: int) -> None:
    where = f"plumed.cvs[{index}]"
    if not isinstance(spec, dict):
        raise NucleateError(f"{where}: each CV is a mapping with at least name and type, got {spec!r}")
    name = label(require(spec, "name", where), where)
    where = f"plumed.cvs[{index}] ({name})"
    kind = require(spec, "type", where)
    handler = HANDLERS.get(kind)
    if handler is None:
        raise NucleateError(f"{where}: unknown CV type {kind!r}; known: {', '.join(sorted(HANDLERS))}")
    builder.claim(name, where)
    _check_common(spec, where)
    handler(builder, spec, name, where)
    if "range" in spec and spec["range"] is not None:
        lo, hi = numbers(spec["range"], 2, f"{where}.range")
        if not hi > lo:
            raise NucleateError(f"{where}.range must be [low, high] with high > low, got {spec['range']!r}")
        for member in builder.expand(name, where) if name not in builder.points else []:
            builder.values[member].bounds = (lo, hi)


def _check_common(spec: dict, where: str) -> None:
    """Keys most CV types share: a one-line comment, and true/false switches (never "no" as text)."""
    comment(spec, where)
    for key in ("print", "pbc", "unique"):
        flag(spec, key, where, default=True)


# ---- points ---------------------------------------------------------------------------
def _fixed_point(builder: InputBuilder, spec: dict, name: str, where: str) -> None:
    check_keys(spec, _COMMON | {"at"}, where)
    position, how = _point_position(builder, require(spec, "at", where), where)
    builder.points[name] = how
    builder.emit("point.j2", comment=spec.get("comment") or f"fixed point: {how}",
                 label=name, action="FIXEDATOM", at=position, atoms=None)


def _point_position(builder: InputBuilder, at, where: str):
    """Coordinates in the input's length unit, and a sentence saying where they come from."""
    structure = builder.structure
    if isinstance(at, (list, tuple)):
        xyz = numbers(at, 3, f"{where}.at")
        return xyz, f"given coordinates ({builder.length_unit})"
    if at in ("box_centre", "box_center"):
        data = structure.data
        centre_A = data.box_lo + data.cell.sum(axis=0) / 2
        return [builder.from_angstrom(c) for c in centre_A], "centre of the simulation box"
    for prefix, method in (("initial_centroid:", structure.centroid), ("initial_com:", structure.com)):
        if isinstance(at, str) and at.startswith(prefix):
            selection = at[len(prefix):]
            ref, size = builder.atoms(selection, where)
            ids = builder.each_ids(selection, where)
            centre_A = method(ids)
            what = "geometric centre" if prefix.startswith("initial_centroid") else "centre of mass"
            return ([builder.from_angstrom(c) for c in centre_A],
                    f"{what} of {selection} ({size} atoms) in the starting configuration")
    raise NucleateError(
        f"{where}.at: cannot read {at!r}; use box_centre, [x, y, z], initial_centroid:GROUP or initial_com:GROUP"
    )


def _com(builder: InputBuilder, spec: dict, name: str, where: str) -> None:
    check_keys(spec, _COMMON | {"atoms"}, where)
    selection = require(spec, "atoms", where)
    atoms, size = builder.atoms(selection, where)
    builder.points[name] = f"centre of mass of {selection}"
    builder.emit("point.j2", comment=spec.get("comment") or f"centre of mass of {selection} ({size} atoms), moves with them",
                 label=name, action="COM", at=None, atoms=atoms)


def point_ref(builder: InputBuilder, point, owner: str, where: str) -> str:
    """A point given by name, or defined inline (created as <owner>_point)."""
    if isinstance(point, str) and point in builder.points:
        return point
    if isinstance(point, str) and point.startswith("com:"):
        point_label = builder.claim(f"{owner}_point", where)
        _com(builder, {"atoms": point[4:]}, point_label, where)
        return point_label
    if isinstance(point, (list, tuple)) or (isinstance(point, str) and (point.startswith("initial_") or point.startswith("box_cent"))):
        point_label = builder.claim(f"{owner}_point", where)
        _fixed_point(builder, {"at": point}, point_label, where)
        return point_label
    raise NucleateError(
        f"{where}.point: {point!r} is neither a defined point ({', '.join(builder.points) or 'none defined'}) "
        "nor box_centre, [x, y, z], initial_centroid:GROUP, initial_com:GROUP or com:GROUP"
    )


# ---- switching-function CVs --------------------------------------------------------------
def switching(spec: dict, where: str, builder: InputBuilder) -> dict:
    r0 = number(require(spec, "r0", where), f"{where}.r0", above=0)
    d0 = number(spec.get("d0", 0.0), f"{where}.d0", at_least=0)
    nn = integer(spec.get("nn", 6), f"{where}.nn", at_least=1)
    mm = integer(spec.get("mm", 0), f"{where}.mm", at_least=0) or 2 * nn
    if mm == nn:
        raise NucleateError(f"{where}: nn and mm must differ (the rational function is singular for nn == mm)")
    return {"r0": r0, "d0": d0, "nn": nn, "mm": mm, "unit": builder.length_unit}


def _nlist(spec: dict, switch: dict, where: str):
    nlist = spec.get("nlist")
    if not nlist:
        return None
    check_keys(nlist, {"cutoff", "stride"}, f"{where}.nlist")
    cutoff = number(require(nlist, "cutoff", f"{where}.nlist"), f"{where}.nlist.cutoff", above=switch["r0"] + switch["d0"])
    stride = integer(nlist.get("stride", 10), f"{where}.nlist.stride", at_least=1)
    return {"cutoff": cutoff, "stride": stride}


def _coordination(builder: InputBuilder, spec: dict, name: str, where: str) -> None:
    check_keys(spec, _COMMON | _SWITCH | {"a", "b", "nlist", "pbc", "each", "unique", "sum"}, where)
    switch = switching(spec, where, builder)
    nlist = _nlist(spec, switch, where)
    pbc = bool(spec.get("pbc", True))
    if flag(spec, "sum", where, default=False):
        _pair_sum(builder, spec, name, where, switch, nlist, pbc)
        return
    rows = []
    for member, self_id in _instances(builder, spec, name, where):
        a, na = builder.atoms(require(spec, "a", where), where, self_id)
        b, nb = builder.atoms(spec["b"], where, self_id) if spec.get("b") is not None else (None, 0)
        pairs = na * nb if b else na * (na - 1) // 2
        if pairs == 0:
            raise NucleateError(f"{where}: a coordination within one atom has no pairs; give b or a larger a")
        rows.append({"label": member, "a": a, "b": b, "pairs": pairs})
    rows = _dedupe(rows, spec, ("a", "b"), builder, name)
    for row in rows:
        builder.add_value(row["label"], (0.0, float(row["pairs"])), printed=spec.get("print", True))
    text = spec.get("comment") or _describe_pairs(spec, switch)
    builder.emit("coordination.j2", comment=text, rows=rows, sw=switch, nlist=nlist, pbc=pbc)


def _pair_sum(builder: InputBuilder, spec: dict, name: str, where: str, switch: dict, nlist, pbc: bool) -> None:
    """`each:` + `sum: true`: the sum of the family's one-pair coordinations as one value, computed by
    one COORDINATION ... PAIR (the k-th atom of GROUPA with the k-th of GROUPB) instead of one action
    per member: the same number (up to the order of the additions) at a fraction of PLUMED's cost
    per step, whose actions cost more than their few pairs (BENCHMARKS.md, issue 16)."""
    if spec.get("each") is None or spec.get("b") is None:
        raise NucleateError(f"{where}: `sum: true` needs `each:` and `b:` (one pair per member of the family)")
    firsts, seconds = [], []
    for _, self_id in _instances(builder, spec, name, where):
        a = builder.single_atom(spec["a"], f"{where}.a", self_id)
        b = builder.single_atom(spec["b"], f"{where}.b", self_id)
        if a == b:
            raise NucleateError(f"{where}: a member pairs atom {a} with itself")
        firsts.append(a)
        seconds.append(b)
    if spec.get("unique"):
        seen, kept = set(), []
        for pair in zip(firsts, seconds):
            if frozenset(pair) not in seen:
                seen.add(frozenset(pair))
                kept.append(pair)
        firsts, seconds = [p[0] for p in kept], [p[1] for p in kept]
    builder.add_value(name, (0.0, float(len(firsts))), printed=spec.get("print", True))
    text = spec.get("comment") or (f"sum over each {spec['each']} atom (self) of the coordination of "
                                   f"{spec['a']} with {spec['b']}: one pair each ({len(firsts)} pairs)")
    builder.emit("coordination.j2", comment=text, sw=switch, nlist=nlist, pbc=pbc, pair=True,
                 rows=[{"label": name, "a": _id_list(firsts), "b": _id_list(seconds)}])


def _id_list(refs: list[str]) -> str:
    """Atom ids (kept in order, as PLUMED ranges where they progress) or point labels, comma-separated."""
    if all(ref.isdigit() for ref in refs):
        return ordered_ids([int(ref) for ref in refs])
    return ",".join(refs)


def _solvent_count(builder: InputBuilder, spec: dict, name: str, where: str) -> None:
    check_keys(spec, _COMMON | _SWITCH | {"group", "point", "nlist", "pbc"}, where)
    switch = switching(spec, where, builder)
    nlist = _nlist(spec, switch, where)
    point = point_ref(builder, spec.get("point", "box_centre"), name, where)
    group = require(spec, "group", where)
    atoms, size = builder.atoms(group, where)
    builder.add_value(name, (0.0, float(size)), printed=spec.get("print", True))
    text = spec.get("comment") or (
        f"number of {group} atoms ({size}) around point {point}: rational switching function, "
        f"R_0={switch['r0']:g} {switch['unit']}, NN={switch['nn']}, MM={switch['mm']}")
    builder.emit("coordination.j2", comment=text, rows=[{"label": name, "a": point, "b": atoms}],
                 sw=switch, nlist=nlist, pbc=bool(spec.get("pbc", True)))


def _lowest(builder: InputBuilder, spec: dict, name: str, where: str) -> None:
    check_keys(spec, _COMMON | _SWITCH | {"a", "b"}, where)
    switch = switching(spec, where, builder)
    a, _ = builder.atoms(require(spec, "a", where), where)
    b, _ = builder.atoms(require(spec, "b", where), where)
    builder.families[name] = [f"{name}.lowest"]
    builder.add_value(f"{name}.lowest", None, printed=spec.get("print", True))
    text = spec.get("comment") or (f"lowest coordination of any {spec['a']} atom with {spec['b']} "
                                   f"(R_0={switch['r0']:g} {switch['unit']}): a broken bond shows as a drop")
    builder.emit("lowest.j2", comment=text, label=name, a=a, b=b, sw=switch, kind="lowest")


def _min_distance(builder: InputBuilder, spec: dict, name: str, where: str) -> None:
    check_keys(spec, _COMMON | {"a", "b", "beta", "pbc"}, where)
    a, na = builder.atoms(require(spec, "a", where), where)
    b, nb = builder.atoms(spec["b"], where) if spec.get("b") is not None else (None, 0)
    pairs = na * nb if b else na * (na - 1) // 2
    if pairs > 20_000:
        raise NucleateError(f"{where}: {pairs} pair distances is too many for DISTANCES ... MIN (slow to set up in "
                            "PLUMED); use a lowest_coordination or smaller groups")
    beta = number(spec.get("beta", 20.0), f"{where}.beta", above=0)
    builder.families[name] = [f"{name}.min"]
    builder.add_value(f"{name}.min", None, printed=spec.get("print", True))
    what = f"{spec['a']} and {spec['b']}" if b else f"distinct pairs of {spec['a']}"
    text = spec.get("comment") or f"smooth minimum distance between {what} (BETA={beta:g})"
    builder.emit("lowest.j2", comment=text, label=name, a=a, b=b, beta=beta, kind="min",
                 pbc=bool(spec.get("pbc", True)), sw=None)


# ---- geometry and functions ----------------------------------------------------------------
def _geometry(count: int, action: str):
    def handler(builder: InputBuilder, spec: dict, name: str, where: str) -> None:
        check_keys(spec, _COMMON | {"atoms", "each", "unique"}, where)
        selections = require(spec, "atoms", where)
        if not isinstance(selections, (list, tuple)) or len(selections) != count:
            raise NucleateError(f"{where}.atoms needs {count} entries (atoms or points), got {selections!r}")
        rows = []
        for member, self_id in _instances(builder, spec, name, where):
            atoms = [builder.single_atom(sel, f"{where}.atoms[{i}]", self_id) for i, sel in enumerate(selections)]
            if len(set(atoms)) < count:
                raise NucleateError(f"{where}: the {action.lower()} needs {count} different atoms, got {atoms}")
            rows.append({"label": member, "atoms": atoms})
        rows = _dedupe(rows, spec, ("atoms",), builder, name)
        for row in rows:
            bounds = (0.0, math.pi) if action == "ANGLE" else (0.0, None)
            builder.add_value(row["label"], bounds, printed=spec.get("print", True))
            if action == "DISTANCE":
                builder.pairs[row["label"]] = tuple(row["atoms"])
        unit = "rad, at the middle atom" if action == "ANGLE" else builder.length_unit
        text = spec.get("comment") or f"{action.lower()} ({unit}) between {' / '.join(map(str, selections))}"
        builder.emit("geometry.j2", comment=text, rows=rows, action=action, components=False)
    return handler


def _displacement(builder: InputBuilder, spec: dict, name: str, where: str) -> None:
    """DISTANCE ... COMPONENTS: the vector from atom A to B (name.x, name.y, name.z).  A restraint
    that holds two points together must act on these: the derivative of a plain DISTANCE is
    undefined (NaN in PLUMED) where the distance is exactly zero."""
    check_keys(spec, _COMMON | {"atoms"}, where)
    selections = require(spec, "atoms", where)
    if not isinstance(selections, (list, tuple)) or len(selections) != 2:
        raise NucleateError(f"{where}.atoms needs 2 entries (atoms or points), got {selections!r}")
    atoms = [builder.single_atom(sel, f"{where}.atoms[{i}]", None) for i, sel in enumerate(selections)]
    if len(set(atoms)) < 2:
        raise NucleateError(f"{where}: the displacement needs 2 different atoms, got {atoms}")
    for axis in "xyz":
        builder.add_value(f"{name}.{axis}", None, printed=spec.get("print", True))
    text = spec.get("comment") or (f"displacement vector ({builder.length_unit}) from {selections[0]} to "
                                   f"{selections[1]}: components {name}.x, {name}.y, {name}.z")
    builder.emit("geometry.j2", comment=text, rows=[{"label": name, "atoms": atoms}], action="DISTANCE",
                 components=True)


def _combine(builder: InputBuilder, spec: dict, name: str, where: str) -> None:
    check_keys(spec, _COMMON | {"args", "coefficients"}, where)
    names = require(spec, "args", where)
    names = [names] if isinstance(names, str) else list(names)
    coefficients = numbers(spec.get("coefficients", [1.0] * len(names)), len(names), f"{where}.coefficients")
    labels, weights = [], []
    for arg, weight in zip(names, coefficients):
        members = builder.expand(arg, f"{where}.args")
        labels.extend(members)
        weights.extend([weight] * len(members))
    lo = hi = 0.0
    for member, weight in zip(labels, weights):
        bounds = builder.bounds_of(member)
        if bounds is None or bounds[1] is None:
            lo = hi = None
            break
        lo += min(weight * bounds[0], weight * bounds[1])
        hi += max(weight * bounds[0], weight * bounds[1])
    builder.add_value(name, None if lo is None else (lo, hi), printed=spec.get("print", True))
    text = spec.get("comment") or "linear combination: " + " + ".join(
        f"{w:g}*{a}" if w != 1 else a for a, w in zip(names, coefficients))
    builder.emit("combine.j2", comment=text, label=name, args=labels, coefficients=weights)


# ---- expansion helpers ----------------------------------------------------------------------
def _instances(builder: InputBuilder, spec: dict, name: str, where: str):
    """(label, self_id) pairs: one per atom of `each:`, or just (name, None)."""
    if spec.get("each") is None:
        if spec.get("unique"):
            raise NucleateError(f"{where}: `unique` only applies together with `each`")
        return [(name, None)]
    ids = builder.each_ids(spec["each"], f"{where}.each")
    return [(f"{name}_{k}", int(i)) for k, i in enumerate(ids, start=1)]


def _dedupe(rows: list[dict], spec: dict, keys: tuple, builder: InputBuilder, name: str) -> list[dict]:
    """Drop repeated atom sets (with `unique`), number the family name_1..name_k, register it."""
    if spec.get("each") is None:
        return rows
    if spec.get("unique"):
        seen, kept = set(), []
        for row in rows:
            key = frozenset(_flatten(row[k] for k in keys))
            if key not in seen:
                seen.add(key)
                kept.append(row)
        rows = kept
    for k, row in enumerate(rows, start=1):
        row["label"] = f"{name}_{k}"
    builder.families[name] = [row["label"] for row in rows]
    return rows


def _flatten(items):
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from item
        elif item is not None:
            yield item


def _describe_pairs(spec: dict, switch: dict) -> str:
    pairs = f"{spec['a']} with {spec['b']}" if spec.get("b") is not None else f"pairs within {spec['a']}"
    head = f"for each {spec['each']} atom (self): " if spec.get("each") is not None else ""
    return (f"{head}coordination number of {pairs}: rational switching function "
            f"R_0={switch['r0']:g} {switch['unit']}, NN={switch['nn']}, MM={switch['mm']}"
            + (f", D_0={switch['d0']:g}" if switch["d0"] else ""))


HANDLERS = {
    "fixed_point": _fixed_point,
    "com": _com,
    "coordination": _coordination,
    "solvent_count": _solvent_count,
    "coordination_point": _solvent_count,
    "combine": _combine,
    "distance": _geometry(2, "DISTANCE"),
    "displacement": _displacement,
    "angle": _geometry(3, "ANGLE"),
    "lowest_coordination": _lowest,
    "min_distance": _min_distance,
}
