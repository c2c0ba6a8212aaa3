"""System specifications: what to put in a box, read from YAML/TOML files or the presets.

A spec (YAML or TOML; lengths in A, densities in g/cm^3):

    box: 20.0                      # cubic edge, or [x, y, z]
    seed: 1
    type_map: [Ag, S, N, C, H, O]  # element of LAMMPS type 1, 2, ...; default: the elements present,
                                   # in order of first appearance (solutes, then solvent)
    tolerance: 2.0                 # closest allowed contact between different molecules
    solutes:
      - {molecule: AgL, count: 2, placement: dispersed, min_separation: 4.0, within: 5.0}
    solvent: {molecule: methanol, count: 120}     # or density: 0.787 | liquid
    plumed_preset: ag6/monomer_dimer   # optional: place the solutes inside this PLUMED preset's walls
                                       # and restraints (systems.wall_fit); build.json reports their energy
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nucleate.errors import NucleateError
from nucleate.validate import known_keys, load_document, load_yaml, no_control_chars

from .library import molecule

PRESET_DIR = Path(__file__).resolve().parent / "presets"
PLACEMENTS = ("center", "dispersed")
_SPEC_KEYS = {"name", "description", "box", "seed", "type_map", "tolerance", "solutes", "solvent", "plumed_preset"}
_SOLUTE_KEYS = {"molecule", "count", "placement", "min_separation", "within"}
_SOLVENT_KEYS = {"molecule", "count", "density"}


@dataclass
class SoluteSpec:
    molecule: str
    count: int = 1
    placement: str = "center"
    min_separation: float = 3.0      # A, closest atom contact between different solute molecules
    within: float | None = None      # A, molecule centres at most this far from the box centre


@dataclass
class SolventSpec:
    molecule: str = "methanol"
    count: int | None = None
    density: float | None = None     # g/cm^3 of the free volume (box minus solute vdW volume)


@dataclass
class BoxSpec:
    box: np.ndarray                  # (3,) A
    solutes: list[SoluteSpec] = field(default_factory=list)
    solvent: SolventSpec | None = None
    seed: int = 1
    type_map: list[str] = field(default_factory=list)  # empty: elements_present(), see __post_init__
    tolerance: float = 2.0           # A
    name: str = ""
    description: str = ""
    source: str = ""
    plumed_preset: str | None = None  # nucleate.plumed_cvs preset whose walls the start must satisfy

    def __post_init__(self) -> None:
        # A box is not a study: without a type map its own elements number the types. A model trained
        # on a fixed order (the Ag6 study's DeePMD model) needs that order given, as its presets do.
        if not self.type_map:
            self.type_map = self.elements_present()

    def elements_present(self) -> list[str]:
        """The elements of the box in order of first appearance: solutes in their order, then the solvent."""
        names = [s.molecule for s in self.solutes] + ([self.solvent.molecule] if self.solvent else [])
        return list(dict.fromkeys(el for name in names for el in molecule(name).elements))

    def to_dict(self) -> dict:
        return {
            "name": self.name, "description": self.description, "box": [float(b) for b in self.box],
            "seed": self.seed, "type_map": list(self.type_map), "tolerance": self.tolerance,
            "solutes": [vars(s).copy() for s in self.solutes],
            "solvent": vars(self.solvent).copy() if self.solvent else None,
            "plumed_preset": self.plumed_preset,
        }


def _number(where: str, value, kind=float, positive=True):
    if isinstance(value, bool):  # YAML's `true` is not 1
        raise NucleateError(f"{where}: {value!r} is not a {'whole number' if kind is int else 'number'}")
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise NucleateError(f"{where}: {value!r} is not a {'whole number' if kind is int else 'number'}") from None
    if kind is int and float(value) != number:
        raise NucleateError(f"{where}: {value!r} is not a whole number")
    if not math.isfinite(number):
        raise NucleateError(f"{where}: must be a finite number, got {value!r}")
    if positive and number <= 0:
        raise NucleateError(f"{where}: must be positive, got {value!r}")
    return number


def spec_from_dict(data: dict, source: str = "spec") -> BoxSpec:
    if not isinstance(data, dict):
        raise NucleateError(f"{source}: a system spec must be a mapping with box, solutes and solvent")
    known_keys(data, _SPEC_KEYS, source)
    if "box" not in data:
        raise NucleateError(f"{source}: missing 'box' (edge length in A, or [x, y, z])")
    box = data["box"] if isinstance(data["box"], (list, tuple)) else [data["box"]] * 3
    if len(box) != 3:
        raise NucleateError(f"{source}: box must be one edge length or three, got {data['box']!r}")
    box = np.array([_number(f"{source}: box", b) for b in box])
    solutes = []
    for k, item in enumerate(data.get("solutes") or [], start=1):
        where = f"{source}: solutes[{k}]"
        if not isinstance(item, dict) or "molecule" not in item:
            raise NucleateError(f"{where}: each solute needs at least 'molecule' (and count, placement)")
        known_keys(item, _SOLUTE_KEYS, where)
        molecule(item["molecule"])  # unknown names fail here, listing the library
        placement = item.get("placement", "center")
        if placement not in PLACEMENTS:
            raise NucleateError(f"{where}: placement {placement!r} unknown; use {' or '.join(PLACEMENTS)}")
        solute = SoluteSpec(molecule=item["molecule"], count=_number(f"{where}: count", item.get("count", 1), int),
                            placement=placement,
                            min_separation=_number(f"{where}: min_separation", item.get("min_separation", 3.0)),
                            within=None if item.get("within") is None else _number(f"{where}: within", item["within"]))
        if placement == "center" and solute.count != 1:
            raise NucleateError(f"{where}: only one molecule can sit at the box centre; use placement: dispersed "
                                f"(with 'within' to keep them near the centre) for {solute.count}")
        solutes.append(solute)
    solvent = None
    if data.get("solvent") is not None:
        item = data["solvent"]
        where = f"{source}: solvent"
        if not isinstance(item, dict):
            raise NucleateError(f"{where}: give a mapping such as {{molecule: methanol, density: liquid}}")
        known_keys(item, _SOLVENT_KEYS, where)
        name = item.get("molecule", "methanol")
        mol = molecule(name)
        if ("count" in item) == ("density" in item):
            raise NucleateError(f"{where}: give exactly one of count (molecules) or density (g/cm^3 or 'liquid')")
        density = item.get("density")
        if density == "liquid":
            density = mol.provenance.get("liquid_density_g_cm3")
            if density is None:
                raise NucleateError(f"{where}: no liquid density known for {name}; give density in g/cm^3")
        solvent = SolventSpec(molecule=name,
                              count=None if "count" not in item else _number(f"{where}: count", item["count"], int, positive=False),
                              density=None if density is None else _number(f"{where}: density", density))
    type_map = data.get("type_map") or []
    if isinstance(type_map, str):
        type_map = [t.strip() for t in type_map.split(",") if t.strip()]
    return BoxSpec(box=box, solutes=solutes, solvent=solvent,
                      seed=_number(f"{source}: seed", data.get("seed", 1), int, positive=False),
                      type_map=list(type_map), tolerance=_number(f"{source}: tolerance", data.get("tolerance", 2.0)),
                      name=no_control_chars(str(data.get("name", "")), f"{source}: name"),  # the data file's title line
                      description=str(data.get("description", "")), source=source,
                      plumed_preset=checked_plumed_preset(data.get("plumed_preset"), f"{source}: plumed_preset"))


def checked_plumed_preset(name, where: str) -> str | None:
    """A known nucleate.plumed_cvs preset name, or None."""
    if name is None or name == "none":
        return None
    from nucleate.plumed_cvs import list_presets

    known = list_presets()
    if not isinstance(name, str) or name not in known:
        raise NucleateError(f"{where}: {name!r} is not a PLUMED preset; known: {', '.join(sorted(known))} (or none)")
    return name


def read_spec(path: str | Path) -> BoxSpec:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise NucleateError(f"spec file {path} does not exist; give a preset name ({', '.join(presets())}) "
                            "or a YAML/TOML spec file") from None
    data = load_document(text, path.suffix, f"spec file {path}")  # duplicate YAML keys are refused too
    return spec_from_dict(data, source=str(path))


def _preset_table() -> dict[str, dict]:
    table = {}
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        for key, data in (load_yaml(path.read_text(), f"preset file {path}") or {}).items():
            table[f"{path.stem}/{key}"] = data
    return table


def presets() -> dict[str, str]:
    """Preset name -> one-line description."""
    return {name: str(data.get("description", "")).strip().splitlines()[0] if data.get("description") else ""
            for name, data in _preset_table().items()}


def load_box_spec(preset_or_path) -> BoxSpec:
    """A BoxSpec, a preset name ("ag6/monomer_dimer"), a mapping, or a YAML/TOML file path."""
    if isinstance(preset_or_path, BoxSpec):
        return preset_or_path
    if isinstance(preset_or_path, dict):
        return spec_from_dict(preset_or_path)
    text = str(preset_or_path)
    table = _preset_table()
    if text in table:
        spec = spec_from_dict(dict(table[text]), source=f"preset {text}")
        spec.name = spec.name or text
        return spec
    path = Path(text)
    if path.suffix in (".yaml", ".yml", ".toml", ".json") or path.exists():
        return read_spec(path)
    raise NucleateError(f"unknown preset {text!r}; presets: {', '.join(table)} (or give a YAML/TOML spec file)")
