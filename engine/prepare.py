"""A start prepared the way a model is validated: relaxed, then brought to temperature.

A packed box keeps molecules apart but not at their contact distances: MD straight from it heats by
tens to hundreds of K in the first femtoseconds, and with a DeePMD model trained near equilibrium
it can break molecules (the unbiased Ag6L6 box of the quick reproduction damaged methanol from
2 ps on, while the same model keeps the CG-relaxed box intact for 20 ps). So, before production:

  1. CG minimisation of the start (LAMMPS `minimize`, the run spec's model);
  2. a short Langevin equilibration at the run's temperature, with the static part of the run's
     PLUMED input active (walls, restraints, guards; no METAD/OPES, so no hills and nothing to
     reweight), so biased runs stay inside their walls while they warm up;
  3. the last frame written as a new box folder (system.data + groups.json), which the production
     run starts from with fresh Maxwell-Boltzmann velocities at its temperature.

    prepared = prepare(spec, "box-prepared", equilibrate_ps=0.25)
    # then: system: {data: box-prepared/system.data, groups: box-prepared/groups.json}

The box folder keeps the preparation's own run directory (`run/`: in.lammps, log, thermo.csv,
COLVAR of the walls) and `prepare.json`: what was done, the temperatures reached and the start's
wall energy before and after. Nothing of it reaches the production's outputs.
"""

from __future__ import annotations

import copy
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nucleate.errors import NucleateError

from . import rundir as rd
from .spec import RunSpec

log = logging.getLogger(__name__)

RECORD = "prepare.json"
RUN = "run"
DEFAULT_EQUILIBRATE_PS = 0.25
MINIMIZE_MAX_ITERATIONS = 200  # the packing strain is gone long before; each iteration costs ~2 force calls
HOLD_GROUP = "solute"          # held during the minimisation when the groups have it and a solvent
LANGEVIN_DAMP_FS = 20.0      # strong coupling: the kinetic temperature settles within ~0.05 ps


@dataclass
class PreparedBox:
    folder: Path
    data_path: Path
    groups_path: Path
    record: dict

    def describe(self) -> str:
        return describe(self.record)


def describe(record: dict) -> str:
    """One line: how the start was prepared."""
    parts = []
    if record.get("minimize"):
        held = record.get("minimize_held")
        parts.append("CG-minimised" + (f" around the {held} held in place" if held else ""))
    parts.append(f"{record['equilibrate_ps']:g} ps Langevin at {record['temperature_K']:g} K"
                 + (" with the walls and restraints of its PLUMED input" if record.get("static_plumed") else ""))
    mean_t = record.get("mean_temperature_K_last_half")
    if mean_t is not None:
        parts.append(f"mean T over its second half {mean_t:.0f} K")
    bias = record.get("start_bias_after")
    if bias:
        parts.append(f"walls at the production start {bias['total']:.2g} {bias['energy_unit']} "
                     f"({bias['total_kT']:.2g} kT)")
    return ", ".join(parts)


def preparation_spec(spec: RunSpec, steps: int, *, minimize: bool, hold: str | None = None,
                     iterations: int = MINIMIZE_MAX_ITERATIONS) -> RunSpec:
    """The production spec turned into its preparation: minimise (with the group `hold` held in place),
    Langevin at the same temperature, the static part of its PLUMED section, a trajectory frame at the end."""
    data = spec.to_input_dict()
    data["name"] = f"{spec.name}-prepare"[:64]
    md = data["md"]
    md.update(steps=steps, minimize=minimize, thermostat="langevin", tdamp_fs=LANGEVIN_DAMP_FS,
              initial_temperature_K=None, minimize_hold=hold,
              minimize_max_iterations=int(iterations))
    data["output"] = {"thermo": max(1, steps // 100), "dump": steps, "checkpoint": steps, "progress": None}
    plumed = spec.plumed
    if plumed and "file" not in plumed:
        from nucleate.plumed_cvs.static_bias import static_config

        static, _ = static_config(plumed)
        static["print_stride"] = max(1, steps // 100)
        data["plumed"] = static
    else:
        data["plumed"] = None  # a verbatim file cannot be split into its walls and its bias
    return RunSpec.from_dict(data, source=f"{spec.source or 'spec'} (preparation)")


def prepare(spec: RunSpec, folder: str | Path, *, equilibrate_ps: float = DEFAULT_EQUILIBRATE_PS,
            minimize: bool = True, minimize_iterations: int = MINIMIZE_MAX_ITERATIONS, overwrite: bool = False,
            progress_stream=None) -> PreparedBox:
    """Relax and equilibrate `spec`'s start; write the prepared box to `folder`. A folder that already holds
    a finished preparation of the same start is reused."""
    from nucleate.systems import read_data

    from .render import load_groups, render_run, start_bias
    from .runner import execute

    folder = Path(folder)
    if not (equilibrate_ps > 0):
        raise NucleateError(f"equilibration length must be positive, got {equilibrate_ps!r} ps")
    steps = max(1, int(round(equilibrate_ps * 1000.0 / spec.md.timestep_fs)))
    source_hash = rd.sha256(spec.system.data)
    done = _finished(folder, source_hash, steps, minimize and minimize_iterations)
    if done is not None and not overwrite:
        log.info("%s already holds this preparation; reusing it", folder)
        return done
    if folder.exists() and any(folder.iterdir()):
        if not overwrite:
            raise NucleateError(f"{folder} exists and holds something else; choose another folder or overwrite it")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    source = read_data(spec.system.data)
    groups = load_groups(spec, source)
    before = start_bias(spec, groups, source)
    # the solutes are held while the solvent relaxes around them: only when there is a solvent
    sizes = {name: groups.groups[name].size for name in (HOLD_GROUP, "solvent") if name in groups.groups}
    hold = HOLD_GROUP if sizes.get(HOLD_GROUP) and sizes.get("solvent") else None
    prep = preparation_spec(spec, steps, minimize=minimize, hold=hold, iterations=minimize_iterations)
    run = render_run(prep, folder / RUN, overwrite=True)
    result = execute(run.path, progress_stream=progress_stream)
    if result.status != "completed":
        raise NucleateError(f"the preparation in {run.path} did not finish ({result.status}); run it again")
    data_path, groups_path = _write_box(folder, run.path, spec, source)
    prepared = read_data(data_path)
    production = copy.deepcopy(spec)
    production.system.data, production.system.groups = data_path, groups_path
    after = start_bias(production, load_groups(production, prepared), prepared)
    thermo = np.loadtxt(run.path / "thermo.csv", comments="#", ndmin=2)
    half = thermo[len(thermo) // 2:, 1]
    record = {
        "format": "nucleate-prepare/1", "source_data": str(spec.system.data), "source_sha256": source_hash,
        "minimize": minimize, "minimize_force_eV_per_A": spec.md.minimize_force_eV_per_A,
        "minimize_max_iterations": prep.md.minimize_max_iterations, "minimize_held": hold,
        "equilibrate_ps": steps * spec.md.timestep_fs / 1000.0, "steps": steps, "thermostat": "langevin",
        "tdamp_fs": LANGEVIN_DAMP_FS, "temperature_K": spec.md.temperature_K,
        "static_plumed": prep.plumed is not None,
        "mean_temperature_K_last_half": float(half.mean()) if half.size else None,
        "start_bias_before": before.to_dict() if before else None,
        "start_bias_after": after.to_dict() if after else None,
        "seconds": time.perf_counter() - started, "run": RUN,
    }
    rd.write_json_atomic(folder / RECORD, record)
    log.info("prepared %s: %s", folder, describe(record))
    return PreparedBox(folder, data_path, groups_path, record)


def _write_box(folder: Path, rundir: Path, spec: RunSpec, source) -> tuple[Path, Path]:
    """The preparation's last frame as system.data (same box, types and masses) + the groups."""
    from nucleate.analysis.trajectory.io import read_dump_frames, scan_dump
    from nucleate.systems.lammps_data import write_data

    scan = scan_dump(rundir / rd.DUMP, source.natoms)
    frames = read_dump_frames(scan)
    if frames is None:
        raise NucleateError(f"cannot read the last frame of {scan.path}")
    positions = frames[0][-1].astype(float)
    masses = [source.masses.get(k, 1.0) for k in range(1, len(spec.system.type_map) + 1)]
    data_path = write_data(folder / "system.data", positions, source.types, source.lengths, masses,
                           spec.system.type_map, tilt=source.tilt, box_lo=source.box_lo,
                           comment=f"nucleate prepare: last frame (step {int(scan.steps[-1])}) of {rundir}")
    groups_path = folder / "groups.json"
    shutil.copyfile(rundir / rd.GROUPS, groups_path)
    return data_path, groups_path


def _finished(folder: Path, source_hash: str, steps: int, minimize) -> PreparedBox | None:
    """The folder's preparation when it was made from the same start, with the same steps and minimisation."""
    try:
        record = json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return None
    wanted = (source_hash, steps, minimize)
    if (record.get("source_sha256"), record.get("steps"),
            record.get("minimize") and record.get("minimize_max_iterations")) != wanted:
        return None
    if not (folder / "system.data").is_file() or not (folder / "groups.json").is_file():
        return None
    return PreparedBox(folder, folder / "system.data", folder / "groups.json", record)
