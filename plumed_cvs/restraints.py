"""Walls, harmonic restraints and the guards that keep a DeePMD potential in its training domain.

  walls:       - {name: w_core, arg: d_core, upper: 5.0, lower: 1.5, kappa: 100, exp: 2, eps: 1, offset: 0}
  restraints:  - {name: res, arg: d_com, at: 0.0, kappa: 100, slope: 0}
  guards:      methanol            (the study's walls, in Angstrom, converted to the input's unit)
               {solvent: methanol, kappa: 100, ch: 2.55, co: 0.47, oh: null, monitors: true,
                ch_partners: solvent_HC, co_from: C}

`arg` may be one CV, a family or a list; one value of upper/lower/at/kappa applies to all.
Walls are PLUMED's UPPER_WALLS/LOWER_WALLS: kappa * ((s - at)/eps + offset)^exp beyond `at`.

The methanol guards follow the study: the LOWEST over all methanol C of the C-H coordination
(methyl H, R_0 = 1.5 A) and of the C-O coordination (R_0 = 1.5 A) get lower walls (2.55, 0.47)
so no C-H or C-O bond stretches outside what the potential was trained on. The O-H
coordination (R_0 = 1.4 A) is printed, and walled only if `oh:` is given (the study left it
unwalled). `ch_partners` is the H group counted around each C: the methyl H (solvent_HC, as
in the study's monomer_dimer file) or all methanol H (solvent_H, as in its dimer_octahedral
file, where the hydroxyl H 1.9 A away adds about 0.18). `co_from` says whether the C-O minimum
runs over the C (C, monomer_dimer) or over the O (O, dimer_octahedral); other molecules' atoms
nearby make the two differ slightly. `monitors: true` also prints the lowest H coordination with any atom (R_0 = 1.2 A),
one of the study's stability indicators. Its other one, the minimum H-H distance
(DISTANCES GROUPA=H GROUPB=H MIN), is left out on purpose: with the same group on both sides
it includes each H with itself and is always 0, and PLUMED 2.11 takes over 2 minutes to set
up its 230,000 distances on a 732-atom box.
"""

from __future__ import annotations

from nucleate.errors import NucleateError

from .builder import InputBuilder
from .cvs import add_cv
from .schema import check_keys, comment, flag, number, numbers, require
from .schema import label as check_label

_GUARD_DEFAULTS = {"solvent": "methanol", "kappa": 100.0, "ch": 2.55, "co": 0.47, "oh": None, "monitors": True,
                   "ch_partners": "solvent_HC", "co_from": "C"}


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


def add_guards(builder: InputBuilder, guards, energy_unit: str) -> list[str]:
    """Lowest-coordination walls that keep the solvent's bonds inside the potential's domain."""
    if not guards:
        return []
    settings = dict(_GUARD_DEFAULTS)
    if isinstance(guards, str):
        settings["solvent"] = guards
    else:
        check_keys(guards, set(_GUARD_DEFAULTS), "plumed.guards")
        settings.update({k: v for k, v in guards.items()})
    if settings["solvent"] != "methanol":
        raise NucleateError(f"plumed.guards: only methanol guards are defined, got {settings['solvent']!r}")
    flag(settings, "monitors", "plumed.guards", default=True)
    if settings["co_from"] not in ("C", "O"):
        raise NucleateError(f"plumed.guards.co_from must be C or O, got {settings['co_from']!r}")
    co_pair = ({"a": "solvent_C", "b": "solvent_O"} if settings["co_from"] == "C"
               else {"a": "solvent_O", "b": "solvent_C"})
    to_unit = builder.from_angstrom
    cvs = [
        {"name": "guard_ch", "type": "lowest_coordination", "a": "solvent_C", "b": settings["ch_partners"],
         "r0": to_unit(1.5),
         "comment": f"guard: lowest C-H coordination ({settings['ch_partners']}) of any methanol C (R_0 = 1.5 A)"},
        {"name": "guard_co", "type": "lowest_coordination", **co_pair, "r0": to_unit(1.5),
         "comment": f"guard: lowest C-O coordination of any methanol {settings['co_from']} (R_0 = 1.5 A)"},
        {"name": "guard_oh", "type": "lowest_coordination", "a": "solvent_O", "b": "solvent_HO", "r0": to_unit(1.4),
         "comment": "guard: lowest O-H (hydroxyl) coordination of any methanol O (R_0 = 1.4 A)"},
    ]
    if settings["monitors"]:
        cvs += [
            {"name": "guard_h", "type": "lowest_coordination", "a": "H", "b": "all", "r0": to_unit(1.2),
             "comment": "monitor: lowest coordination of any H with any atom (R_0 = 1.2 A); ~0 means a lost H"},
        ]
    for index, cv in enumerate(cvs):
        add_cv(builder, cv, index)
    walls = []
    for key, cv in (("ch", "guard_ch"), ("co", "guard_co"), ("oh", "guard_oh")):
        if settings[key] is not None:
            value = number(settings[key], f"plumed.guards.{key}", at_least=0)
            walls.append({"name": f"{cv}_wall", "arg": cv, "lower": value, "kappa": settings["kappa"],
                          "comment": f"guard wall: keep {cv}.lowest above {value:g} ({key.upper()} bonds intact)"})
    return add_walls(builder, walls, energy_unit)


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
