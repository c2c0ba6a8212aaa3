"""Assemble a readable plumed.dat from a `plumed:` section: header, UNITS, [RESTART], CVs,
walls, restraints, guards, bias and one PRINT of every CV and bias component.

No value of the section may hold a line break or other control character (it would start a
PLUMED action of its own, e.g. LOAD FILE=x.so); `title` is one line of text, `colvar` a plain
file name inside the run directory, `print_format` a number format such as %.10g. The finished
input is checked once more: every action in it must be one this package writes.
"""

from __future__ import annotations

from nucleate import __version__
from nucleate import validate as check
from nucleate.errors import NucleateError
from nucleate.systems import DataFile, Groups
from nucleate.templates import render
from nucleate.units import PLUMED_DEFAULT_UNITS, PLUMED_UNIT_NAMES

from .atoms import Structure, compact_ids
from .builder import InputBuilder
from .cvs import add_cv
from .protocols import add_bias
from .guards import MONITOR_FILE, add_guards
from .restraints import add_restraints, add_walls
from .schema import check_keys, integer

DEFAULT_UNITS = {kind: PLUMED_DEFAULT_UNITS[kind] for kind in ("length", "energy", "time")}  # UNITS line order
TOP_KEYS = {"units", "cvs", "walls", "restraints", "guards", "bias", "print_stride", "colvar", "print_format",
            "title"}


def plumed_units(config: dict) -> dict:
    """The units the generated input declares ({"length": "A", "energy": "kcal/mol", "time": "fs"})."""
    given = config.get("units") or {}
    check_keys(given, set(DEFAULT_UNITS), "plumed.units")
    units = {}
    for kind, default in DEFAULT_UNITS.items():
        value = str(given.get(kind, default))
        name = PLUMED_UNIT_NAMES[kind].get(value.lower())
        if name is None:
            raise NucleateError(f"plumed.units.{kind}: unknown unit {value!r}; known: {', '.join(PLUMED_UNIT_NAMES[kind].values())}")
        units[kind] = name
    return units


def build_input(config: dict, groups: Groups, data: DataFile, *, temperature_K: float,
                restart: bool = False, preset: str | None = None, outputs: bool = True) -> str:
    """plumed.dat for `config` (presets already resolved). outputs=False leaves out PRINT and FLUSH,
    for an input that is only evaluated and must write no file (nucleate.plumed_cvs.static_bias)."""
    check.no_control_chars_anywhere(config, "plumed")
    check_keys(config, TOP_KEYS, "plumed")
    if config.get("title") is not None:
        check.safe_text(config["title"], "plumed.title")
    colvar = check.output_name(config.get("colvar", "COLVAR"), "plumed.colvar")
    number_format = check.print_format(config.get("print_format", "%.10g"), "plumed.print_format")
    units = plumed_units(config)
    builder = InputBuilder(structure=Structure(groups, data), length_unit=units["length"])
    cvs = config.get("cvs") or []
    if not isinstance(cvs, list) or not cvs:
        raise NucleateError("plumed.cvs: give a list of CVs (each with name and type)")
    for index, spec in enumerate(cvs):
        add_cv(builder, spec, index)
    energy = units["energy"]
    add_walls(builder, config.get("walls"), energy)
    add_restraints(builder, config.get("restraints"), energy)
    add_guards(builder, config.get("guards"), energy)
    bias_labels = add_bias(builder, config.get("bias"), temperature_K=temperature_K, restart=restart,
                           wall_bounds=_wall_bounds(config, builder), energy_unit=energy)
    stride = integer(config.get("print_stride", 100), "plumed.print_stride", at_least=1)
    if outputs:
        args = list(builder.print_labels) + [f"{label}.*" for label in bias_labels]
        builder.emit("print.j2", comment=f"every CV and bias component to {colvar} every {stride} steps",
                     stride=stride, file=colvar, fmt=number_format, args=args)
        if builder.monitor_labels:
            if colvar == MONITOR_FILE:
                raise NucleateError(f"plumed.colvar: {MONITOR_FILE} is the file of the guards' monitors "
                                    "(guards.monitor_stride); name COLVAR differently")
            builder.emit("print.j2", fmt=number_format, args=builder.monitor_labels,
                         stride=builder.monitor_stride, file=MONITOR_FILE,
                         comment=(f"the guards' print-only monitors to {MONITOR_FILE} every {builder.monitor_stride} "
                                  "steps (guards.monitor_stride): PLUMED computes them on these steps only"))
        builder.blocks.insert(0, f"FLUSH STRIDE={stride}")
    header = _header(config, builder, data, preset, temperature_K, units)
    text = render("plumed/plumed.dat.j2", header=header, units=units, restart=restart, blocks=builder.blocks)
    check_plumed_actions(text)
    return text


# Every action the templates write. Values are validated before rendering; this is the second
# line of defence: a value that still smuggled in a line would show up as an action of its own
# (LOAD, INCLUDE, ...) and is refused instead of written.
PLUMED_ACTIONS = frozenset({
    "UNITS", "RESTART", "FLUSH", "PRINT", "FIXEDATOM", "COM", "COORDINATION", "COMBINE", "DISTANCE", "ANGLE",
    "COORDINATIONNUMBER", "DISTANCES", "UPPER_WALLS", "LOWER_WALLS", "RESTRAINT", "METAD", "OPES_METAD",
    "OPES_METAD_EXPLORE",
})


def check_plumed_actions(text: str) -> None:
    """Each line outside a `...` block is blank, a comment, or `[label:] ACTION` of PLUMED_ACTIONS."""
    in_block = False
    for lineno, line in enumerate(text.split("\n"), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if in_block:
            in_block = words != ["..."]
            continue
        if words[0].endswith(":") and len(words) > 1:
            words = words[1:]
        if words[0] not in PLUMED_ACTIONS:
            raise NucleateError(f"generated plumed.dat line {lineno} is not an expected action: {line!r}; "
                                "a plumed: value must have changed the input (please report this)")
        in_block = words[-1] == "..."


def _wall_bounds(config: dict, builder: InputBuilder) -> dict:
    """Per value label, the (lower, upper) wall positions, used to bound automatic grids."""
    bounds: dict[str, list] = {}
    for wall in config.get("walls") or []:
        for label in builder.expand(wall["arg"], "plumed.walls"):
            entry = bounds.setdefault(label, [None, None])
            if wall.get("lower") is not None and not isinstance(wall["lower"], (list, tuple)):
                entry[0] = float(wall["lower"])
            if wall.get("upper") is not None and not isinstance(wall["upper"], (list, tuple)):
                entry[1] = float(wall["upper"])
    return {k: tuple(v) for k, v in bounds.items()}


def _header(config, builder: InputBuilder, data: DataFile, preset, temperature_K, units) -> list[str]:
    lines = [
        f"plumed.dat generated by nucleate {__version__}" + (f" from preset {preset}" if preset else ""),
        f"system: {data.path.name}, {data.natoms} atoms, box "
        + " x ".join(f"{x:g}" for x in data.lengths) + " A",
        f"temperature: {temperature_K:g} K; units: length {units['length']}, energy {units['energy']}, time {units['time']}",
        "atom ids are 1-based; a-b:s means a, a+s, ... up to b",
        "groups used:",
    ]
    groups = builder.structure.groups
    for name in sorted(builder.used_groups):
        ids = groups.groups[name]
        lines.append(f"  {name:<12s} {ids.size:5d} atoms  {compact_ids(ids)}")
    if config.get("title"):
        lines.insert(1, config["title"])
    return lines
