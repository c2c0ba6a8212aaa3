"""Open a run's data file + LAMMPS dump as an MDAnalysis Universe, with the run's named groups.

Group ids are LAMMPS ids (1-based); MDAnalysis indices are 0-based and, for these files, ordered
by id, so index = id - 1.  The dump is checked before MDAnalysis sees it, because MDAnalysis
silently drops or misreads frames whose atom count differs from the data file.
"""

from __future__ import annotations

import json
import mmap
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nucleate.errors import NucleateError
from nucleate.geometry import cell_matrix
from nucleate.systems.groups import Groups

_TIMESTEP = re.compile(rb"ITEM: TIMESTEP[^\n]*\n\s*(\d+)")
_NATOMS = re.compile(rb"ITEM: NUMBER OF ATOMS[^\n]*\n\s*(\d+)")
_ATOMS = re.compile(rb"ITEM: ATOMS([^\n]*)\n")


@dataclass
class DumpScan:
    """What a LAMMPS dump holds, read without parsing coordinates."""

    path: Path
    steps: np.ndarray      # (n_frames,) MD step of each frame
    natoms: int
    columns: list[str]

    @property
    def n_frames(self) -> int:
        return len(self.steps)


def scan_dump(path: str | Path, expected_natoms: int | None = None) -> DumpScan:
    """Check every frame of a `dump custom` file: same atom count (= the data file's) and complete."""
    path = Path(path)
    if not path.is_file():
        raise NucleateError(f"trajectory {path} does not exist")
    if path.stat().st_size == 0:
        raise NucleateError(f"trajectory {path} is empty (no frames); did the run write its dump?")
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as text:
        steps = [int(m.group(1)) for m in _TIMESTEP.finditer(text)]
        counts = [int(m.group(1)) for m in _NATOMS.finditer(text)]
        headers = list(_ATOMS.finditer(text))
        if not steps or len(counts) != len(steps) or len(headers) != len(steps):
            raise NucleateError(f"{path} is not a LAMMPS dump file with complete frame headers "
                                "(ITEM: TIMESTEP / NUMBER OF ATOMS / ATOMS); write it with `dump custom ... id type x y z`")
        starts = [m.start() for m in _TIMESTEP.finditer(text)] + [len(text)]
        expected = counts[0] if expected_natoms is None else expected_natoms
        for frame, (step, count, header) in enumerate(zip(steps, counts, headers)):
            lines = text[header.end():starts[frame + 1]].count(b"\n")
            if count != expected or lines != count:
                what = f"says {count} atoms" if count != expected else f"has {lines} atom lines for {count} atoms (truncated?)"
                raise NucleateError(
                    f"{path}: frame {frame} (step {step}) {what}, but the data file has {expected}; "
                    "the dump must hold every atom of the data file in every frame")
        columns = headers[0].group(1).decode().split()
    missing = {"id", "type"} - set(columns)
    if missing or not ({"x", "y", "z"} <= set(columns) or {"xu", "yu", "zu"} <= set(columns)):
        raise NucleateError(f"{path}: dump columns {columns} lack id/type/x y z; use `dump custom ... id type x y z`")
    return DumpScan(path=path, steps=np.asarray(steps), natoms=expected, columns=columns)


def _box_dimensions(header: bytes) -> np.ndarray | None:
    """MDAnalysis dimensions [a, b, c, alpha, beta, gamma] from one frame's BOX BOUNDS block."""
    lines = header.split(b"ITEM: BOX BOUNDS", 1)[1].split(b"\n")[1:4]
    bounds = np.array([[float(v) for v in line.split()] for line in lines])
    if bounds.shape == (3, 2):
        return np.concatenate([bounds[:, 1] - bounds[:, 0], [90.0, 90.0, 90.0]])
    if bounds.shape != (3, 3):
        return None
    xy, xz, yz = bounds[:, 2]
    # Dumps of triclinic boxes store the bounding box; recover the cell edges (LAMMPS howto_triclinic).
    lx = bounds[0, 1] - bounds[0, 0] - (max(0.0, xy, xz, xy + xz) - min(0.0, xy, xz, xy + xz))
    ly = bounds[1, 1] - bounds[1, 0] - (max(0.0, yz) - min(0.0, yz))
    lz = bounds[2, 1] - bounds[2, 0]
    from MDAnalysis.lib.mdamath import triclinic_box

    return np.asarray(triclinic_box([lx, 0, 0], [xy, ly, 0], [xz, yz, lz]), dtype=float)


def read_dump_frames(scan: DumpScan) -> tuple[np.ndarray, np.ndarray] | None:
    """All coordinates (n_frames, natoms, 3) ordered by id, and dimensions (n_frames, 6), parsed in C.

    MDAnalysis's own LAMMPS dump reader parses line by line in Python (~5 ms per 732-atom frame);
    this is ~10x faster.  Returns None for layouts it does not handle (scaled coordinates), so the
    caller falls back to MDAnalysis.
    """
    columns = scan.columns
    names = next((c for c in (("x", "y", "z"), ("xu", "yu", "zu")) if set(c) <= set(columns)), None)
    if names is None:
        return None
    position_columns = [columns.index(n) for n in names]
    id_column = columns.index("id")
    with scan.path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as text:
        starts = [m.start() for m in _TIMESTEP.finditer(text)] + [len(text)]
        headers = list(_ATOMS.finditer(text))
        positions = np.empty((scan.n_frames, scan.natoms, 3), dtype=np.float32)
        dimensions = np.empty((scan.n_frames, 6))
        for frame, header in enumerate(headers):
            box = _box_dimensions(text[starts[frame]:header.start()])
            if box is None:
                return None
            dimensions[frame] = box
            table = np.fromstring(text[header.end():starts[frame + 1]].decode(), sep=" ")
            table = table.reshape(scan.natoms, len(columns))
            order = np.argsort(table[:, id_column])
            positions[frame] = table[order][:, position_columns]
    return positions, dimensions


def frame_cell(ts) -> np.ndarray | None:
    """The periodic cell (A) of an MDAnalysis timestep, None when the frame has no box."""
    dims = ts.dimensions
    return None if dims is None or not np.all(dims[:3] > 0) else cell_matrix(dims)


@dataclass
class RunFiles:
    """The three files trajectory analysis needs, and the MD timestep if known."""

    data: Path
    traj: Path
    groups: Path | None
    timestep_fs: float | None = None
    type_map: list[str] | None = None

    @classmethod
    def locate(cls, rundir=None, data=None, traj=None, groups=None, timestep_fs=None) -> "RunFiles":
        """Explicit paths win; a run directory supplies system.data, traj.lammpstrj, groups.json, manifest.json."""
        type_map = None
        if rundir is not None:
            rundir = Path(rundir)
            if not rundir.is_dir():
                raise NucleateError(f"run directory {rundir} does not exist")
            data = data or rundir / "system.data"
            traj = traj or rundir / "traj.lammpstrj"
            if groups is None and (rundir / "groups.json").is_file():
                groups = rundir / "groups.json"
            manifest = rundir / "manifest.json"
            if manifest.is_file():
                try:
                    info = json.loads(manifest.read_text())
                except json.JSONDecodeError as exc:
                    raise NucleateError(f"{manifest} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
                timestep_fs = timestep_fs if timestep_fs is not None else info.get("timestep_fs")
                type_map = info.get("type_map")
        if data is None or traj is None:
            raise NucleateError("give a run directory, or both --data (LAMMPS data file) and --traj (LAMMPS dump)")
        for label, path in (("data file", data), ("trajectory", traj), ("groups file", groups)):
            if path is not None and Path(path).is_dir():
                raise NucleateError(f"{label} {path} is a folder, not a file")
            if path is not None and not Path(path).is_file():
                raise NucleateError(f"{label} {path} does not exist")
        return cls(Path(data), Path(traj), Path(groups) if groups else None,
                   float(timestep_fs) if timestep_fs is not None else None, type_map)


class Run:
    """A Universe over one run plus its groups; `atoms("Ag")` gives an MDAnalysis AtomGroup."""

    def __init__(self, files: RunFiles, type_map: list[str] | None = None, in_memory: bool | None = None):
        """in_memory: parse the whole dump into memory once (default when it fits in ~1 GB)."""
        import MDAnalysis as mda

        from nucleate.systems.lammps_data import read_data

        self.files = files
        self.datafile = read_data(files.data)
        self.scan = scan_dump(files.traj, expected_natoms=self.datafile.natoms)
        self.groups = self._groups(type_map or files.type_map)
        if self.groups.natoms != self.datafile.natoms:
            raise NucleateError(f"groups file {files.groups} is for {self.groups.natoms} atoms, "
                                f"but {files.data} has {self.datafile.natoms}")
        self.time_unit = "ps" if files.timestep_fs else "step"
        dt = files.timestep_fs * 1e-3 if files.timestep_fs else 1.0
        if in_memory is None:
            in_memory = self.scan.n_frames * self.scan.natoms * 12 <= 1 << 30
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no dt information" and guessed-attribute chatter
            frames = read_dump_frames(self.scan) if in_memory else None
            if frames is not None:
                from MDAnalysis.coordinates.memory import MemoryReader

                self.universe = mda.Universe(str(files.data), frames[0], topology_format="DATA",
                                             format=MemoryReader, atom_style="id type x y z",
                                             dimensions=frames[1], dt=dt)
            else:
                self.universe = mda.Universe(str(files.data), str(files.traj), topology_format="DATA",
                                             format="LAMMPSDUMP", atom_style="id type x y z", dt=dt)
        masses = np.array([self.datafile.masses.get(int(t), 1.0) for t in self.datafile.types])
        self.universe.atoms.masses = masses

    def _groups(self, type_map) -> Groups:
        if self.files.groups is not None:
            return Groups.read(self.files.groups)
        if type_map:
            return Groups.from_types(self.datafile.types, type_map, source=f"types of {self.files.data}")
        raise NucleateError(f"no groups file: give --groups groups.json or --type-map Ag,S,N,C,H,O "
                            f"to name the atom types of {self.files.data}")

    def ids(self, name: str) -> np.ndarray:
        """1-based ids of a named group (or "ids:1-10" escape hatch); unknown names list the known ones."""
        return self.groups.select(name)

    def atoms(self, name: str):
        return self.universe.atoms[self.ids(name) - 1]

    @property
    def n_frames(self) -> int:
        return self.scan.n_frames

    def steps(self, frames) -> np.ndarray:
        """MD step of each analysed frame index."""
        return self.scan.steps[np.asarray(frames, dtype=int)]

    def times(self, frames) -> np.ndarray:
        """Time of each analysed frame: ps when the MD timestep is known, else the MD step."""
        steps = self.steps(frames).astype(float)
        return steps * self.files.timestep_fs * 1e-3 if self.files.timestep_fs else steps
