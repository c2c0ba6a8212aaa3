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

from nucleate.studies.ag6.training.carving import carve
from nucleate.studies.ag6.training.frames import FrameSet
from nucleate.studies.ag6.training.recipe import TRUST_HI_EV_PER_ANGSTROM, TRUST_LO_EV_PER_ANGSTROM, TYPE_MAP, Kind

RATTLE_ANGSTROM = (0.02, 0.10)     # Gaussian displacement per coordinate, drawn per frame
VACUUM_SCALE = (0.96, 1.06)        # isotropic breathing of bare clusters
MIN_PAIR_ANGSTROM = 0.75           # never label a frame with two atoms closer than this
# Squeezed frames: molecule centres pulled rigidly towards the cluster centre. Packed boxes never
# bring two molecules closer than packmol's 2 A tolerance, so without these a model has no data on
# close intermolecular contacts and MD walks into an attraction that is not there (atoms collapse).
SQUEEZE_FACTOR = (0.75, 0.95)
COLLAPSE_EV_PER_ANGSTROM = 5.0     # committee disagreement this large: the MD has left physics behind
# Bond-distorted frames: every failed stability check (fourth build, build 5) broke methanol the same
# way, a hydroxyl proton moving to a neighbouring O or two H atoms of different molecules meeting at
# 1.1-1.2 A. Thermal and rattled frames never go there, so the model had no energy wall on either
# path. Each such frame moves DISTORTIONS_PER_FRAME polar protons (H bonded to O or N) part of the
# way to the nearest O/N/S of another molecule, or pushes two molecules into an H-H contact.
PROTON_SHIFT_ANGSTROM = (1.05, 1.70)   # new donor-H distance, along the donor-acceptor line
HH_CONTACT_ANGSTROM = (1.15, 1.75)     # intact methanol never has intermolecular H-H under ~1.8 A
DISTORTIONS_PER_FRAME = 2


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
    from nucleate.systems import build

    if not (directory / "build.json").is_file():
        build(kind.box, directory, seed=seed, overwrite=True)
    return read_box(directory / "system.data", directory / "groups.json")


def read_box(data_path: Path, groups_path: Path, type_map: list[str] = TYPE_MAP) -> PackedBox:
    """A box (a built one, or a run directory's start) with its molecules, from its data and groups files."""
    from nucleate.systems import read_data
    from nucleate.systems.groups import Groups

    data = read_data(data_path)
    groups = Groups.read(groups_path)
    molecules = [np.asarray(m["atoms"]) - 1 for m in groups.molecules]
    solvent = [k for k, m in enumerate(groups.molecules) if m["name"] == "methanol"]
    elements = [(groups.type_map or type_map)[t - 1] for t in data.types]  # the box's own type map
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


def _polar_hydrogens(elements: list[str], x: np.ndarray) -> list[tuple[int, int]]:
    """(H, donor) pairs for every H whose nearest heavy atom is an O or N within 1.25 A."""
    heavy = np.array([e != "H" for e in elements])
    pairs = []
    for h in (i for i, e in enumerate(elements) if e == "H"):
        d = np.linalg.norm(x - x[h], axis=1)
        d[~heavy] = np.inf
        donor = int(np.argmin(d))
        if elements[donor] in ("O", "N") and d[donor] < 1.25:
            pairs.append((h, donor))
    return pairs


def _shift_proton(elements: list[str], x: np.ndarray, molecule_of: np.ndarray, rng: np.random.Generator) -> str | None:
    """Move one random polar H towards the nearest O/N/S of another molecule (in place); what was done."""
    pairs = _polar_hydrogens(elements, x)
    if not pairs:
        return None
    h, donor = pairs[int(rng.integers(len(pairs)))]
    acceptors = np.array([e in ("O", "N", "S") for e in elements]) & (molecule_of != molecule_of[donor])
    length = rng.uniform(*PROTON_SHIFT_ANGSTROM)
    if acceptors.any():
        d = np.where(acceptors, np.linalg.norm(x - x[h], axis=1), np.inf)
        acceptor = int(np.argmin(d))
        axis = x[acceptor] - x[donor]
        if np.linalg.norm(axis) < length + 0.8:  # keep the proton at least 0.8 A short of the acceptor
            length = max(1.0, np.linalg.norm(axis) - 0.8)
        target = f"{elements[acceptor]}{acceptor}"
    else:
        axis, target = x[h] - x[donor], "nothing (bond stretched)"
    x[h] = x[donor] + length * axis / np.linalg.norm(axis)
    return f"H{h} of {elements[donor]}{donor} moved {length:.2f} A towards {target}"


def _hh_contact(elements: list[str], x: np.ndarray, molecule_of: np.ndarray, rng: np.random.Generator) -> str | None:
    """Push the molecule of the nearest foreign H to a random H rigidly into contact with it (in place)."""
    hydrogens = np.flatnonzero(np.array(elements) == "H")
    h = int(rng.choice(hydrogens))
    others = hydrogens[molecule_of[hydrogens] != molecule_of[h]]
    if not len(others):
        return None
    d = np.linalg.norm(x[others] - x[h], axis=1)
    other = int(others[np.argmin(d)])
    length = rng.uniform(*HH_CONTACT_ANGSTROM)
    if d.min() <= length:
        return None
    axis = (x[other] - x[h]) / d.min()
    x[molecule_of == molecule_of[other]] -= (d.min() - length) * axis
    return f"H{other} pushed to {length:.2f} A of H{h}"


def distorted_frames(kind: Kind, nframes: int, seed: int, boxes_dir: Path) -> FrameSet:
    """Carved clusters with proton shifts and H-H contacts (see PROTON_SHIFT_ANGSTROM), lightly rattled."""
    rng = rng_for(seed, "distorted", kind.name)
    frames, origins, elements = [], [], None
    while len(frames) < nframes:
        box_seed = int(rng_for(seed, "train", kind.name, "box", len(frames) // 20).integers(1, 2**31 - 1))
        packed = build_box(kind, boxes_dir / f"{kind.name}_{box_seed}", box_seed)
        elements, x, molecule_of = carve_frame(kind, packed, packed.positions, rng)
        done = []
        for _ in range(DISTORTIONS_PER_FRAME):
            how = (_shift_proton if rng.random() < 0.6 else _hh_contact)(elements, x, molecule_of, rng)
            if how:
                done.append(how)
        x = x + rng.normal(scale=0.02, size=x.shape)
        if done and _min_pair(x) >= MIN_PAIR_ANGSTROM:
            frames.append(x)
            origins.append(f"distorted: packed box seed {box_seed}, {kind.shell} nearest methanol; " + "; ".join(done))
    return FrameSet(kind.name, elements, np.asarray(frames), origins)


def initial_frames(kind: Kind, nframes: int, seed: int, boxes_dir: Path, stream: str,
                   squeeze: bool = False) -> FrameSet:
    """Round 0: carved from packed boxes (one box per 20 frames) or distorted bare molecules, rattled;
    with `squeeze`, the carved molecules are also pulled together (close contacts)."""
    from nucleate.systems import molecule

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
    from nucleate.analysis.trajectory.io import read_dump_frames, scan_dump
    from nucleate.engine.render import render_run
    from nucleate.engine.runner import execute
    from nucleate.engine.spec import RunSpec
    from nucleate.errors import NucleateError

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
