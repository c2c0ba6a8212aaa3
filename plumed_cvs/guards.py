"""Guards: walls that keep the solvent's bonds inside what a DeePMD potential was trained on.

  guards: methanol                   # = {solvent: methanol, style: bonds}, the default
  guards: {style: bonds, kappa: 100, ch_A: 1.30, co_A: 1.60, oh_A: 1.20, study_monitors: true, monitors: false}
  guards: {style: study, kappa: 100, ch: 2.55, co: 0.47, oh: null, monitors: true,
           ch_partners: solvent_HC, co_from: C}
  and in either style monitor_stride: 1000   # print-only monitors to GUARDS every 1000 steps (default null: COLVAR)

style: bonds (default, cheap). Each methanol's own bonds, taken from the groups file's molecules
(solvent_C, solvent_HC, solvent_O, solvent_HO atoms of one molecule; never typed indices), get an
upper wall: bias = kappa * (r - r_wall)^2 for every C-H, C-O and O-H bond longer than its
r_wall (ch_A, co_A, oh_A, in Angstrom; null leaves that bond type unwalled). kappa is in the
input's energy unit per A^2. PLUMED evaluates one COORDINATION with PAIR per bond type (3 + 1 + 1
pairs per methanol) whose "switching function" is the wall shape itself,
  bond_ch = sum over C-H bonds of step(x - 1) * (x - 1)^2,  x = r / r_wall,
and a linear UPPER_WALLS (EXP=1, KAPPA = kappa * r_wall^2) turns it into the walls' energy; the
value is 0 while every bond is inside its wall. The cost is O(bonds): about 0.5 ms per step for
120 methanol, against about 75 ms for the study's all-pairs coordinations (BENCHMARKS.md).
The default positions reproduce where the study's guard starts to push on its own starting
configurations (C-H 1.21-1.34 A, median 1.27; C-O 1.55-1.58 A), rounded up so that thermal
motion (mean + 6 sigma: C-H 1.28, O-H 1.16 A) stays free; the study left O-H unwalled, 1.20 A is
below the 1.3 A where a hydroxyl proton counts as lost (studies/ag6/training/evaluate.py).
Near its wall the study's coordination changes by -0.97 per A, so the same kappa = 100 gives both
styles the same stiffness there; unlike the study's, a bond wall never saturates (the study's
C-O guard holds at most about 28 kcal/mol/A, then lets go).
`study_monitors: true` also prints the study's LOWEST coordinations (guard_ch, guard_co,
guard_oh; not walled). Only PRINT needs them, and PLUMED computes an action only on the steps an
active action needs it, so they cost their 25-30 ms on print steps alone: 0.25-0.3 ms per step at
print_stride 100 (more than half the walls' own cost), the full 25 ms at print_stride 1.
`monitor_stride: N` prints these print-only monitors (and guard_h, below) by a PRINT of their own,
to the file GUARDS every N steps, instead of in COLVAR: they are then computed every N steps
only (the presets: N = 1000, 0.03 ms per step). Unset (null, the default), they are COLVAR columns.
Monitors that a wall needs (style study's guard_ch, guard_co) are computed every step anyway and
stay in COLVAR.

style: study -- the study's own definition: the LOWEST over all methanol C of the C-H coordination
(R_0 = 1.5 A) and of the C-O coordination (R_0 = 1.5 A) get lower walls at ch, co (2.55, 0.47);
the O-H coordination (R_0 = 1.4 A) is printed, and walled only if `oh:` is given (the study left
it unwalled). Every C with every H (43,200 pairs in the study's box) on every step: 73 ms, about
2x the embedded model's DeePMD step. `ch_partners` is the H group counted around each C: the methyl H
(solvent_HC, as in the study's monomer_dimer file) or all methanol H (solvent_H, as in its
dimer_octahedral file, where the hydroxyl H 1.9 A away adds about 0.18). `co_from` says whether
the C-O minimum runs over the C (C, monomer_dimer) or over the O (O, dimer_octahedral). Both
shape the study monitors of style bonds too.

`monitors: true` (default for style study only) prints the lowest coordination of any H with any
atom (R_0 = 1.2 A), one of the study's stability indicators; 490 x 732 pairs, 110 ms per print
step. The study's other one, the minimum H-H distance (DISTANCES GROUPA=H GROUPB=H MIN), is left
out on purpose: with the same group on both sides it includes each H with itself and is always
0, and PLUMED 2.11 takes over 2 minutes to set up its 230,000 distances on a 732-atom box.
"""

from __future__ import annotations

from nucleate.errors import NucleateError

from .atoms import ordered_ids
from .builder import InputBuilder
from .cvs import add_cv
from .restraints import add_walls
from .schema import check_keys, flag, integer, number

STYLES = ("bonds", "study")
_COMMON = {"solvent": "methanol", "style": "bonds", "kappa": 100.0, "ch_partners": "solvent_HC", "co_from": "C",
           "monitor_stride": None}
MONITOR_FILE = "GUARDS"  # the print-only monitors' own PRINT, when monitor_stride is given
_BONDS = {"ch_A": 1.30, "co_A": 1.60, "oh_A": 1.20, "study_monitors": True, "monitors": False}
_STUDY = {"ch": 2.55, "co": 0.47, "oh": None, "monitors": True}
# (key, label, first atom's group, second atom's group, what) of each methanol bond type
_BOND_TYPES = (("ch_A", "bond_ch", "solvent_C", "solvent_HC", "C-H"),
               ("co_A", "bond_co", "solvent_C", "solvent_O", "C-O"),
               ("oh_A", "bond_oh", "solvent_O", "solvent_HO", "O-H"))
_PER_METHANOL = {"solvent_HC": 3, "solvent_O": 1, "solvent_HO": 1}


def add_guards(builder: InputBuilder, guards, energy_unit: str) -> list[str]:
    """The guards' CVs and walls; returns the wall labels."""
    if not guards:
        return []
    settings = _settings(guards)
    if settings["style"] == "study":
        return _study_guards(builder, settings, energy_unit)
    return _bond_guards(builder, settings, energy_unit)


def _settings(guards) -> dict:
    where = "plumed.guards"
    given = {"solvent": guards} if isinstance(guards, str) else guards
    check_keys(given, set(_COMMON) | set(_BONDS) | set(_STUDY), where)
    style = given.get("style", _COMMON["style"])
    if style not in STYLES:
        raise NucleateError(f"{where}.style must be one of {', '.join(STYLES)}, got {style!r}")
    own, other = (_BONDS, _STUDY) if style == "bonds" else (_STUDY, _BONDS)
    misplaced = sorted(k for k in given if k in other and k not in own)
    if misplaced:
        hint = ("bond lengths in A: ch_A, co_A, oh_A" if style == "bonds"
                else "lowest coordinations: ch, co, oh")
        raise NucleateError(f"{where}: {', '.join(misplaced)} belong(s) to the other style; style {style} "
                            f"takes its wall positions as {hint}")
    settings = {**_COMMON, **own, **given}
    if settings["solvent"] != "methanol":
        raise NucleateError(f"{where}: only methanol guards are defined, got {settings['solvent']!r}")
    if settings["co_from"] not in ("C", "O"):
        raise NucleateError(f"{where}.co_from must be C or O, got {settings['co_from']!r}")
    settings["kappa"] = number(settings["kappa"], f"{where}.kappa", above=0)
    if settings["monitor_stride"] is not None:
        settings["monitor_stride"] = integer(settings["monitor_stride"], f"{where}.monitor_stride", at_least=1)
    for key in ("monitors", "study_monitors"):
        if key in own:
            settings[key] = flag(settings, key, where, default=own[key])
    return settings


# ---- style bonds ----------------------------------------------------------------------------
def _bond_guards(builder: InputBuilder, settings: dict, energy_unit: str) -> list[str]:
    pairs = methanol_bonds(builder)
    walls = []
    for key, label, _, _, what in _BOND_TYPES:
        if settings[key] is None:
            continue
        r_wall_A = number(settings[key], f"plumed.guards.{key}", above=0)
        first, second = pairs[label]
        builder.claim(label, "plumed.guards")
        builder.add_value(label, None)
        builder.emit("bond_guard.j2", label=label, a=ordered_ids(first), b=ordered_ids(second),
                     r_wall=builder.from_angstrom(r_wall_A),
                     comment=(f"guard: every methanol's own {what} bond ({len(first)} pairs), "
                              f"sum of (r/r_wall - 1)^2 beyond r_wall = {r_wall_A:g} A; 0 while all are inside"))
        # KAPPA * sum (r/r_wall - 1)^2 = kappa * sum (r - r_wall)^2 in any length unit
        walls.append({"name": f"{label}_wall", "arg": label, "upper": 0.0, "exp": 1,
                      "kappa": settings["kappa"] * r_wall_A ** 2,
                      "comment": (f"guard wall: {settings['kappa']:g} {energy_unit}/A^2 * (r - {r_wall_A:g} A)^2 "
                                  f"on each {what} bond beyond {r_wall_A:g} A")})
    labels = add_walls(builder, walls, energy_unit)
    _study_monitors(builder, settings, lowest=settings["study_monitors"], any_h=settings["monitors"])
    return labels


def methanol_bonds(builder: InputBuilder) -> dict[str, tuple[list[int], list[int]]]:
    """Per bond type, the (first, second) atom ids of every methanol's own bonds, molecule by molecule
    (the k-th methyl H of every C together, so the lists compress into PLUMED ranges)."""
    structure = builder.structure
    where = "plumed.guards"
    if not structure.has_molecules:
        raise NucleateError(f"{where}: the bond guards need the molecules of the groups file (a 'molecules' "
                            "list or mol1, mol2, ... groups), as `nucleate build` and `nucleate import-system` "
                            "write them; or use guards: {style: study}")
    carbons = builder.each_ids("solvent_C", where)
    by_molecule = {name: _by_molecule(builder, name) for name in _PER_METHANOL}
    hc_rows, o_ids, ho_ids = [], [], []
    for c in carbons:
        molecule = int(structure.molecule_of[c])
        members = {name: by_molecule[name].get(molecule, []) for name in _PER_METHANOL}
        for name, count in _PER_METHANOL.items():
            if len(members[name]) != count or molecule < 0:
                raise NucleateError(
                    f"{where}: the methanol of C atom {int(c)} holds {len(members[name])} atom(s) of {name} in its "
                    f"molecule, expected {count}; the bond guards need each methanol's C, 3 methyl H, O and "
                    "hydroxyl H in one molecule of the groups file")
        hc_rows.append(sorted(members["solvent_HC"]))
        o_ids.append(members["solvent_O"][0])
        ho_ids.append(members["solvent_HO"][0])
    c_ids = [int(c) for c in carbons]
    return {"bond_ch": (c_ids * 3, [row[k] for k in range(3) for row in hc_rows]),
            "bond_co": (c_ids, o_ids),
            "bond_oh": (o_ids, ho_ids)}


def _by_molecule(builder: InputBuilder, group: str) -> dict[int, list[int]]:
    ids = builder.each_ids(group, "plumed.guards")
    grouped: dict[int, list[int]] = {}
    for atom, molecule in zip(ids.tolist(), builder.structure.molecule_of[ids].tolist()):
        grouped.setdefault(int(molecule), []).append(int(atom))
    return grouped


# ---- style study ------------------------------------------------------------------------------
def _study_guards(builder: InputBuilder, settings: dict, energy_unit: str) -> list[str]:
    _study_monitors(builder, settings, lowest=True, any_h=settings["monitors"])
    walls = []
    for key, cv in (("ch", "guard_ch"), ("co", "guard_co"), ("oh", "guard_oh")):
        if settings[key] is not None:
            value = number(settings[key], f"plumed.guards.{key}", at_least=0)
            walls.append({"name": f"{cv}_wall", "arg": cv, "lower": value, "kappa": settings["kappa"],
                          "comment": f"guard wall: keep {cv}.lowest above {value:g} ({key.upper()} bonds intact)"})
    return add_walls(builder, walls, energy_unit)


def _study_monitors(builder: InputBuilder, settings: dict, *, lowest: bool, any_h: bool) -> None:
    """The study's LOWEST coordinations (guards of style study, monitors of style bonds). The print-only
    ones go to their own PRINT (builder.monitor_labels) when settings["monitor_stride"] is given."""
    co_pair = ({"a": "solvent_C", "b": "solvent_O"} if settings["co_from"] == "C"
               else {"a": "solvent_O", "b": "solvent_C"})
    to_unit = builder.from_angstrom
    cvs = []
    if lowest:
        cvs += [
            {"name": "guard_ch", "type": "lowest_coordination", "a": "solvent_C", "b": settings["ch_partners"],
             "r0": to_unit(1.5),
             "comment": f"guard: lowest C-H coordination ({settings['ch_partners']}) of any methanol C (R_0 = 1.5 A)"},
            {"name": "guard_co", "type": "lowest_coordination", **co_pair, "r0": to_unit(1.5),
             "comment": f"guard: lowest C-O coordination of any methanol {settings['co_from']} (R_0 = 1.5 A)"},
            {"name": "guard_oh", "type": "lowest_coordination", "a": "solvent_O", "b": "solvent_HO", "r0": to_unit(1.4),
             "comment": "guard: lowest O-H (hydroxyl) coordination of any methanol O (R_0 = 1.4 A)"},
        ]
        if settings["style"] == "bonds":
            for cv in cvs:
                cv["comment"] = cv["comment"].replace("guard:", "monitor (the study's guard, printed only):", 1)
    if any_h:
        cvs.append({"name": "guard_h", "type": "lowest_coordination", "a": "H", "b": "all", "r0": to_unit(1.2),
                    "comment": "monitor: lowest coordination of any H with any atom (R_0 = 1.2 A); ~0 means a lost H"})
    stride = settings["monitor_stride"]
    for index, cv in enumerate(cvs):
        print_only = settings["style"] == "bonds" or cv["name"] == "guard_h"
        if stride is None or not print_only:
            add_cv(builder, cv, index)
            continue
        add_cv(builder, {**cv, "print": False}, index)
        builder.monitor_labels.extend(builder.expand(cv["name"], "plumed.guards"))
    if builder.monitor_labels:
        builder.monitor_stride = stride
