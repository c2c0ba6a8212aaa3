"""`nucleate build`, `nucleate import-system`, `nucleate molecules`."""

from __future__ import annotations


def _parse_composition(text: str | None) -> dict[str, int] | None:
    from nucleate.errors import NucleateError

    if not text:
        return None
    out = {}
    for item in text.split(","):
        name, _, count = item.partition(":")
        if not count.strip().isdigit():
            raise NucleateError(f"--expect {text!r}: write NAME:COUNT pairs, e.g. AgL:2,methanol:120")
        out[name.strip()] = int(count)
    return out


def _build(args) -> int:
    from .builder import build
    from .spec import presets

    if args.list or not args.target:
        for name, description in presets().items():
            print(f"{name:28s} {description}")
        return 0 if args.list else 2
    result = build(args.target, args.output, seed=args.seed, overwrite=args.force, plumed_preset=args.plumed_preset)
    print(result.summary())
    print(f"wrote {result.data_path}, {result.groups_path} and build.json (seed {result.seed}, {result.seconds:.1f} s)")
    return 0


def _import(args) -> int:
    from .importer import import_system

    data_path, groups_path, groups = import_system(args.data, args.output, type_map=args.type_map, level=args.units,
                                                   composition=_parse_composition(args.expect), overwrite=args.force)
    counts: dict[str, int] = {}
    for mol in groups.molecules:
        counts[mol["name"]] = counts.get(mol["name"], 0) + 1
    found = ", ".join(f"{n} {name}" for name, n in counts.items()) or "no molecules recognised (element groups only)"
    print(f"{groups.natoms} atoms, type map {','.join(groups.type_map)}: {found}")
    print(f"wrote {data_path} and {groups_path} ({len(groups.names)} groups)")
    return 0


def _molecules(args) -> int:
    from .library import molecule, molecule_names

    for name in molecule_names():
        mol = molecule(name)
        relaxed = mol.provenance.get("relaxed", "not relaxed")
        print(f"{name:10s} {mol.formula():12s} {mol.natoms:3d} atoms  {mol.mass:8.2f} g/mol  {relaxed}")
        print(f"{'':10s} {mol.provenance.get('source', '')}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("build", help="build a solvated box from a preset or a YAML/TOML spec",
                       description="Place solutes, fill with solvent (packmol), write system.data + groups.json.")
    p.add_argument("target", nargs="?", help="preset name (see --list) or spec file")
    p.add_argument("-o", "--output", default="system", help="output folder (default: ./system)")
    p.add_argument("--seed", type=int, default=None, help="random seed (overrides the spec's)")
    p.add_argument("--force", action="store_true", help="overwrite the output folder's files")
    p.add_argument("--list", action="store_true", help="list the presets")
    p.add_argument("--plumed-preset", default=None, metavar="NAME",
                   help="place the solutes inside this PLUMED preset's walls and restraint and report their energy "
                   "(the ag6 presets name theirs; 'none' to place freely)")
    p.set_defaults(func=_build)

    p = sub.add_parser("import-system", help="name the molecules and atom groups of an existing LAMMPS data file",
                       description="Recognise molecules from bonding; write system.data + groups.json.")
    p.add_argument("data", help="LAMMPS data file")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.add_argument("--type-map", default=None, help="elements in type order, e.g. Ag,S,N,C,H,O (default: from the data file's masses; "
                   "required when it has none)")
    p.add_argument("--units", default="auto", choices=["auto", "AgL", "Ag2L2", "Ag6L6"],
                   help="how to group AgL units: keep them, pair into dimers, group into Ag6L6 (default auto)")
    p.add_argument("--expect", default=None, metavar="NAME:N,...",
                   help="required composition, e.g. AgL:2,methanol:120; picks the grouping that gives it")
    p.add_argument("--force", action="store_true", help="overwrite the output folder's files")
    p.set_defaults(func=_import)

    p = sub.add_parser("molecules", help="list the molecule library and where each geometry came from")
    p.set_defaults(func=_molecules)
