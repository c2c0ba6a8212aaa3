"""Walls and harmonic restraints (the methanol guards are in .guards).

  walls:       - {name: w_core, arg: d_core, upper: 5.0, lower: 1.5, kappa: 100, exp: 2, eps: 1, offset: 0}
  restraints:  - {name: res, arg: d_com, at: 0.0, kappa: 100, slope: 0}

`arg` may be one CV, a family or a list; one value of upper/lower/at/kappa applies to all.
Walls are PLUMED's UPPER_WALLS/LOWER_WALLS: kappa * ((s - at)/eps + offset)^exp beyond `at`.

A wall of the plain shape (exp 2, eps 1, offset 0; one `at` > 0 and one kappa) on two or more
`distance` CVs is computed without them: one COORDINATION ... PAIR over their atom pairs whose
switching function is the wall's shape, sum of step(x - 1) * (x - 1)^2 with x = r / at (upper;
step(1 - x) * (1 - x)^2 for a lower wall), and a linear UPPER_WALLS (EXP=1, KAPPA = kappa * at^2)
under the wall's own label: the same energy, kappa * sum (r - at)^2 beyond `at`, and the same forces,
as the bond guards (plumed_cvs/guards.py). The distances are still printed; PLUMED then computes them
on print steps only. On the dimer_octahedral preset this takes 24 actions off every step (each costs
PLUMED 3-7 us, about as much as the few pairs it holds; BENCHMARKS.md, issue 16).
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
            if not (_plain(exp, eps, offset) and _pair_wall(builder, label, side, args, at, kappa, text, where)):
                builder.emit("walls.j2", comment=text, label=label, action=action, args=args, at=at,
                             kappa=kappa, exp=exp, eps=eps, offset=offset)
            builder.add_value(f"{label}.bias", None)
            labels.append(label)
    return labels


PAIR_WALLS = True  # False: every wall as PLUMED's UPPER_WALLS/LOWER_WALLS on its CVs (the tests' reference)


def _plain(exp, eps, offset) -> bool:
    """The wall has PLUMED's default shape: kappa * (s - at)^2 beyond at."""
    return ((exp is None or set(exp) == {2.0}) and (eps is None or set(eps) == {1.0})
            and (offset is None or set(offset) == {0.0}))


def _pair_wall(builder: InputBuilder, label: str, side: str, args: list[str], at: list[float], kappa: list[float],
               text: str, where: str) -> bool:
    """A plain wall on several distances as one COORDINATION ... PAIR + linear UPPER_WALLS (see the module's
    docstring); False (nothing written) where it does not apply."""
    if (not PAIR_WALLS or len(args) < 2 or any(a not in builder.pairs for a in args)
            or len(set(at)) != 1 or len(set(kappa)) != 1):
        return False
    r_wall, k = at[0], kappa[0]
    if r_wall <= 0:
        return False
    pairs = builder.claim(f"{label}_pairs", where)
    builder.add_value(pairs, None, printed=False)
    shape = "step(x-1)*(x-1)^2" if side == "upper" else "step(1-x)*(1-x)^2"
    builder.emit("bond_guard.j2", label=pairs, func=shape, r_wall=r_wall,
                 a=",".join(builder.pairs[a][0] for a in args), b=",".join(builder.pairs[a][1] for a in args),
                 comment=(f"{text}\ncomputed without the {len(args)} DISTANCE actions (issue 16): sum over their "
                          f"pairs of {shape}, x = r/{r_wall:g}, then KAPPA*{r_wall:g}^2 on that sum, linearly"))
    builder.emit("walls.j2", comment="", label=label, action="UPPER_WALLS", args=[pairs], at=[0.0],
                 kappa=[k * r_wall**2], exp=[1.0], eps=None, offset=None)
    return True


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
