"""Walls and harmonic restraints (the methanol guards are in .guards).

  walls:       - {name: w_core, arg: d_core, upper: 5.0, lower: 1.5, kappa: 100, exp: 2, eps: 1, offset: 0}
  restraints:  - {name: res, arg: d_com, at: 0.0, kappa: 100, slope: 0}

`arg` may be one CV, a family or a list; one value of upper/lower/at/kappa applies to all.
Walls are PLUMED's UPPER_WALLS/LOWER_WALLS: kappa * ((s - at)/eps + offset)^exp beyond `at`.
"""

from __future__ import annotations

from nucleate.errors import NucleateError

from .builder import InputBuilder
from .schema import check_keys, comment, numbers, require
from .schema import label as check_label


def add_walls(builder: InputBuilder, walls, energy_unit: str) -> list[str]:
    labels = []
    for index, wall in enumerate(walls or []):
        where = f"plumed.walls[{index}]"
        check_keys(wall, {"name", "arg", "upper", "lower", "kappa", "exp", "eps", "offset", "comment"}, where)
        if wall.get("name") is not None:
            check_label(wall["name"], f"{where}.name")
        comment(wall, where)
        args = builder.expand(require(wall, "arg", where), f"{where}.arg")
        if wall.get("upper") is None and wall.get("lower") is None:
            raise NucleateError(f"{where}: give `upper:` and/or `lower:` (the wall position)")
        stem = wall.get("name") or _stem(wall["arg"])
        for side, action in (("upper", "UPPER_WALLS"), ("lower", "LOWER_WALLS")):
            if wall.get(side) is None:
                continue
            label = builder.claim(f"{stem}_{side}" if wall.get("name") is None or both(wall) else stem, where)
            n = len(args)
            at = _per_arg(wall[side], n, f"{where}.{side}")
            kappa = _per_arg(require(wall, "kappa", where), n, f"{where}.kappa", above=0)
            exp = _per_arg(wall["exp"], n, f"{where}.exp", above=0) if wall.get("exp") is not None else None
            eps = _per_arg(wall["eps"], n, f"{where}.eps", above=0) if wall.get("eps") is not None else None
            offset = _per_arg(wall["offset"], n, f"{where}.offset") if wall.get("offset") is not None else None
            text = wall.get("comment") or (
                f"{side} wall{'s' if n > 1 else ''} on {', '.join(_names(wall['arg']))} at {_short(at)}: "
                f"bias = kappa*(s - at)^2 {'above' if side == 'upper' else 'below'} it (kappa in {energy_unit} per unit^2)")
            builder.emit("walls.j2", comment=text, label=label, action=action, args=args, at=at,
                         kappa=kappa, exp=exp, eps=eps, offset=offset)
            builder.add_value(f"{label}.bias", None)
            labels.append(label)
    return labels


def both(wall: dict) -> bool:
    return wall.get("upper") is not None and wall.get("lower") is not None


def add_restraints(builder: InputBuilder, restraints, energy_unit: str) -> list[str]:
    labels = []
    for index, item in enumerate(restraints or []):
        where = f"plumed.restraints[{index}]"
        check_keys(item, {"name", "arg", "at", "kappa", "slope", "comment"}, where)
        if item.get("name") is not None:
            check_label(item["name"], f"{where}.name")
        comment(item, where)
        args = builder.expand(require(item, "arg", where), f"{where}.arg")
        label = builder.claim(item.get("name") or f"{_stem(item['arg'])}_restraint", where)
        n = len(args)
        at = _per_arg(require(item, "at", where), n, f"{where}.at")
        kappa = _per_arg(require(item, "kappa", where), n, f"{where}.kappa", above=0)
        slope = _per_arg(item["slope"], n, f"{where}.slope") if item.get("slope") is not None else None
        text = item.get("comment") or (
            f"harmonic restraint holding {', '.join(_names(item['arg']))} at {_short(at)}: "
            f"bias = kappa/2*(s - at)^2, kappa in {energy_unit} per unit^2")
        builder.emit("restraint.j2", comment=text, label=label, args=args, at=at, kappa=kappa, slope=slope)
        builder.add_value(f"{label}.bias", None)
        labels.append(label)
    return labels


def _per_arg(value, n: int, where: str, **limits) -> list[float]:
    values = list(value) if isinstance(value, (list, tuple)) else [value] * n
    return numbers(values, n, where, **limits)


def _names(arg) -> list[str]:
    return [arg] if isinstance(arg, str) else [str(a) for a in arg]


def _stem(arg) -> str:
    return "_".join(_names(arg))[:40].replace(".", "_")


def _short(values: list[float]) -> str:
    unique = sorted(set(values))
    return f"{unique[0]:g}" if len(unique) == 1 else ", ".join(f"{v:g}" for v in values)
