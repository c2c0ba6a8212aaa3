"""Run specification: what to simulate, as a YAML/TOML file or the same thing as Python objects.

Units are explicit in the field names (`temperature_K`, `timestep_fs`, `tdamp_fs`); LAMMPS
itself always runs in `units metal` (eV, Angstrom, ps).  A minimal YAML spec:

    system:
      data: system.data            # LAMMPS data file (atom_style atomic)
      type_map: [Ag, S, N, C, H, O]  # element of each atom type; default: the groups file's type_map
      groups: groups.json          # optional; element groups are derived when absent
    potential:                     # required: the engine never picks a model by itself
      deepmd: model.pb             # or a list of models -> model deviation
      # model_deviation: {out_freq: 100, out_file: model_devi.out, atomic: false}  # atomic: per-atom deviations too
      # or, for toy systems and tests:  pair_style: "lj/cut 8.0"  pair_coeff: ["* * 0.01 3.4"]
    md:
      temperature_K: 300
      timestep_fs: 0.5
      steps: 10000
      thermostat: nose-hoover      # nose-hoover | langevin | csvr | nve
      tdamp_fs: 50
      seed: 21734
      minimize: false              # true: CG-minimise a fresh start first (packed boxes), see MDSpec
    output: {thermo: 20, dump: 100, checkpoint: 1000}
    plumed:
      file: plumed.dat             # used verbatim; or a CV/protocol/preset block (nucleate.plumed_cvs)

Relative paths are relative to the spec file. `load_spec(path, models=[...])` replaces the spec's
potential with DeePMD model files (the command line's `--model`), so a spec may then leave it out.

Every value is checked before anything is written (nucleate.validate): no text anywhere may hold
a line break or other control character, `name` is a plain name, type-map entries are element
symbols, pair_style/pair_coeff use only the characters LAMMPS arguments need, output file names
stay inside the run directory, and numbers are finite, with integers that are not booleans.
A YAML spec may not give a key twice.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nucleate import validate as check
from nucleate.errors import NucleateError

THERMOSTATS = ("nose-hoover", "langevin", "csvr", "nve")


@dataclass
class SystemSpec:
    data: Path
    type_map: list[str]
    groups: Path | None = None


@dataclass
class PotentialSpec:
    deepmd: list[Path] = field(default_factory=list)
    model_deviation: dict[str, Any] = field(default_factory=dict)  # out_freq, out_file
    pair_style: str | None = None
    pair_coeff: list[str] = field(default_factory=list)

    @property
    def is_deepmd(self) -> bool:
        return bool(self.deepmd)


@dataclass
class MDSpec:
    temperature_K: float = 300.0
    timestep_fs: float = 0.5
    steps: int = 1000
    thermostat: str = "nose-hoover"
    tdamp_fs: float = 50.0
    seed: int = 12345
    velocity_seed: int | None = None  # defaults to `seed`
    initial_temperature_K: float | None = None  # defaults to temperature_K; 0 = no velocities
    # energy minimisation (LAMMPS CG) of a fresh run's start, before velocities and PLUMED: packed boxes
    # keep molecules apart but not at their contact distances, and MD from them heats by hundreds of K
    minimize: bool = False
    minimize_force_eV_per_A: float = 0.05   # stop when the largest force component is below this
    minimize_max_iterations: int = 1000
    # a group of groups.json whose atoms keep their places during the minimisation (e.g. "solute": the
    # solvent relaxes around solutes already placed inside their walls, which a free minimisation moves)
    minimize_hold: str | None = None

    @property
    def timestep_ps(self) -> float:
        return self.timestep_fs * 1.0e-3

    @property
    def tdamp_ps(self) -> float:
        return self.tdamp_fs * 1.0e-3


@dataclass
class OutputSpec:
    thermo: int = 100
    dump: int = 100
    checkpoint: int = 1000
    progress: int | None = None  # steps between progress updates; default from checkpoint


@dataclass
class RunSpec:
    system: SystemSpec
    potential: PotentialSpec
    md: MDSpec = field(default_factory=MDSpec)
    output: OutputSpec = field(default_factory=OutputSpec)
    plumed: dict[str, Any] | None = None  # {"file": path} | CV/protocol/preset config | None
    name: str = "run"
    source: str = ""  # where the spec came from, for messages

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, data: dict[str, Any], base_dir: Path | None = None, source: str = "") -> "RunSpec":
        base_dir = Path(base_dir or ".")
        where = check.printable(source) if source else "spec"
        if not isinstance(data, dict):
            raise NucleateError(f"{where}: a spec must be a mapping with system/potential/md/output/plumed sections")
        data = copy.deepcopy(data)
        check.no_control_chars_in_document(data, where)  # no line break in any value, at any depth
        unknown = set(data) - {"system", "potential", "md", "output", "plumed", "name"}
        if unknown:
            raise NucleateError(f"{where}: unknown section(s) {sorted(unknown)}; expected system, potential, md, output, plumed, name")

        def section(name: str, required: bool = False) -> dict:
            value = data.get(name)
            if value is None:
                if required:
                    raise NucleateError(f"{where}: the '{name}' section is required")
                return {}
            if not isinstance(value, dict):
                raise NucleateError(f"{where}: '{name}' must be a mapping, got {type(value).__name__}")
            return value

        def resolve(p, key: str) -> Path:
            if not isinstance(p, (str, Path)):
                raise NucleateError(f"{where}: {key} must be a file name, got {p!r}")
            path = Path(p).expanduser()
            return path if path.is_absolute() else (base_dir / path).resolve()

        sys_d = section("system", required=True)
        if "data" not in sys_d:
            raise NucleateError(f"{where}: system.data (the LAMMPS data file) is required")
        check.known_keys(sys_d, {"data", "type_map", "groups"}, f"{where}: system")
        groups = resolve(sys_d["groups"], "system.groups") if sys_d.get("groups") else None
        type_map = sys_d.get("type_map")
        system = SystemSpec(
            data=resolve(sys_d["data"], "system.data"),
            type_map=list(_as_list(type_map, f"{where}: system.type_map")) if type_map is not None
            else _type_map_of_groups(groups, where),
            groups=groups,
        )

        pot_d = section("potential")
        if not pot_d:
            raise NucleateError(_no_potential_message(where))
        check.known_keys(pot_d, {"deepmd", "model_deviation", "pair_style", "pair_coeff"}, f"{where}: potential")
        deviation = pot_d.get("model_deviation") or {}
        if not isinstance(deviation, dict):
            raise NucleateError(f"{where}: potential.model_deviation must be a mapping, got {deviation!r}")
        check.known_keys(deviation, {"out_freq", "out_file", "atomic"}, f"{where}: potential.model_deviation")
        models = pot_d.get("deepmd") or []
        if isinstance(models, Path):
            models = [models]
        potential = PotentialSpec(
            deepmd=[resolve(m, "potential.deepmd") for m in _as_list(models, f"{where}: potential.deepmd")],
            model_deviation=dict(pot_d.get("model_deviation") or {}),
            pair_style=pot_d.get("pair_style"),
            pair_coeff=list(_as_list(pot_d.get("pair_coeff") or [], f"{where}: potential.pair_coeff")),
        )

        md_d = section("md")
        check.known_keys(md_d, set(MDSpec.__dataclass_fields__), f"{where}: md")
        md = MDSpec(**md_d)
        out_d = section("output")
        check.known_keys(out_d, set(OutputSpec.__dataclass_fields__), f"{where}: output")
        output = OutputSpec(**out_d)

        plumed = data.get("plumed")
        if plumed is not None:
            if isinstance(plumed, str):
                plumed = {"file": plumed}
            if not isinstance(plumed, dict):
                raise NucleateError(f"{where}: 'plumed' must be a file name or a mapping")
            if "file" in plumed:
                plumed = dict(plumed, file=resolve(plumed["file"], "plumed.file"))
        spec = cls(system=system, potential=potential, md=md, output=output, plumed=plumed,
                   name=data.get("name", "run"), source=where)
        spec.validate()
        return spec

    def to_dict(self) -> dict[str, Any]:
        def plain(value):
            if isinstance(value, Path):
                return str(value)
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [plain(v) for v in value]
            return value

        out = plain(asdict(self))
        out.pop("source", None)
        return out

    def to_input_dict(self) -> dict[str, Any]:
        """to_dict without the potential's empty fields: a dict that from_dict accepts again (from_dict
        refuses an empty deepmd list, or pair_coeff without pair_style)."""
        data = self.to_dict()
        without_empty_potential_fields(data)
        return data

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Checks that need no LAMMPS: values safe to write into in.lammps, numbers in range,
        files present, choices known."""
        where = self.source or "spec"
        check.run_name(self.name, f"{where}: name")
        self._validate_md(where)
        self._validate_output(where)
        self._validate_system(where)
        self._validate_potential(where)
        for model in self.potential.deepmd:
            _check_readable(model, f"{where}: DeePMD model")
        _check_readable(self.system.data, f"{where}: system.data")
        if self.system.groups is not None:
            _check_readable(self.system.groups, f"{where}: system.groups")
        if self.plumed and "file" in self.plumed:
            _check_readable(Path(self.plumed["file"]), f"{where}: plumed.file")

    def _validate_md(self, where: str) -> None:
        md = self.md
        if not isinstance(md.thermostat, str) or md.thermostat not in THERMOSTATS:
            raise NucleateError(f"{where}: md.thermostat {md.thermostat!r} is not one of {', '.join(THERMOSTATS)}")
        for name in ("temperature_K", "timestep_fs", "tdamp_fs"):
            _positive_number(getattr(md, name), f"{where}: md.{name}")
        if md.timestep_fs > 5:
            raise NucleateError(f"{where}: md.timestep_fs = {md.timestep_fs} fs is far too large for atomistic MD "
                                "(the study uses 0.5 fs); note the unit is femtoseconds")
        if md.initial_temperature_K is not None:  # 0 is allowed: start without velocities
            check.number(md.initial_temperature_K, f"{where}: md.initial_temperature_K", at_least=0)
        check.flag(md.minimize, f"{where}: md.minimize")
        _positive_number(md.minimize_force_eV_per_A, f"{where}: md.minimize_force_eV_per_A (eV/A)")
        check.integer(md.minimize_max_iterations, f"{where}: md.minimize_max_iterations", at_least=1)
        if md.minimize_hold is not None:
            check.identifier(md.minimize_hold, f"{where}: md.minimize_hold")
        check.integer(md.steps, f"{where}: md.steps", at_least=0)
        _seed(md.seed, f"{where}: md.seed")
        if md.velocity_seed is not None:
            _seed(md.velocity_seed, f"{where}: md.velocity_seed")

    def _validate_output(self, where: str) -> None:
        out = self.output
        for name in ("thermo", "dump", "checkpoint"):
            check.integer(getattr(out, name), f"{where}: output.{name}", at_least=1)
        if out.progress is not None:
            check.integer(out.progress, f"{where}: output.progress", at_least=1)

    def _validate_system(self, where: str) -> None:
        type_map = self.system.type_map
        if not isinstance(type_map, (list, tuple)) or not type_map:
            raise NucleateError(f"{where}: system.type_map must list the element of each atom type, got {type_map!r}")
        for index, name in enumerate(type_map):
            check.element(name, f"{where}: system.type_map[{index}]")
        if len(set(type_map)) != len(type_map):
            raise NucleateError(f"{where}: system.type_map {type_map} must list distinct element names")

    def _validate_potential(self, where: str) -> None:
        pot = self.potential
        if pot.is_deepmd == bool(pot.pair_style):
            raise NucleateError(f"{where}: potential needs exactly one of 'deepmd' (model file(s)) or 'pair_style'")
        if pot.pair_style is not None:
            check.lammps_arguments(pot.pair_style, f"{where}: potential.pair_style")
        for index, line in enumerate(pot.pair_coeff):
            check.lammps_arguments(line, f"{where}: potential.pair_coeff[{index}]")
        for index, model in enumerate(pot.deepmd):
            # the copy inside the run directory keeps the suffix (DeePMD picks its backend by it)
            if not _MODEL_SUFFIX.match(Path(model).suffix):
                name = check.printable(Path(model).name)
                raise NucleateError(f"{where}: potential.deepmd[{index}]: the model file name {name!r} must end "
                                    "in a plain suffix such as .pb or .pth")
        deviation = pot.model_deviation
        if not isinstance(deviation, dict):
            raise NucleateError(f"{where}: potential.model_deviation must be a mapping, got {deviation!r}")
        if deviation and len(pot.deepmd) < 2:
            raise NucleateError(f"{where}: potential.model_deviation needs at least two DeePMD models")
        if "out_freq" in deviation:
            check.integer(deviation["out_freq"], f"{where}: potential.model_deviation.out_freq", at_least=1)
        if "out_file" in deviation:
            check.output_name(deviation["out_file"], f"{where}: potential.model_deviation.out_file")
        if "atomic" in deviation:
            check.flag(deviation["atomic"], f"{where}: potential.model_deviation.atomic")

    @property
    def velocity_seed(self) -> int:
        return self.md.velocity_seed if self.md.velocity_seed is not None else self.md.seed


_MODEL_SUFFIX = re.compile(r"^(\.[A-Za-z0-9_]+)?$")


def _type_map_of_groups(groups: Path | None, where: str) -> list[str]:
    """A spec without system.type_map takes the one its groups file records (nucleate build and
    import-system write it); there is no default, since a wrong map silently mislabels every atom."""
    ask = "list the element of each atom type in type order, e.g. system.type_map: [C, H, O]"
    if groups is None:
        raise NucleateError(f"{where}: system.type_map is missing and there is no groups file to take it from; {ask}")
    from nucleate.systems.groups import Groups

    type_map = Groups.read(groups).type_map
    if not type_map:
        raise NucleateError(f"{where}: system.type_map is missing and the groups file {check.printable(str(groups))} "
                            f"records none; {ask}")
    return list(type_map)


def _no_potential_message(where: str) -> str:
    # The engine never picks a model by itself: the message only points at the one nucleate ships.
    from nucleate.models import AG6_DIR

    return (f"{where}: no potential given; give `potential: {{deepmd: model.pb}}` in the spec or "
            f"--model MODEL.pb, e.g. the embedded demonstration model at {AG6_DIR / 'model.pb'}")


def _as_list(value, key: str) -> list:
    """A list as given; one string is one entry (never its characters)."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise NucleateError(f"{key} must be a list, got {value!r}")
    return list(value)


def _positive_number(value, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise NucleateError(f"{key} must be a positive number, got {value!r}")
    return value


def without_empty_potential_fields(data: dict) -> dict:
    """Drop the empty deepmd/model_deviation and an unset pair_style (with its pair_coeff) from a spec
    dict written by RunSpec.to_dict, in place, so that from_dict accepts it again."""
    potential = data["potential"]
    for key in ("deepmd", "model_deviation"):
        if not potential.get(key):
            potential.pop(key, None)
    if not potential.get("pair_style"):
        potential.pop("pair_style", None)
        potential.pop("pair_coeff", None)
    return data


def _seed(value, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 900_000_000:
        raise NucleateError(f"{key} must be an integer between 1 and 899999999 (LAMMPS's limit), got {value!r}")
    return value


def _check_readable(path: Path, what: str) -> None:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except FileNotFoundError:
        raise NucleateError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise NucleateError(f"{what} {path} cannot be read: {exc.strerror}") from None


def load_spec(path: str | Path, models: list[str | Path] | None = None) -> RunSpec:
    """Read a YAML (.yaml/.yml) or TOML (.toml) run specification.

    `models`: DeePMD model files (relative to the working directory) that replace the spec's potential,
    as `--model` does; the spec's model_deviation settings are kept."""
    path = Path(path)
    source = check.printable(str(path))  # echoed in messages and in in.lammps: one printable line
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise NucleateError(f"spec file {source} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NucleateError(f"spec file {source} cannot be read ({check.printable(str(exc))})") from None
    data = check.load_document(text, path.suffix, source)
    if not isinstance(data, dict):
        raise NucleateError(f"{source}: a spec must be a mapping with system/potential/md/output/plumed sections")
    if models:
        potential = data.get("potential") if isinstance(data.get("potential"), dict) else {}
        data["potential"] = {**{k: v for k, v in potential.items() if k == "model_deviation"},
                             "deepmd": [str(Path(m).expanduser().resolve()) for m in models]}
    return RunSpec.from_dict(data, base_dir=path.parent, source=source)
