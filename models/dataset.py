"""Write labelled frames as a DeePMD-kit `deepmd/npy` system (units eV, A, eV/A).

Layout (DeePMD-kit data format): type.raw, type_map.raw, set.000/{box,coord,energy,force}.npy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nucleate.models.morse import TYPE_MAP
from nucleate.models.sampling import LabelledFrames


def write_deepmd_npy(frames: LabelledFrames, directory: str | Path, type_map: list[str] = TYPE_MAP,
                     element: str = "Ag") -> Path:
    directory = Path(directory)
    set_dir = directory / "set.000"
    set_dir.mkdir(parents=True, exist_ok=True)
    nframes, natoms = len(frames), frames.natoms
    (directory / "type_map.raw").write_text("\n".join(type_map) + "\n")
    (directory / "type.raw").write_text("\n".join([str(type_map.index(element))] * natoms) + "\n")
    box = np.tile((np.eye(3) * frames.box_angstrom).reshape(1, 9), (nframes, 1))
    np.save(set_dir / "box.npy", box)
    np.save(set_dir / "coord.npy", frames.positions_angstrom.reshape(nframes, natoms * 3))
    np.save(set_dir / "energy.npy", frames.energies_ev)
    np.save(set_dir / "force.npy", frames.forces_ev_per_angstrom.reshape(nframes, natoms * 3))
    return directory
