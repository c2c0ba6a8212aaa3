"""One in-process LAMMPS instance holding a cluster, used both to label frames with the Morse
reference and to evaluate a DeePMD model the same way (energies in eV, forces in eV/A)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from nucleate.models.cluster import BOX_ANGSTROM, make_whole
from nucleate.models.morse import TYPE_MAP
from nucleate.systems.elements import mass


def deepmd_pair_commands(model_path) -> list[str]:
    # `pair_coeff * *` maps LAMMPS type k to model type k-1: our data files follow the model's type map.
    return [f"pair_style deepmd {model_path}", "pair_coeff * *"]


@dataclass
class NveResult:
    time_ps: np.ndarray
    total_energy_ev: np.ndarray
    temperature_k: np.ndarray
    drift_mev_per_atom_per_ps: float
    fluctuation_mev_per_atom: float


class ClusterCalculator:
    """Energy and forces of an all-Ag cluster in a cubic box, for any LAMMPS pair style."""

    def __init__(self, pair_commands: list[str], natoms: int, box_angstrom: float = BOX_ANGSTROM):
        from nucleate.runtime import lammps_class

        self.natoms = natoms
        self.box = box_angstrom
        self.lmp = lammps_class()(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
        self.lmp.commands_list(
            [
                "units metal",
                "atom_style atomic",
                "boundary p p p",
                "atom_modify map array sort 0 0.0",  # keep local order = creation order
                f"region box block 0 {box_angstrom} 0 {box_angstrom} 0 {box_angstrom}",
                f"create_box {len(TYPE_MAP)} box",
                *[f"mass {k} {mass(el)}" for k, el in enumerate(TYPE_MAP, start=1)],
                *[f"create_atoms 1 single {box_angstrom / 2} {box_angstrom / 2} {box_angstrom / 2}"] * natoms,
                *pair_commands,
                "neighbor 1.0 bin",
                "neigh_modify every 1 delay 0 check yes",
                "thermo_style custom step temp pe etotal",
            ]
        )

    def close(self) -> None:
        self.lmp.close()

    def __enter__(self) -> "ClusterCalculator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _local_order(self) -> np.ndarray:
        ids = np.asarray(self.lmp.numpy.extract_atom("id"))[: self.natoms]
        return np.argsort(ids)  # local index of atom id 1, 2, ...

    def set_positions(self, positions_angstrom: np.ndarray) -> None:
        x = self.lmp.numpy.extract_atom("x")
        x[self._local_order()] = np.asarray(positions_angstrom, dtype=float) % self.box

    def positions(self) -> np.ndarray:
        """Current positions in A, by atom id, with the cluster made whole across the boundary."""
        x = np.array(self.lmp.numpy.extract_atom("x"))[: self.natoms][self._local_order()]
        return make_whole(x, self.box)

    def energy_forces(self, positions_angstrom: np.ndarray) -> tuple[float, np.ndarray]:
        """Potential energy (eV) and forces (natoms, 3) in eV/A of one configuration."""
        self.set_positions(positions_angstrom)
        self.lmp.command("run 0 post no")
        energy = float(self.lmp.get_thermo("pe"))
        forces = np.array(self.lmp.numpy.extract_atom("f"))[self._local_order()]
        return energy, forces

    def label(self, frames_angstrom: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Energies (nframes,) in eV and forces (nframes, natoms, 3) in eV/A."""
        energies = np.empty(len(frames_angstrom))
        forces = np.empty((len(frames_angstrom), self.natoms, 3))
        for k, frame in enumerate(frames_angstrom):
            energies[k], forces[k] = self.energy_forces(frame)
        return energies, forces

    def sample_md(self, start_angstrom: np.ndarray, temperature_k: float, nframes: int, seed: int,
                  stride_steps: int = 100, equilibration_steps: int = 1000, timestep_fs: float = 2.0) -> np.ndarray:
        """Langevin MD snapshots (nframes, natoms, 3) in A, every `stride_steps` after equilibration."""
        self.set_positions(start_angstrom)
        self.lmp.commands_list(
            [
                f"timestep {timestep_fs / 1000.0}",
                f"velocity all create {temperature_k} {seed} mom yes rot yes dist gaussian",
                "fix sample_nve all nve",
                # zero yes: no net force from the thermostat, so the cluster does not drift
                f"fix sample_bath all langevin {temperature_k} {temperature_k} 0.1 {seed + 1} zero yes",
                f"run {equilibration_steps} post no",
            ]
        )
        frames = []
        for _ in range(nframes):
            self.lmp.command(f"run {stride_steps} post no")
            frames.append(self.positions())
        self.lmp.commands_list(["unfix sample_bath", "unfix sample_nve"])
        return np.asarray(frames)

    def nve(self, start_angstrom: np.ndarray, temperature_k: float, time_ps: float, seed: int,
            timestep_fs: float = 1.0, sample_every_steps: int = 50) -> NveResult:
        """Constant-energy run; drift is the slope of a straight-line fit of E_total per atom."""
        self.set_positions(start_angstrom)
        self.lmp.commands_list(
            [
                f"timestep {timestep_fs / 1000.0}",
                f"velocity all create {temperature_k} {seed} mom yes rot yes dist gaussian",
                "fix check_nve all nve",
                "run 0 post no",
            ]
        )
        nsamples = int(round(time_ps * 1000.0 / timestep_fs / sample_every_steps))
        times, etot, temp = [0.0], [self.lmp.get_thermo("etotal")], [self.lmp.get_thermo("temp")]
        for k in range(1, nsamples + 1):
            self.lmp.command(f"run {sample_every_steps} post no")
            times.append(k * sample_every_steps * timestep_fs / 1000.0)
            etot.append(self.lmp.get_thermo("etotal"))
            temp.append(self.lmp.get_thermo("temp"))
        self.lmp.command("unfix check_nve")
        times, etot = np.asarray(times), np.asarray(etot)
        slope, intercept = np.polyfit(times, etot, 1)
        residual = etot - (slope * times + intercept)
        return NveResult(times, etot, np.asarray(temp), 1000.0 * slope / self.natoms,
                         1000.0 * float(residual.std()) / self.natoms)

    def md_speed(self, start_angstrom: np.ndarray, temperature_k: float = 300.0, steps: int = 1000,
                 timestep_fs: float = 2.0) -> float:
        """MD steps per second (Langevin + NVE, as a biased run would do, without PLUMED)."""
        self.set_positions(start_angstrom)
        self.lmp.commands_list(
            [
                f"timestep {timestep_fs / 1000.0}",
                f"velocity all create {temperature_k} 4928 mom yes rot yes",
                "fix speed_nve all nve",
                f"fix speed_bath all langevin {temperature_k} {temperature_k} 0.1 4929 zero yes",
                "run 10 post no",
            ]
        )
        start = time.perf_counter()
        self.lmp.command(f"run {steps} post no")
        elapsed = time.perf_counter() - start
        self.lmp.commands_list(["unfix speed_bath", "unfix speed_nve"])
        return steps / elapsed
