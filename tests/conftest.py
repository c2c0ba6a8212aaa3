"""Shared fixtures.  The engine tests run real LAMMPS + PLUMED (+ DeePMD) in-process."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from nucleate.runtime import quiet_environment
from nucleate.systems.elements import element_of_mass
from nucleate.systems.lammps_data import write_data as _write_data

quiet_environment()
os.environ.setdefault("MPLBACKEND", "Agg")

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


def write_data(path: Path, positions, types, box=(20.0, 20.0, 20.0), masses=(39.948,), tilt=None) -> Path:
    """A LAMMPS atom_style atomic data file (Angstrom, g/mol): nucleate.systems.write_data with test defaults.

    Types are named by their mass (element_of_mass), as the file's Masses comments only.
    """
    names = [element_of_mass(m) or f"type{k}" for k, m in enumerate(masses, start=1)]
    return _write_data(path, positions, types, box, masses, names, tilt=tilt if tilt is not None else (0.0, 0.0, 0.0),
                       comment="nucleate test data")


def toy_spec(tmp_path: Path, data: Path, *, plumed: str | None, steps: int = 20, thermostat: str = "nve",
             temperature: float = 300.0, timestep_fs: float = 1.0, initial_temperature: float | None = 0.0,
             pair_style: str = "zero 5.0", pair_coeff=("* *",), type_map=("Ar",), output=None,
             potential: dict | None = None, name: str = "toy") -> dict:
    """A spec dict for toy systems (any LAMMPS pair style), with an optional PLUMED input text."""
    spec = {
        "name": name,
        "system": {"data": str(data), "type_map": list(type_map)},
        "potential": potential or {"pair_style": pair_style, "pair_coeff": list(pair_coeff)},
        "md": {"temperature_K": temperature, "timestep_fs": timestep_fs, "steps": steps,
               "thermostat": thermostat, "seed": 4242,
               **({"initial_temperature_K": initial_temperature} if initial_temperature is not None else {})},
        "output": output or {"thermo": 1, "dump": 10, "checkpoint": 10},
    }
    if plumed is not None:
        plumed_path = tmp_path / "input.plumed.dat"
        plumed_path.write_text(textwrap.dedent(plumed))
        spec["plumed"] = {"file": str(plumed_path)}
    return spec


def read_table(path: Path):
    """Rows of a whitespace table, skipping '#' lines (PLUMED's repeated headers included)."""
    import numpy as np

    rows = [line.split() for line in Path(path).read_text().splitlines() if line.strip() and not line.startswith("#")]
    return np.array(rows, dtype=float)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A DeePMD model trained by the suite itself (a few hundred `dp train` steps on generated data)."""
    from nucleate.models import train_toy_model

    workdir = tmp_path_factory.mktemp("tiny_model")
    return train_toy_model(workdir, steps=300, seed=1)
