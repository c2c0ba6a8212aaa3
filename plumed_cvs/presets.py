"""Presets: named `plumed:` sections stored as YAML in plumed_cvs/presets/ (name: ag6/monomer_dimer
is the file ag6_monomer_dimer.yaml). A spec uses one as {preset: NAME, overrides: {...}}.

Overrides merge into the preset: mappings merge key by key; for the named lists (cvs, walls,
restraints) a mapping {NAME: {...}} patches the entry with that name (e.g. moving a point:
{cvs: {c_box: {at: [10.6, 9.8, 9.8]}}}), while a list replaces the whole list.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

from nucleate.errors import NucleateError
from nucleate.validate import load_yaml

PRESET_DIR = Path(__file__).parent / "presets"
_NAMED_LISTS = ("cvs", "walls", "restraints")


def _file_for(name: str) -> Path:
    return PRESET_DIR / (name.replace("/", "_") + ".yaml")


@lru_cache(maxsize=None)
def _load(path: Path) -> dict:
    document = load_yaml(path.read_text(), f"preset file {path}")  # duplicate keys are refused too
    if not isinstance(document, dict) or "plumed" not in document:
        raise NucleateError(f"preset file {path} has no `plumed:` section")
    return document


def list_presets() -> dict[str, str]:
    """Preset name -> one-line description."""
    found = {}
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        document = _load(path)
        if document.get("name"):
            found[document["name"]] = str(document.get("description", "")).strip().splitlines()[0]
    return found


def preset_composition(name: str) -> dict | None:
    """The molecules (name -> count) a preset's rules refer to, e.g. {"AgL": 2}."""
    load_preset(name)
    return _load(_file_for(name)).get("composition")


def load_preset(name: str) -> dict:
    path = _file_for(str(name))
    if not path.exists() or _load(path).get("name") != name:
        raise NucleateError(f"unknown PLUMED preset {name!r}; available: {', '.join(list_presets()) or 'none'}")
    return copy.deepcopy(_load(path)["plumed"])


def resolve(config: dict) -> tuple[dict, str | None]:
    if "preset" not in config:
        if "overrides" in config:
            raise NucleateError("plumed: `overrides` only applies together with `preset:`")
        return config, None
    unknown = set(config) - {"preset", "overrides"}
    if unknown:
        raise NucleateError(f"plumed: with `preset:` only `overrides:` may be given, found {', '.join(sorted(unknown))}")
    name = config["preset"]
    base = load_preset(name)
    overrides = config.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise NucleateError(f"plumed.overrides must be a mapping, got {overrides!r}")
    return merge(base, overrides, "plumed.overrides"), name


def merge(base: dict, overrides: dict, where: str) -> dict:
    result = copy.deepcopy(base)
    for key, value in overrides.items():
        if key in _NAMED_LISTS and isinstance(value, dict) and isinstance(result.get(key), list):
            result[key] = _patch_named(result[key], value, f"{where}.{key}")
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value, f"{where}.{key}")
        else:
            result[key] = copy.deepcopy(value)
    return result


def _patch_named(items: list, patches: dict, where: str) -> list:
    items = copy.deepcopy(items)
    by_name = {item.get("name"): item for item in items if isinstance(item, dict)}
    for name, patch in patches.items():
        if name not in by_name:
            raise NucleateError(f"{where}: the preset has no entry named {name!r}; names: {', '.join(n for n in by_name if n)}")
        if not isinstance(patch, dict):
            raise NucleateError(f"{where}.{name}: expected a mapping of keys to change, got {patch!r}")
        by_name[name].update(copy.deepcopy(patch))
    return items
