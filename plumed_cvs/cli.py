"""`nucleate cvs list` and `nucleate cvs show SPEC|PRESET --data FILE`: see the plumed.dat a
`plumed:` section (or a preset) generates for a system, before running anything."""

from __future__ import annotations

import argparse
from pathlib import Path

from nucleate.errors import NucleateError


def register(sub) -> None:
    parser = sub.add_parser("cvs", help="PLUMED collective variables and biases from named atom groups")
    actions = parser.add_subparsers(dest="cvs_command", metavar="ACTION")
    listing = actions.add_parser("list", help="list the PLUMED presets and CV types")
    listing.set_defaults(func=_list)
    show = actions.add_parser("show", help="print the plumed.dat generated for a system")
    show.add_argument("spec", help="a preset name (e.g. ag6/monomer_dimer) or a YAML file with a plumed: section")
    show.add_argument("--data", required=True, help="LAMMPS data file of the system (positions in Angstrom)")
    show.add_argument("--groups", help="groups.json of the system (default: recognised from the data file)")
    show.add_argument("--type-map", default=None,
                      help="elements of the atom types, in order, e.g. Ag,S,N,C,H,O (default: the groups file's; "
                      "without --groups, from the data file's masses)")
    show.add_argument("--temperature", type=float, default=300.0, help="temperature in K for TEMP= (default 300)")
    show.add_argument("--restart", action="store_true", help="render the continuation (RESTART) input")
    show.add_argument("--set", action="append", default=[], metavar="CV.KEY=VALUE",
                      help="override a preset CV field, e.g. --set c_box.at=[11.075,10.526,10.622]")
    show.add_argument("-o", "--output", help="write to this file instead of printing")
    show.set_defaults(func=_show)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)


def _list(args: argparse.Namespace) -> int:
    from .cvs import HANDLERS
    from .presets import list_presets
    from .protocols import PROTOCOLS

    print("presets:")
    for name, description in list_presets().items():
        print(f"  {name:<24s} {description}")
    print("CV types:  " + ", ".join(sorted(HANDLERS)))
    print("protocols: " + ", ".join(PROTOCOLS))
    return 0


def _show(args: argparse.Namespace) -> int:
    from nucleate.systems import Groups, read_data
    from nucleate.validate import load_yaml

    from . import render_plumed

    config = _load_spec(args.spec)
    if args.set:
        if "preset" not in config:
            raise NucleateError("--set only applies to presets; edit the spec file instead")
        patches = config.setdefault("overrides", {}).setdefault("cvs", {})
        for item in args.set:
            target, _, value = item.partition("=")
            cv, _, key = target.partition(".")
            if not (cv and key and value):
                raise NucleateError(f"--set {item!r}: write CV.KEY=VALUE, e.g. c_box.at=[10,10,10]")
            patches.setdefault(cv, {})[key] = load_yaml(value, f"--set {item}")
    if args.groups:
        data, groups = read_data(args.data), Groups.read(args.groups)
        _check_type_map(args.type_map, groups, args.groups)
    else:
        data, groups = _recognise(args.data, args.type_map, config)
    text = render_plumed(config, groups, data, temperature_K=args.temperature, restart=args.restart)
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    else:
        print(text, end="")
    return 0


def _load_spec(spec: str) -> dict:
    from nucleate.validate import load_yaml

    path = Path(spec)
    if not path.is_file():
        if spec.endswith((".yaml", ".yml")):
            raise NucleateError(f"spec file {spec} does not exist")
        return {"preset": spec}
    document = load_yaml(path.read_text(), str(path))  # duplicate keys are refused too
    if not isinstance(document, dict):
        raise NucleateError(f"{path}: expected a mapping with a plumed: section")
    section = document.get("plumed", document)
    if isinstance(section, str):
        raise NucleateError(f"{path}: plumed: names the file {section!r}; such a file runs verbatim, nothing to generate")
    return section


def _check_type_map(type_map: str | None, groups, groups_path: str) -> None:
    """A --type-map given with --groups must be the one the groups file records (the groups name its atoms)."""
    if type_map is None or not groups.type_map:
        return
    given = [t.strip() for t in type_map.split(",") if t.strip()]
    if given != list(groups.type_map):
        raise NucleateError(f"--type-map {','.join(given)} differs from the type map {','.join(groups.type_map)} of "
                            f"{groups_path}; leave --type-map out to use the groups file's")


def _recognise(data_path: str, type_map: str | None, config: dict):
    """Groups from bonding; a preset's composition tells import_data which molecules to find. Without
    --type-map, import_data takes the elements from the data file's masses (or asks for the map)."""
    from nucleate.systems import import_data

    from .presets import preset_composition

    composition = preset_composition(config["preset"]) if "preset" in config else None
    return import_data(data_path, type_map, composition=composition)
