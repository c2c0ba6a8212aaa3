"""Synthetic runs with known geometry, for the tests and benchmarks/bench_traj.py (lengths in A).

An Ag6 octahedron (edge `edge`); six S bridging the edges of a 6-cycle through all vertices
(+x +y +z -x -y -z), each S above its edge's midpoint at `ag_s` from both Ag, so every Ag
binds two S; one N per Ag at `ag_n` along (outward + tangent)/sqrt(2); and methanol-like
solvent atoms (C, H, O; 6 per 'molecule') scattered uniformly.  Each frame adds Gaussian
noise and the whole picture may be shifted so the cluster straddles the periodic boundary.
Writes the run-directory files analysis reads: system.data, traj.lammpstrj, groups.json,
manifest.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from nucleate.systems.elements import MASSES as ELEMENT_MASSES
from nucleate.systems.groups import Groups
from nucleate.systems.lammps_data import write_data as _write_data

TYPE_MAP = ["Ag", "S", "N", "C", "H", "O"]
_AXES = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=float)
_TANGENTS = np.roll(_AXES, 2, axis=1)  # x->y, y->z, z->x, keeping the sign


def octahedron(edge: float = 2.97, centre=(0.0, 0.0, 0.0)) -> np.ndarray:
    """The 6 vertices (A) of a regular octahedron with edge length `edge`."""
    return np.asarray(centre, dtype=float) + _AXES * edge / np.sqrt(2.0)


def cluster(edge: float = 2.97, ag_s: float = 2.54, ag_n: float = 2.28) -> tuple[np.ndarray, np.ndarray]:
    """Positions (18, 3) and types (Ag x6, S x6, N x6) of the noiseless model cluster at the origin."""
    ag = octahedron(edge)
    cycle = [0, 2, 4, 1, 3, 5, 0]
    s = []
    for i, j in zip(cycle, cycle[1:]):
        midpoint = 0.5 * (ag[i] + ag[j])
        height = np.sqrt(ag_s**2 - (edge / 2) ** 2)  # S-Ag distance ag_s above the edge midpoint
        s.append(midpoint + height * midpoint / np.linalg.norm(midpoint))
    s = np.array(s)
    n = ag + ag_n * (_AXES + _TANGENTS) / np.sqrt(2.0)
    return np.vstack([ag, s, n]), np.repeat([1, 2, 3], 6)


def write_data(path: Path, positions: np.ndarray, types: np.ndarray, box: float) -> None:
    """The system's data file (cubic box `box` A, the six study types) via nucleate.systems.write_data."""
    _write_data(path, positions, types, [box] * 3, ELEMENT_MASSES, TYPE_MAP, comment="synthetic nucleate test system")


def write_dump(path: Path, frames, types: np.ndarray, box: float, step_stride: int = 100) -> None:
    """`dump custom id type x y z` frames, coordinates wrapped into [0, box)."""
    ids = np.arange(1, len(types) + 1)
    header = "ITEM: BOX BOUNDS pp pp pp\n" + f"0.0 {box}\n" * 3 + "ITEM: ATOMS id type x y z\n"
    with path.open("w") as handle:
        for k, positions in enumerate(frames):
            wrapped = np.mod(positions, box)
            handle.write(f"ITEM: TIMESTEP\n{k * step_stride}\nITEM: NUMBER OF ATOMS\n{len(types)}\n{header}")
            table = np.column_stack([ids, types, wrapped])
            np.savetxt(handle, table, fmt=["%d", "%d", "%.5f", "%.5f", "%.5f"])


def write_synthetic_run(outdir: str | Path, n_frames: int = 50, n_solvent: int = 20, box: float = 20.0,
                        noise: float = 0.03, shift=(0.0, 0.0, 0.0), seed: int = 0, timestep_fs: float = 0.5,
                        step_stride: int = 100) -> Path:
    """A run directory with the model cluster (centre at `shift`, wrapped) in solvent; returns the directory."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    solute, solute_types = cluster()
    solvent_types = np.tile([4, 5, 5, 5, 6, 5], n_solvent)  # C H H H O H, as the study's methanol
    types = np.concatenate([solute_types, solvent_types])
    base = np.vstack([solute + np.asarray(shift, dtype=float),
                      rng.uniform(0.0, box, size=(len(solvent_types), 3))])
    frames = (base + rng.normal(0.0, noise, size=base.shape) for _ in range(n_frames))
    write_data(outdir / "system.data", np.mod(base, box), types, box)
    write_dump(outdir / "traj.lammpstrj", frames, types, box, step_stride)
    groups = Groups.from_types(types, TYPE_MAP)
    groups.add("solvent_O", np.flatnonzero(types == 6) + 1)
    groups.write(outdir / "groups.json")
    (outdir / "manifest.json").write_text(json.dumps({"timestep_fs": timestep_fs, "type_map": TYPE_MAP}) + "\n")
    return outdir
