"""A run directory's `manifest.json`: its schema, written and checked in this one place.

`nucleate render` writes the manifest with `new_manifest`; the runner appends one segment record
per run segment (`RunDirectory.add_segment`); `RunDirectory.manifest()` reads it back through
`check_manifest`, which refuses, naming the file, a manifest of another format or one that lacks
a required key or holds one of the wrong type -- one clear error at the door instead of a
KeyError deep inside whatever read it.  The manifest stays a plain JSON object (a `dict` in
Python), so its readers index it by the names below.

`FIELDS` describes every top-level key (name, JSON type, meaning, unit) and `SEGMENT_FIELDS` the
keys of a segment record.  Within format `nucleate-run/1` keys are only ever added, never renamed
or given another meaning: a reader ignores keys it does not know, and a key added after the first
version is optional (`required=False`), because run directories rendered before it lack it.
Everything else changes the format string.

The spec recorded in the manifest points at the user's files; `spec_of_rendered_run` points it
at the copies inside the run directory, which are what the run runs (see its docstring).

    >>> from nucleate.engine.rundir import RunDirectory
    >>> manifest = RunDirectory("run").manifest()          # doctest: +SKIP
    >>> manifest["temperature_K"], manifest["segments"][-1]["end_step"]   # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nucleate.errors import NucleateError

from . import rundir as rd
from .spec import RunSpec, without_empty_potential_fields

FORMAT = "nucleate-run/1"


@dataclass(frozen=True)
class Field:
    """One key of the manifest (or of a segment record)."""

    name: str
    types: tuple[type, ...]  # the Python types json.load gives for it
    meaning: str
    unit: str | None = None  # physical unit of the value (or of its entries), where it has one
    required: bool = True  # False: added after the format's first version, or written only sometimes
    nullable: bool = False  # null is a valid value

    @property
    def json_type(self) -> str:
        names = {dict: "object", list: "array", str: "string", int: "integer", float: "number", bool: "boolean"}
        kinds = [names[t] for t in self.types if not (t is int and float in self.types)]
        return " | ".join(kinds + (["null"] if self.nullable else []))


_NUMBER = (int, float)

# Top-level keys, in the order new_manifest writes them.
FIELDS: tuple[Field, ...] = (
    Field("format", (str,), f"the manifest's format and version: {FORMAT!r}"),
    Field("name", (str,), "the run's name (spec `name`)"),
    Field("created", (str,), "when the run directory was rendered (ISO 8601, local time with UTC offset)"),
    Field("command_line", (list,), "the command line that rendered it (argv words)"),
    Field("spec_source", (str,), "where the spec came from (its file, or 'a Python RunSpec' text), for messages"),
    Field("spec", (dict,), "the spec as rendered (RunSpec.to_dict): paths are the user's originals, not the "
          "run directory's copies; spec_of_rendered_run turns it back into the RunSpec the run runs"),
    Field("seeds", (dict,), "random seeds: {velocity: seed of the initial velocities, thermostat: md.seed}"),
    Field("temperature_K", _NUMBER, "thermostat temperature (md.temperature_K)", unit="K"),
    Field("timestep_fs", _NUMBER, "MD timestep (md.timestep_fs); LAMMPS itself gets it in ps", unit="fs"),
    Field("type_map", (list,), "element symbol of each LAMMPS atom type, type 1 first"),
    Field("natoms", (int,), "number of atoms in system.data"),
    Field("plumed_units", (dict,), "the UNITS of plumed.dat, PLUMED's defaults where it declares none: "
          "{energy, length, time}, lower case (e.g. 'kj/mol', 'nm', 'ps'); the units of COLVAR and HILLS. "
          "null: the run has no PLUMED input", nullable=True),
    Field("start_bias", (dict,), "walls, restraints and guards of a generated plumed: section evaluated on the "
          "start configuration (StartBias.to_dict: preset, energy_unit, temperature_K, kT, total, total_kT, "
          "terms, notes; energies in energy_unit). null: no generated PLUMED input; absent in run directories "
          "rendered before it was recorded", unit="energy_unit (its own key)", required=False, nullable=True),
    Field("lammps_units", (dict,), "the units LAMMPS runs in (`units metal`): {energy: eV, length: A, time: ps}; "
          "the units of thermo.csv and traj.lammpstrj"),
    Field("models", (list,), "file names of the DeePMD model copies inside the run directory (model.pb, "
          "model_1.pb, ...), in the spec's order; empty for a pair_style potential"),
    Field("versions", (dict,), "versions of nucleate, Python, LAMMPS, DeePMD-kit, PLUMED and the libraries "
          "that shaped the run (render.component_versions)"),
    Field("input_hashes", (dict,), "SHA-256 (hex) of each input file in the run directory at render time "
          "(in.lammps, system.data, groups.json, plumed.dat, models), by file name; a walker campaign "
          "updates plumed.dat's after rewriting it"),
    Field("segments", (list,), "one record per run segment, oldest first (keys: SEGMENT_FIELDS); "
          "empty until the run is first run"),
    Field("earlier_attempts", (list,), "attempts started again from step 0 (--overwrite, or a first segment "
          "that failed before any checkpoint): [{kept_in: the replaced-<time>/ folder holding their files, "
          "segments: their segment records}]; absent until the first such restart", required=False),
)

# Keys of a segment record (manifest["segments"][k]), as engine/runner.py and engine/native.py write them.
# On read only the record's being an object is checked: the engines own their records' contents.
SEGMENT_FIELDS: tuple[Field, ...] = (
    Field("kind", (str,), "'run' (from step 0) or 'continue' (from a checkpoint)"),
    Field("engine", (str,), "'lammps': run by a LAMMPS executable (engine/native.py); absent: run in nucleate's "
          "own process (engine/runner.py)", required=False),
    Field("command", (str,), "the command line that ran the LAMMPS executable (native segments only)",
          required=False),
    Field("start_step", (int,), "MD step the segment started from", unit="steps"),
    Field("end_step", (int,), "MD step it reached", unit="steps"),
    Field("target_step", (int,), "MD step it was to reach", unit="steps"),
    Field("status", (str,), "'completed', 'interrupted' (a signal), 'time-limit' (stopped cleanly at the time "
          "limit) or 'failed' (an error; the last checkpoint is intact)"),
    Field("wall_s", _NUMBER, "wall time of the whole segment, start-up included", unit="s"),
    Field("steps_per_s", _NUMBER, "MD steps per wall-clock second of the run loop (start-up excluded)",
          unit="steps/s"),
    Field("wall_per_step_s", _NUMBER, "wall_s per step done, start-up included; null when no step was done",
          unit="s/step", required=False, nullable=True),
    Field("plumed_ms_per_step", _NUMBER, "mean wall time inside PLUMED per force evaluation after the first "
          "(only with PLUMED, after at least two evaluations; also the plumed_* keys below)", unit="ms",
          required=False),
    Field("plumed_share", _NUMBER, "plumed_ms_per_step as a fraction of the run loop's time per step",
          unit="fraction (0-1)", required=False, nullable=True),
    Field("plumed_s", _NUMBER, "total wall time inside PLUMED's cmd calls", unit="s", required=False),
    Field("plumed_callback_s", _NUMBER, "total wall time of the coupling's callback (PLUMED + its Python)",
          unit="s", required=False),
    Field("plumed_calls", (int,), "force evaluations PLUMED took part in (MD steps + the set-up evaluation)",
          required=False),
    Field("plumed_init_s", _NUMBER, "PLUMED's set-up: reading the input, building its actions", unit="s",
          required=False),
    Field("input", (str,), "file name of the exact LAMMPS input the segment ran (in.local[.from-step-N].lammps, "
          "or native.*); null when it failed before writing one; absent in segments run before it was recorded",
          required=False, nullable=True),
    Field("input_sha256", (str,), "SHA-256 (hex) of that input", required=False, nullable=True),
    Field("finished", (str,), "when the segment ended (ISO 8601 with UTC offset)"),
)

LAMMPS_UNITS = {"energy": "eV", "length": "A", "time": "ps"}  # `units metal`, which in.lammps always sets


def new_manifest(spec: RunSpec, *, natoms: int, models: list[str], plumed_units: dict[str, str] | None,
                 start_bias: dict | None, versions: dict[str, str], input_hashes: dict[str, str],
                 command_line: list[str] | None = None) -> dict[str, Any]:
    """The manifest of a freshly rendered run directory (no segments yet), keys in FIELDS' order.

    `models`: the model copies' file names in the directory; `plumed_units`: the UNITS of its
    plumed.dat (None without PLUMED); `start_bias`: StartBias.to_dict() or None; `input_hashes`:
    SHA-256 of each input file by name; `command_line` defaults to sys.argv."""
    manifest = {
        "format": FORMAT,
        "name": spec.name,
        "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command_line": list(command_line or sys.argv),
        "spec_source": spec.source,
        "spec": spec.to_dict(),
        "seeds": {"velocity": spec.velocity_seed, "thermostat": spec.md.seed},
        "temperature_K": spec.md.temperature_K,
        "timestep_fs": spec.md.timestep_fs,
        "type_map": list(spec.system.type_map),
        "natoms": natoms,
        "plumed_units": plumed_units,
        "start_bias": start_bias,
        "lammps_units": dict(LAMMPS_UNITS),
        "models": list(models),
        "versions": dict(versions),
        "input_hashes": dict(input_hashes),
        "segments": [],
    }
    check_manifest(manifest, "the new manifest")
    return manifest


def check_manifest(manifest: Any, where: str | Path) -> dict[str, Any]:
    """`manifest` itself, if it is a `nucleate-run/1` manifest with every required key of the right
    type (FIELDS); otherwise one NucleateError naming `where` (the file) and everything wrong."""
    if not isinstance(manifest, dict):
        raise NucleateError(f"{where} is not a nucleate run manifest (a JSON object is expected, it holds "
                            f"{type(manifest).__name__}); render the run again")
    found = manifest.get("format")
    if found != FORMAT:
        raise NucleateError(f"{where} has format {found!r}, not {FORMAT!r}: it is not a run directory this version "
                            f"of nucleate can read (render the spec again, or use the nucleate that wrote it)")
    problems = _problems(manifest, FIELDS)
    spec = manifest.get("spec")
    if isinstance(spec, dict):
        problems += [f"spec.{key} is not an object" for key in ("system", "potential")
                     if not isinstance(spec.get(key), dict)]
    segments = manifest.get("segments")
    if isinstance(segments, list):
        problems += [f"segments[{k}] is not an object" for k, s in enumerate(segments) if not isinstance(s, dict)]
    if problems:
        raise NucleateError(f"{where} is damaged or was not written by nucleate: {'; '.join(problems)}; "
                            "render the run again (a run directory's manifest is written by `nucleate render`)")
    return manifest


def _problems(record: dict, fields: tuple[Field, ...]) -> list[str]:
    missing = [f.name for f in fields if f.required and f.name not in record]
    problems = [f"missing key{'s' if len(missing) > 1 else ''} {', '.join(missing)}"] if missing else []
    for f in fields:
        if f.name not in record:
            continue
        value = record[f.name]
        if value is None and f.nullable:
            continue
        if isinstance(value, bool) and bool not in f.types or not isinstance(value, f.types):
            problems.append(f"{f.name} is {_json_name(value)}, not {f.json_type}")
    return problems


def _json_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number")


def spec_of_rendered_run(run: rd.RunDirectory) -> RunSpec:
    """The RunSpec a rendered run directory runs: the manifest's spec, with system.data, groups.json,
    the DeePMD models and plumed.dat pointed at the copies inside the directory.

    Why the copies: a run directory is self-contained, so it runs (and every continuation of it
    runs) exactly the inputs it was rendered with and hashed, even after the user's originals
    were edited, moved or deleted, and the same on a cluster where those originals do not exist.
    The plumed.dat copy is also the generated input when the spec gave a CV/preset block, so the
    spec's plumed section becomes `{file: plumed.dat}` (none when the manifest records no PLUMED
    units, i.e. the run has no PLUMED input)."""
    manifest = run.manifest()
    data = manifest["spec"]
    data["system"]["data"] = str(run / rd.DATA)
    data["system"]["groups"] = str(run / rd.GROUPS)
    data["potential"]["deepmd"] = [str(run / name) for name in manifest["models"]]
    data["plumed"] = {"file": str(run / rd.PLUMED)} if manifest["plumed_units"] is not None else None
    without_empty_potential_fields(data)
    return RunSpec.from_dict(data, base_dir=run.path, source=str(run / rd.MANIFEST))
