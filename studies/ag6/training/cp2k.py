"""CP2K reference labels with the study's level of theory: PBE-D3, GTH pseudopotentials, DZVP-MOLOPT basis.

Non-periodic clusters only (wavelet Poisson solver, cubic cell = extent + 10 A of vacuum). Energies come back in eV, forces in eV/A, by atom in input order.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nucleate.errors import NucleateError
from nucleate.models.xtb import BOHR_ANGSTROM, HARTREE_EV

PSEUDO_VALENCE = {"Ag": 11, "S": 6, "N": 5, "C": 4, "H": 1, "O": 6}  # GTH-PBE-qN
CUTOFF_RY = 400.0
REL_CUTOFF_RY = 50.0
CELL_MARGIN_ANGSTROM = 10.0  # vacuum around the cluster; the wavelet solver needs no doubling
_ENERGY = re.compile(r"ENERGY\| Total FORCE_EVAL \( QS \) energy \[(?:a\.u\.|hartree)\]:\s+(\S+)")


def cp2k_executable() -> str | None:
    for name in ("cp2k.psmp", "cp2k.ssmp", "cp2k.popt", "cp2k"):
        found = shutil.which(name)
        if found:
            return found
    return None


def cp2k_version() -> str:
    exe = cp2k_executable()
    if exe is None:
        return "not installed"
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"CP2K version (\S+)", out)
    return match.group(1) if match else "unknown"


def cell_length_angstrom(positions: np.ndarray) -> float:
    """Cubic cell for the wavelet Poisson solver: the cluster's extent plus a vacuum margin (A)."""
    extent = float((positions.max(axis=0) - positions.min(axis=0)).max())
    return extent + CELL_MARGIN_ANGSTROM


def cp2k_input(elements: list[str], positions: np.ndarray, project: str = "frame") -> str:
    cell = cell_length_angstrom(positions)
    centred = positions - positions.mean(axis=0) + cell / 2.0
    coords = "\n".join(f"      {el} {x:.8f} {y:.8f} {z:.8f}" for el, (x, y, z) in zip(elements, centred))
    kinds = "\n".join(f"    &KIND {el}\n      BASIS_SET DZVP-MOLOPT-SR-GTH\n      POTENTIAL GTH-PBE-q{PSEUDO_VALENCE[el]}\n    &END KIND"
                      for el in sorted(set(elements)))
    return f"""&GLOBAL
  PROJECT {project}
  RUN_TYPE ENERGY_FORCE
  PRINT_LEVEL LOW
&END GLOBAL
&FORCE_EVAL
  METHOD Quickstep
  &PRINT
    &FORCES ON
    &END FORCES
  &END PRINT
  &DFT
    BASIS_SET_FILE_NAME BASIS_MOLOPT
    POTENTIAL_FILE_NAME GTH_POTENTIALS
    CHARGE 0
    MULTIPLICITY 1
    &MGRID
      CUTOFF {CUTOFF_RY}
      REL_CUTOFF {REL_CUTOFF_RY}
    &END MGRID
    &QS
      EPS_DEFAULT 1.0E-10
    &END QS
    &POISSON
      PERIODIC NONE
      PSOLVER WAVELET
    &END POISSON
    &SCF
      SCF_GUESS ATOMIC
      EPS_SCF 1.0E-6
      MAX_SCF 50
      &OT
        MINIMIZER DIIS
        PRECONDITIONER FULL_SINGLE_INVERSE
      &END OT
      &OUTER_SCF
        EPS_SCF 1.0E-6
        MAX_SCF 10
      &END OUTER_SCF
    &END SCF
    &XC
      &XC_FUNCTIONAL PBE
      &END XC_FUNCTIONAL
      &VDW_POTENTIAL
        POTENTIAL_TYPE PAIR_POTENTIAL
        &PAIR_POTENTIAL
          TYPE DFTD3
          PARAMETER_FILE_NAME dftd3.dat
          REFERENCE_FUNCTIONAL PBE
          R_CUTOFF 15.0
        &END PAIR_POTENTIAL
      &END VDW_POTENTIAL
    &END XC
  &END DFT
  &SUBSYS
    &CELL
      ABC {cell:.4f} {cell:.4f} {cell:.4f}
      PERIODIC NONE
    &END CELL
    &COORD
{coords}
    &END COORD
{kinds}
  &END SUBSYS
&END FORCE_EVAL
"""


def parse_output(text: str, natoms: int) -> tuple[float, np.ndarray]:
    """(energy eV, forces (natoms, 3) eV/A) from a CP2K ENERGY_FORCE output."""
    energies = _ENERGY.findall(text)
    if not energies:
        raise NucleateError("CP2K output has no total energy line (SCF failed or CP2K stopped early)")
    lines = text.splitlines()
    start = max(i for i, line in enumerate(lines) if "ATOMIC FORCES in" in line)
    rows = []
    for line in lines[start + 3:]:
        parts = line.split()
        if len(parts) < 6 or not parts[0].isdigit():
            break
        rows.append([float(v) for v in parts[3:6]])
    forces = np.asarray(rows)
    if forces.shape != (natoms, 3):
        raise NucleateError(f"CP2K output lists {len(rows)} atomic forces for {natoms} atoms")
    return float(energies[-1]) * HARTREE_EV, forces * HARTREE_EV / BOHR_ANGSTROM


@dataclass
class Cp2kResult:
    energy_ev: float
    forces_ev_per_angstrom: np.ndarray
    seconds: float       # wall time
    cpu_seconds: float   # CPU time of the CP2K process (what a quiet machine would take on one core)


def cp2k_label(elements: list[str], positions: np.ndarray, workdir: str | Path, threads: int = 1) -> Cp2kResult:
    """Run one CP2K PBE-D3 single point in `workdir` (kept: input, output)."""
    exe = cp2k_executable()
    if exe is None:
        raise NucleateError("CP2K is not installed (no cp2k.psmp/cp2k.ssmp/cp2k on PATH); on Debian/Ubuntu "
                            "`apt-get install cp2k`, or skip the CP2K validation set")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "frame.inp").write_text(cp2k_input(list(elements), np.asarray(positions)))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    began = time.perf_counter()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(workdir / "frame.out", "w") as out:
        result = subprocess.run([exe, "-i", "frame.inp"], cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                                env=env, check=False)
    seconds = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime
    text = (workdir / "frame.out").read_text(errors="replace")
    if result.returncode != 0:
        raise NucleateError(f"CP2K failed (exit {result.returncode}) in {workdir}; see frame.out: "
                            + " | ".join(text.splitlines()[-5:]))
    energy, forces = parse_output(text, len(elements))
    return Cp2kResult(energy, forces, seconds, cpu)
