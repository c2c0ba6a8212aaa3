"""Build a solvated box from a spec or preset: place solutes, pack solvent, check, write atomically.

Output folder: system.data (LAMMPS, atom_style atomic), groups.json (Groups), build.json (the spec,
composition, densities, closest contact and molecule provenance).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nucleate.errors import NucleateError
from nucleate.geometry import wrap

from .elements import mass
from .lammps_data import DataFile, write_data
from .library import molecule, vdw_volume
from .packing import pack_solvent
from .placement import place_center, place_dispersed
from .spec import BoxSpec, load_box_spec
from .topology import MoleculeRecord, closest_intermolecular, make_groups

AVOGADRO = 6.02214076e23
A3_PER_CM3 = 1e24
MAX_DENSITY_FACTOR = 1.5   # packmol needs ~8 s at 1.43x and ~21 s at 1.6x liquid methanol (20 A box, 2 A tolerance)
PACKMOL_MARGIN = 0.05      # A added to the tolerance given to packmol, whose result can fall slightly short of it
OUTPUT_FILES = ("system.data", "groups.json", "build.json")
WALL_FIT_TARGET_KT = 0.05  # static bias of a built box under its plumed_preset, in kT at 300 K
WALL_FIT_STUCK_KT = 1.0   # a fit ending above this starts again from a new random placement
WALL_FIT_ATTEMPTS = 10

log = logging.getLogger(__name__)


@dataclass
class BuiltSystem:
    outdir: Path
    data_path: Path
    groups_path: Path
    composition: dict[str, int]
    natoms: int
    box: np.ndarray                    # (3,) A
    density_g_cm3: float               # whole box
    solvent_density_g_cm3: float       # solvent mass / free volume (box minus solute vdW volume)
    closest_contact: float             # A, between atoms of different molecules (minimum image)
    seed: int
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    start_bias: object = None          # plumed_cvs.static_bias.StartBias under spec.plumed_preset, or None

    def summary(self) -> str:
        comp = ", ".join(f"{n} {name}" for name, n in self.composition.items())
        return (f"{comp}: {self.natoms} atoms in a {' x '.join(f'{b:g}' for b in self.box)} A box; "
                f"density {self.density_g_cm3:.3f} g/cm^3 (solvent in free volume {self.solvent_density_g_cm3:.3f}); "
                f"closest intermolecular contact {self.closest_contact:.2f} A"
                + (f"\n{self.start_bias.preset}: {self.start_bias.describe()}" if self.start_bias else ""))


def free_volume_A3(spec: BoxSpec) -> float:
    """Box volume minus the solutes' van der Waals volume (A^3)."""
    return float(np.prod(spec.box)) - sum(s.count * vdw_volume(s.molecule) for s in spec.solutes)


def solvent_count(spec: BoxSpec) -> int:
    """Solvent molecules requested: the count, or the density (g/cm^3) times the free volume."""
    if spec.solvent is None:
        return 0
    solvent = molecule(spec.solvent.molecule)
    free = free_volume_A3(spec)
    if free <= 0:
        raise NucleateError(f"the solutes fill the {spec.box.tolist()} A box; enlarge it")
    liquid = solvent.provenance.get("liquid_density_g_cm3")
    capacity_density = MAX_DENSITY_FACTOR * liquid if liquid else solvent.mass / AVOGADRO / (1.2 * vdw_volume(solvent.name) / A3_PER_CM3)
    capacity = int(capacity_density * free / A3_PER_CM3 * AVOGADRO / solvent.mass)
    if spec.solvent.count is not None:
        count = spec.solvent.count
    else:
        count = int(round(spec.solvent.density * free / A3_PER_CM3 * AVOGADRO / solvent.mass))
    if count > capacity:
        raise NucleateError(f"the box is too small for {count} {solvent.name}: at most {capacity} fit around the solutes "
                            f"({MAX_DENSITY_FACTOR} x liquid density in the free volume of {free:.0f} A^3); "
                            "lower the count or enlarge the box")
    return count


def _place_solutes(spec: BoxSpec, rng: np.random.Generator):
    """Elements, positions (A, not wrapped) and molecule records of the solutes."""
    elements: list[str] = []
    pieces: list[np.ndarray] = []
    records: list[MoleculeRecord] = []
    placed: list[np.ndarray] = []
    for solute in spec.solutes:
        mol = molecule(solute.molecule)
        if solute.placement == "center":
            coords = [place_center(mol, spec.box)]
            placed.extend(coords)
        else:
            before = len(placed)
            place_dispersed(mol, solute.count, spec.box, rng, solute.min_separation, solute.within, placed)
            coords = placed[before:]
        for xyz in coords:
            start = len(elements) + 1
            records.append(MoleculeRecord(mol.name, np.arange(start, start + mol.natoms)))
            elements.extend(mol.elements)
            pieces.append(xyz)
    return elements, (np.concatenate(pieces) if pieces else np.empty((0, 3))), records


def _add_solvent(spec: BoxSpec, solute_elements, solute_xyz, solute_records):
    """Elements, positions (A, wrapped) and molecule records of the box with its solvent packed in."""
    elements, records, xyz = list(solute_elements), list(solute_records), solute_xyz
    count = solvent_count(spec)
    if count:
        solvent = molecule(spec.solvent.molecule)
        solvent_xyz = pack_solvent(elements, solute_xyz, solvent, count, spec.box, spec.tolerance + PACKMOL_MARGIN,
                                   spec.seed)
        for _ in range(count):
            start = len(elements) + 1
            records.append(MoleculeRecord(solvent.name, np.arange(start, start + solvent.natoms), solvent=True))
            elements.extend(solvent.elements)
        xyz = np.concatenate([solute_xyz, solvent_xyz])
    return elements, wrap(xyz, spec.box), records


def _assemble(spec: BoxSpec):
    """Elements, positions (A, wrapped), molecule records, and the start's static bias under the spec's
    plumed_preset (None without one)."""
    rng = np.random.default_rng(spec.seed)
    solute_elements, solute_xyz, solute_records = _place_solutes(spec, rng)
    elements, positions, records = _add_solvent(spec, solute_elements, solute_xyz, solute_records)
    if not spec.plumed_preset:
        return elements, positions, records, None
    return _inside_walls(spec, rng, solute_elements, solute_records, elements, positions, records)


def _inside_walls(spec: BoxSpec, rng, solute_elements, solute_records, elements, positions, records):
    """Move the solutes rigidly until the preset's walls and restraints hold, re-pack the solvent around
    them, and evaluate the final box (see systems.wall_fit). A fit that ends above the threshold is
    retried from a fresh placement; the best box is kept and its bias reported."""
    from nucleate.plumed_cvs.static_bias import StaticBias

    from .wall_fit import fit_rigid

    config = {"preset": spec.plumed_preset}
    nsolute = len(solute_elements)
    molecules = [rec.atoms - 1 for rec in solute_records]
    separations = []
    for solute in spec.solutes:
        separations += [solute.min_separation] * solute.count
    best = None
    for attempt in range(1, WALL_FIT_ATTEMPTS + 1):
        # rendered anew for each box: c_box and the nearest()/farthest() assignments are the box's own
        data, groups = _in_memory(spec, elements, positions, records)
        with StaticBias(config, groups, data) as static:
            report = static.report(positions)
            if best is None or report.total < best[3].total:
                best = (elements, positions, records, report)
            if report.total_kT <= WALL_FIT_TARGET_KT:
                break
            if attempt == WALL_FIT_ATTEMPTS:
                break
            fit = fit_rigid(static.energy_forces, positions, molecules, separations, spec.box)
        log.info("attempt %d: walls %.3g -> %.3g %s in %d steps", attempt, report.total, fit.energy,
                 report.energy_unit, fit.iterations)
        solute_xyz = fit.positions[:nsolute]
        if fit.energy / report.kT > WALL_FIT_STUCK_KT:  # a local minimum: start again elsewhere
            solute_elements, solute_xyz, solute_records = _place_solutes(spec, rng)
        elements, positions, records = _add_solvent(spec, solute_elements, solute_xyz, solute_records)
    elements, positions, records, report = best
    report.notes.append(f"solutes placed inside the walls of {spec.plumed_preset} "
                        f"({attempt} attempt{'s' if attempt > 1 else ''}; rigid-body fit, solvent packed around)")
    return elements, positions, records, report


def _in_memory(spec: BoxSpec, elements, positions, records):
    """The box as the DataFile and Groups a PLUMED input is rendered from (nothing written)."""
    type_index = {el: k for k, el in enumerate(spec.type_map, start=1)}
    data = DataFile(path=Path("system.data"), natoms=len(elements), ntypes=len(spec.type_map),
                    box_lo=np.zeros(3), box_hi=np.array(spec.box, dtype=float), tilt=np.zeros(3),
                    ids=np.arange(1, len(elements) + 1), types=np.array([type_index[el] for el in elements]),
                    positions=np.asarray(positions, dtype=float),
                    masses={k: mass(el) for el, k in type_index.items()})
    return data, make_groups(elements, positions, spec.box, records, spec.type_map)


def build(preset_or_spec, outdir, seed: int | None = None, overwrite: bool = False,
          plumed_preset: str | None = None) -> BuiltSystem:
    """Build a preset name, spec file, mapping or BoxSpec into `outdir` (created atomically).

    plumed_preset (a nucleate.plumed_cvs preset, or "none") replaces the spec's: the solutes are placed
    inside its walls and restraints, and the box's energy under them is reported (build.json, summary)."""
    started = time.perf_counter()
    spec = load_box_spec(preset_or_spec)
    if seed is not None:
        spec.seed = int(seed)
    if plumed_preset is not None:
        from .spec import checked_plumed_preset

        spec.plumed_preset = checked_plumed_preset(plumed_preset, "--plumed-preset")
    outdir = Path(outdir)
    _check_output_folder(outdir, overwrite)
    present = {el for s in spec.solutes for el in molecule(s.molecule).elements}
    if spec.solvent:
        present |= set(molecule(spec.solvent.molecule).elements)
    missing = sorted(present - set(spec.type_map))
    if missing:
        raise NucleateError(f"type map {','.join(spec.type_map)} lacks {', '.join(missing)}, which the system contains")

    elements, positions, records, start_bias = _assemble(spec)
    molecule_index = np.empty(len(elements), dtype=np.int64)
    for k, rec in enumerate(records):
        molecule_index[rec.atoms - 1] = k
    contact, i, j = closest_intermolecular(positions, spec.box, molecule_index, search=spec.tolerance + 1.0)
    if contact < spec.tolerance:
        raise NucleateError(f"atoms {i + 1} and {j + 1} of different molecules are {contact:.2f} A apart, closer than "
                            f"the tolerance {spec.tolerance} A; try another seed")
    composition: dict[str, int] = {}
    for rec in records:
        composition[rec.name] = composition.get(rec.name, 0) + 1
    total_mass = sum(mass(el) for el in elements)
    solvent_mass = sum(mass(elements[a - 1]) for rec in records if rec.solvent for a in rec.atoms)
    volume = float(np.prod(spec.box))
    result = BuiltSystem(outdir=outdir, data_path=outdir / "system.data", groups_path=outdir / "groups.json",
                         composition=composition, natoms=len(elements), box=spec.box.copy(),
                         density_g_cm3=total_mass / AVOGADRO / (volume / A3_PER_CM3),
                         solvent_density_g_cm3=solvent_mass / AVOGADRO / (free_volume_A3(spec) / A3_PER_CM3),
                         closest_contact=contact, seed=spec.seed, start_bias=start_bias)
    _write_outputs(spec, result, elements, positions, records)
    result.seconds = time.perf_counter() - started
    return result


def _check_output_folder(outdir: Path, overwrite: bool) -> None:
    """Refuse an output folder that cannot be written before packing, which takes up to minutes."""
    from nucleate.analysis.output_files import folder_problem

    if outdir.exists() and not outdir.is_dir():
        raise NucleateError(f"output folder {outdir} is a file; choose a folder name")
    problem = folder_problem(outdir.parent)
    if problem:
        raise NucleateError(f"cannot write the output folder {outdir}: {problem}")
    if outdir.is_dir() and any(outdir.iterdir()) and not overwrite:
        raise NucleateError(f"output folder {outdir} exists and is not empty; choose another or overwrite it (--force)")


def _write_outputs(spec: BoxSpec, result: BuiltSystem, elements, positions, records) -> None:
    """Write into a temporary sibling folder, then move the files into place (build.json last)."""
    try:
        _write_through_temporary_folder(spec, result, elements, positions, records)
    except OSError as exc:
        raise NucleateError(f"cannot write the output folder {result.outdir}: {exc.strerror or exc}") from None


def _write_through_temporary_folder(spec: BoxSpec, result: BuiltSystem, elements, positions, records) -> None:
    outdir = result.outdir
    outdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.building-", dir=outdir.parent))
    try:
        type_index = {el: k for k, el in enumerate(spec.type_map, start=1)}
        types = np.array([type_index[el] for el in elements])
        title = f"nucleate build {spec.name or spec.source}: " + ", ".join(f"{n} {k}" for k, n in result.composition.items())
        write_data(tmp / "system.data", positions, types, spec.box, {el: mass(el) for el in spec.type_map},
                   spec.type_map, comment=title)
        groups = make_groups(elements, positions, spec.box, records, spec.type_map, source=str(result.groups_path))
        groups.write(tmp / "groups.json")
        names = sorted({s.molecule for s in spec.solutes} | ({spec.solvent.molecule} if spec.solvent else set()))
        report = {
            "format": "nucleate-build/1", "spec": spec.to_dict(), "seed": spec.seed,
            "composition": result.composition, "natoms": result.natoms,
            "box_A": [float(b) for b in spec.box], "density_g_cm3": result.density_g_cm3,
            "solvent_density_free_volume_g_cm3": result.solvent_density_g_cm3,
            "free_volume_A3": free_volume_A3(spec), "closest_contact_A": result.closest_contact,
            "molecules": {name: molecule(name).provenance for name in names},
            "start_bias": result.start_bias.to_dict() if result.start_bias else None,
        }
        (tmp / "build.json").write_text(json.dumps(report, indent=1) + "\n")
        if not outdir.exists():
            os.replace(tmp, outdir)
        else:
            for name in OUTPUT_FILES:
                os.replace(tmp / name, outdir / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
