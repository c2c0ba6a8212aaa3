"""Configurations to label: round 0 from freshly packed boxes and distorted bare clusters, later
rounds from committee MD (concurrent learning), selecting frames where the models disagree.

Every random choice comes from numpy Generators seeded by (seed, round, kind): rerunning a stage
gives the same frames.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nucleate.models.pipeline.carving import carve
from nucleate.models.pipeline.frames import FrameSet
from nucleate.models.pipeline.recipe import TRUST_HI_EV_PER_ANGSTROM, TRUST_LO_EV_PER_ANGSTROM, TYPE_MAP, Kind

RATTLE_ANGSTROM = (0.02, 0.10)     # Gaussian displacement per coordinate, drawn per frame
VACUUM_SCALE = (0.96, 1.06)        # isotropic breathing of bare clusters
MIN_PAIR_ANGSTROM = 0.75           # never label a frame with two atoms closer than this
# Squeezed frames: molecule centres pulled rigidly towards the cluster centre. Packed boxes never
# bring two molecules closer than packmol's 2 A tolerance, so without these a model has no data on
# close intermolecular contacts and MD walks into an attraction that is not there (atoms collapse).
SQUEEZE_FACTOR = (0.75, 0.95)
COLLAPSE_EV_PER_ANGSTROM = 5.0     # committee disagreement this large: the MD has left physics behind


def rng_for(seed: int, *labels) -> np.random.Generator:
    """Independent, reproducible stream per (seed, labels): crc32 of the labels, not Python's salted hash."""
    return np.random.default_rng([seed, zlib.crc32(repr(labels).encode())])


@dataclass
class PackedBox:
    elements: list[str]
    positions: np.ndarray          # (natoms, 3) A, wrapped
    box: np.ndarray                # (3,) A
    molecules: list[np.ndarray]    # 0-based atom indices per molecule
    solvent: list[int]             # molecule indices of methanol
    data_path: Path
    groups_path: Path

    @property
    def solutes(self) -> list[int]:
        return [m for m in range(len(self.molecules)) if m not in set(self.solvent)]


def build_box(kind: Kind, directory: Path, seed: int) -> PackedBox:
    """The kind's periodic box, built once per seed by nucleate.systems (reused if present)."""
    from nucleate.systems import build  # noqa: PLC0415

    if not (directory / "build.json").is_file():
        build(kind.box, directory, seed=seed, overwrite=True)
    return read_box(directory / "system.data", directory / "groups.json")


def read_box(data_path: Path, groups_path: Path, type_map: list[str] = TYPE_MAP) -> PackedBox:
    """A box (a built one, or a run directory's start) with its molecules, from its data and groups files."""
    from nucleate.systems import read_data  # noqa: PLC0415
    from nucleate.systems.groups import Groups  # noqa: PLC0415

    data = read_data(data_path)
    groups = Groups.read(groups_path)
    molecules = [np.asarray(m["atoms"]) - 1 for m in groups.molecules]
    solvent = [k for k, m in enumerate(groups.molecules) if m["name"] == "methanol"]
    elements = [type_map[t - 1] for t in data.types]
    return PackedBox(elements, np.asarray(data.positions) - data.box_lo, np.asarray(data.lengths, float), molecules,
                     solvent, Path(data_path), Path(groups_path))


def carve_frame(kind: Kind, packed: PackedBox, positions: np.ndarray, rng: np.random.Generator,
                core: list[int] | None = None, shell: int | None = None) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(elements, unwrapped positions in A, molecule index of each atom) of one carved cluster.

    By default the core is all solutes of the box (liquid methanol: a random molecule) with the
    kind's shell of nearest methanol; `core`/`shell` override both."""
    if core is None:
        core = [int(rng.choice(packed.solvent))] if not packed.solutes else packed.solutes
    shell = kind.shell if shell is None else shell
    atoms, xyz = carve(positions, packed.box, packed.molecules, core, packed.solvent, shell)
    molecule_of = np.empty(len(packed.elements), dtype=int)
    for m, members in enumerate(packed.molecules):
        molecule_of[members] = m
    return [packed.elements[a] for a in atoms], xyz, molecule_of[atoms]


def _min_pair(x: np.ndarray) -> float:
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    return float(d[np.triu_indices(len(x), 1)].min())


def _rattled(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    sigma = rng.uniform(*RATTLE_ANGSTROM)
    return x + rng.normal(scale=sigma, size=x.shape), sigma


def _squeezed(x: np.ndarray, molecule_of: np.ndarray, factor: float) -> np.ndarray:
    """Each molecule moved rigidly so that its centre is `factor` times as far from the cluster centre."""
    out = x.copy()
    centre = x.mean(axis=0)
    for m in np.unique(molecule_of):
        mine = molecule_of == m
        c = x[mine].mean(axis=0)
        out[mine] += (centre + factor * (c - centre)) - c
    return out


def initial_frames(kind: Kind, nframes: int, seed: int, boxes_dir: Path, stream: str,
                   squeeze: bool = False) -> FrameSet:
    """Round 0: carved from packed boxes (one box per 20 frames) or distorted bare molecules, rattled;
    with `squeeze`, the carved molecules are also pulled together (close contacts)."""
    from nucleate.systems import molecule  # noqa: PLC0415

    rng = rng_for(seed, stream, kind.name, *(("squeeze",) if squeeze else ()))
    frames, origins, elements = [], [], None
    while len(frames) < nframes:
        if kind.vacuum:
            mol = molecule(kind.molecule)
            elements = list(mol.elements)
            scale = rng.uniform(*VACUUM_SCALE)
            x, sigma = _rattled(mol.positions * scale, rng)
            origin = f"{stream}: {kind.molecule} scaled {scale:.3f}, rattled {sigma:.3f} A"
        else:
            box_seed = int(rng_for(seed, stream, kind.name, "box", len(frames) // 20).integers(1, 2**31 - 1))
            packed = build_box(kind, boxes_dir / f"{kind.name}_{box_seed}", box_seed)
            elements, x, molecule_of = carve_frame(kind, packed, packed.positions, rng)
            origin = f"{stream}: packed box seed {box_seed}, {kind.shell} nearest methanol"
            if squeeze:
                factor = rng.uniform(*SQUEEZE_FACTOR)
                x = _squeezed(x, molecule_of, factor)
                origin += f", squeezed x{factor:.3f}"
            x, sigma = _rattled(x, rng)
            origin += f", rattled {sigma:.3f} A"
        if _min_pair(x) >= MIN_PAIR_ANGSTROM:
            frames.append(x)
            origins.append(origin)
    return FrameSet(kind.name, elements, np.asarray(frames), origins)


def read_model_deviation(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(steps, max force deviation eV/A, per-atom force deviation (n, natoms) in atom-id order or None)
    from LAMMPS pair deepmd's out_file (per-atom columns follow the 7 standard ones with `atomic`)."""
    table = np.loadtxt(path, comments="#", ndmin=2)
    per_atom = table[:, 7:] if table.shape[1] > 7 else None
    return table[:, 0].astype(int), table[:, 4], per_atom


def md_rows(steps: np.ndarray) -> slice:
    """The model-deviation rows of the MD itself: from the last row at step 0 on (a minimisation before
    the MD also writes rows, then `reset_timestep 0` starts the MD's steps again from 0)."""
    zeros = np.flatnonzero(np.asarray(steps) == 0)
    return slice(int(zeros[-1]) if len(zeros) else 0, None)


def disagreement_core(packed: PackedBox, atom_deviation: np.ndarray) -> tuple[int, bool]:
    """(molecule of the atom the committee disagrees on most, whether that molecule is solvent)."""
    worst = int(np.argmax(atom_deviation))
    molecule = next(m for m, members in enumerate(packed.molecules) if worst in set(members.tolist()))
    return molecule, molecule in set(packed.solvent)


def explore(kind: Kind, models: list[Path], rundir: Path, *, steps: int, temperature_k: float, seed: int,
            dump_every: int) -> tuple[PackedBox, np.ndarray, np.ndarray, np.ndarray | None]:
    """Committee NVT MD of the kind's box: (box, frames (n, natoms, 3) A wrapped, max force deviation eV/A,
    per-atom force deviation (n, natoms) eV/A)."""
    from nucleate.analysis.traj_io import read_dump_frames, scan_dump  # noqa: PLC0415
    from nucleate.engine.render import render_run  # noqa: PLC0415
    from nucleate.engine.runner import execute  # noqa: PLC0415
    from nucleate.engine.spec import RunSpec  # noqa: PLC0415
    from nucleate.errors import NucleateError  # noqa: PLC0415

    packed = build_box(kind, rundir.parent / f"{rundir.name}_box", seed)
    if not (rundir / "model_devi.out").is_file():
        spec = RunSpec.from_dict({
            "system": {"data": str(packed.data_path), "groups": str(packed.groups_path), "type_map": TYPE_MAP},
            "potential": {"deepmd": [str(m) for m in models],
                          "model_deviation": {"out_freq": dump_every, "out_file": "model_devi.out", "atomic": True}},
            "md": {"temperature_K": temperature_k, "timestep_fs": 0.5, "steps": steps, "thermostat": "nose-hoover",
                   "tdamp_fs": 50.0, "seed": seed},
            "output": {"thermo": dump_every, "dump": dump_every, "checkpoint": steps},
            "name": f"explore-{kind.name}"})
        render_run(spec, rundir, overwrite=True)
        try:
            execute(rundir)
        except NucleateError:
            pass  # a model that loses atoms still tells us where it fails: keep the frames written so far
    steps_devi, deviation, per_atom = read_model_deviation(rundir / "model_devi.out")
    md = md_rows(steps_devi)  # rows written during a minimisation come first; the dump holds MD only
    deviation, per_atom = deviation[md], None if per_atom is None else per_atom[md]
    frames = read_dump_frames(scan_dump(rundir / "traj.lammpstrj"))[0].astype(float)
    n = min(len(frames), len(deviation))
    return packed, frames[:n], deviation[:n], None if per_atom is None else per_atom[:n]


def select_frames(deviation: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of up to `count` frames inside the trust window, spread at random over the candidates.

    A young committee can disagree beyond the window from the first step on; then the frames before
    the MD collapses (deviation below COLLAPSE_EV_PER_ANGSTROM) are the informative ones: they show
    where the models start to go wrong."""
    candidates = np.flatnonzero((deviation >= TRUST_LO_EV_PER_ANGSTROM) & (deviation <= TRUST_HI_EV_PER_ANGSTROM))
    if len(candidates) == 0:
        collapsed = np.flatnonzero(deviation > COLLAPSE_EV_PER_ANGSTROM)
        end = int(collapsed[0]) if len(collapsed) else len(deviation)
        candidates = np.flatnonzero(deviation[:end] >= TRUST_LO_EV_PER_ANGSTROM)
    if len(candidates) <= count:
        return candidates
    return np.sort(rng.choice(candidates, size=count, replace=False))
