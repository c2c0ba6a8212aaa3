"""Run specification: what to simulate, as a YAML/TOML file or the same thing as Python objects.

Units are explicit in the field names (`temperature_K`, `timestep_fs`, `tdamp_fs`); LAMMPS
itself always runs in `units metal` (eV, Angstrom, ps).  A minimal YAML spec:

    system:
      data: system.data            # LAMMPS data file (atom_style atomic)
      type_map: [Ag, S, N, C, H, O]
      groups: groups.json          # optional; element groups are derived when absent
    potential:
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

Relative paths are relative to the spec file.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nucleate.errors import NucleateError

THERMOSTATS = ("nose-hoover", "langevin", "csvr", "nve")
DEFAULT_TYPE_MAP = ["Ag", "S", "N", "C", "H", "O"]


@dataclass
class SystemSpec:
    data: Path
    type_map: list[str] = field(default_factory=lambda: list(DEFAULT_TYPE_MAP))
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
        where = source or "spec"
        data = copy.deepcopy(data)
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

        def resolve(p) -> Path:
            path = Path(str(p)).expanduser()
            return path if path.is_absolute() else (base_dir / path).resolve()

        sys_d = section("system", required=True)
        if "data" not in sys_d:
            raise NucleateError(f"{where}: system.data (the LAMMPS data file) is required")
        system = SystemSpec(
            data=resolve(sys_d["data"]),
            type_map=[str(t) for t in sys_d.get("type_map", DEFAULT_TYPE_MAP)],
            groups=resolve(sys_d["groups"]) if sys_d.get("groups") else None,
        )
        _reject_unknown(sys_d, {"data", "type_map", "groups"}, f"{where}: system")

        pot_d = section("potential")
        if not pot_d:
            # no potential named: the embedded Ag/S/N/C/H/O demonstration model (models/ag6)
            from nucleate.models import ag6_model_path  # noqa: PLC0415

            pot_d = {"deepmd": str(ag6_model_path())}
        _reject_unknown(pot_d, {"deepmd", "model_deviation", "pair_style", "pair_coeff"}, f"{where}: potential")
        _reject_unknown(pot_d.get("model_deviation") or {}, {"out_freq", "out_file", "atomic"},
                        f"{where}: potential.model_deviation")
        models = pot_d.get("deepmd") or []
        if isinstance(models, (str, Path)):
            models = [models]
        potential = PotentialSpec(
            deepmd=[resolve(m) for m in models],
            model_deviation=dict(pot_d.get("model_deviation") or {}),
            pair_style=pot_d.get("pair_style"),
            pair_coeff=[str(c) for c in (pot_d.get("pair_coeff") or [])],
        )

        md_d = section("md")
        _reject_unknown(md_d, set(MDSpec.__dataclass_fields__), f"{where}: md")
        md = MDSpec(**md_d)
        out_d = section("output")
        _reject_unknown(out_d, set(OutputSpec.__dataclass_fields__), f"{where}: output")
        output = OutputSpec(**out_d)

        plumed = data.get("plumed")
        if plumed is not None:
            if isinstance(plumed, str):
                plumed = {"file": plumed}
            if not isinstance(plumed, dict):
                raise NucleateError(f"{where}: 'plumed' must be a file name or a mapping")
            if "file" in plumed:
                plumed = dict(plumed, file=resolve(plumed["file"]))
        spec = cls(system=system, potential=potential, md=md, output=output, plumed=plumed,
                   name=str(data.get("name", "run")), source=where)
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

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Checks that need no LAMMPS: numbers in range, files present, choices known."""
        where = self.source or "spec"
        md, out = self.md, self.output
        if md.thermostat not in THERMOSTATS:
            raise NucleateError(f"{where}: md.thermostat {md.thermostat!r} is not one of {', '.join(THERMOSTATS)}")
        for name, value in (("md.temperature_K", md.temperature_K), ("md.timestep_fs", md.timestep_fs),
                            ("md.tdamp_fs", md.tdamp_fs)):
            if not isinstance(value, (int, float)) or value <= 0:
                raise NucleateError(f"{where}: {name} must be a positive number, got {value!r}")
        if md.timestep_fs > 5:
            raise NucleateError(f"{where}: md.timestep_fs = {md.timestep_fs} fs is far too large for atomistic MD "
                                "(the study uses 0.5 fs); note the unit is femtoseconds")
        if not isinstance(md.minimize, bool):
            raise NucleateError(f"{where}: md.minimize must be true or false, got {md.minimize!r}")
        if not isinstance(md.minimize_force_eV_per_A, (int, float)) or md.minimize_force_eV_per_A <= 0:
            raise NucleateError(f"{where}: md.minimize_force_eV_per_A must be a positive number (eV/A), "
                                f"got {md.minimize_force_eV_per_A!r}")
        if not isinstance(md.minimize_max_iterations, int) or md.minimize_max_iterations < 1:
            raise NucleateError(f"{where}: md.minimize_max_iterations must be a positive integer, "
                                f"got {md.minimize_max_iterations!r}")
        for name, value in (("md.steps", md.steps), ("output.thermo", out.thermo), ("output.dump", out.dump),
                            ("output.checkpoint", out.checkpoint)):
            if not isinstance(value, int) or value < (0 if name == "md.steps" else 1):
                raise NucleateError(f"{where}: {name} must be a {'non-negative' if name == 'md.steps' else 'positive'} integer, got {value!r}")
        if not isinstance(md.seed, int) or not 0 < md.seed < 900_000_000:
            raise NucleateError(f"{where}: md.seed must be an integer between 1 and 899999999 (LAMMPS's limit), got {md.seed!r}")
        if not self.system.type_map or len(set(self.system.type_map)) != len(self.system.type_map):
            raise NucleateError(f"{where}: system.type_map {self.system.type_map} must list distinct element names")
        pot = self.potential
        if pot.is_deepmd == bool(pot.pair_style):
            raise NucleateError(f"{where}: potential needs exactly one of 'deepmd' (model file(s)) or 'pair_style'")
        if pot.model_deviation and len(pot.deepmd) < 2:
            raise NucleateError(f"{where}: potential.model_deviation needs at least two DeePMD models")
        for model in pot.deepmd:
            _check_readable(model, f"{where}: DeePMD model")
        _check_readable(self.system.data, f"{where}: system.data")
        if self.system.groups is not None:
            _check_readable(self.system.groups, f"{where}: system.groups")
        if self.plumed and "file" in self.plumed:
            _check_readable(Path(self.plumed["file"]), f"{where}: plumed.file")

    @property
    def velocity_seed(self) -> int:
        return self.md.velocity_seed if self.md.velocity_seed is not None else self.md.seed


def _reject_unknown(section: dict, known: set[str], where: str) -> None:
    unknown = set(section) - known
    if unknown:
        raise NucleateError(f"{where}: unknown key(s) {sorted(unknown)}; known: {', '.join(sorted(known))}")


def _check_readable(path: Path, what: str) -> None:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except FileNotFoundError:
        raise NucleateError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise NucleateError(f"{what} {path} cannot be read: {exc.strerror}") from None


def load_spec(path: str | Path) -> RunSpec:
    """Read a YAML (.yaml/.yml) or TOML (.toml) run specification."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise NucleateError(f"spec file {path} does not exist") from None
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise NucleateError(f"{path}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except tomllib.TOMLDecodeError as exc:
        raise NucleateError(f"{path}: not valid TOML ({exc})") from None
    if not isinstance(data, dict):
        raise NucleateError(f"{path}: a spec must be a mapping with system/potential/md/output/plumed sections")
    return RunSpec.from_dict(data, base_dir=path.parent, source=str(path))
