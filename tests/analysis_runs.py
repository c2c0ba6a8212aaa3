"""PLUMED-written files for the analysis tests: one particle moved along a given path, with PLUMED
(its Python cmd API) computing CVs and biases and writing COLVAR, HILLS, KERNELS, grids.

The bias forces are not applied: the tests compare nucleate's sums with PLUMED's own numbers
and tools on the files PLUMED wrote, which does not need the dynamics to be biased.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nucleate.runtime import plumed_module


def random_walk(steps: int, seed: int, step_size=(0.05, 0.05), start=(0.0, 0.0), clip=1.5,
                periodic_x: bool = False) -> np.ndarray:
    """(steps, 2) positions of a clipped random walk; x wrapped into [-pi, pi) when periodic_x."""
    rng = np.random.default_rng(seed)
    path = np.empty((steps, 2))
    position = np.array(start, dtype=float)
    for step in range(steps):
        position += rng.normal(0.0, step_size)
        position[1] = np.clip(position[1], -clip, clip)
        position[0] = (position[0] + np.pi) % (2 * np.pi) - np.pi if periodic_x else np.clip(position[0], -clip, clip)
        path[step] = position
    return path


class PlumedWalk:
    """A PLUMED instance fed the positions of one particle, step by step.

    lines: the PLUMED input (`@` stands for the work folder); plumed_dat: write them to
    work/plumed.dat and let PLUMED read that file (so that UNITS and file names are PLUMED's own)."""

    def __init__(self, work: Path, lines: list[str], *, kbt: float = 2.494, timestep: float = 0.001,
                 plumed_dat: bool = False, log: str = "plumed.log"):
        self.work = Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.plumed = plumed_module().Plumed()
        for key, value in [("setMDEngine", "python"), ("setNatoms", 1), ("setTimestep", timestep), ("setKbT", kbt),
                           ("setLogFile", str(self.work / log))]:
            self.plumed.cmd(key, value)
        text = [line.replace("@", f"{self.work}/") for line in lines]
        if plumed_dat:
            (self.work / "plumed.dat").write_text("\n".join(text) + "\n")
            self.plumed.cmd("setPlumedDat", str(self.work / "plumed.dat"))
        self.plumed.cmd("init")
        if not plumed_dat:
            for line in text:
                self.plumed.cmd("readInputLine", line)
        self._position = np.zeros((1, 3))

    def step(self, step: int, xy) -> None:
        self._position[0, :2] = xy
        for key, value in [("setStep", step), ("setMasses", np.ones(1)), ("setPositions", self._position),
                           ("setForces", np.zeros((1, 3))), ("setVirial", np.zeros((3, 3))),
                           ("setBox", np.eye(3) * 100.0)]:
            self.plumed.cmd(key, value)
        self.plumed.cmd("calc")

    def run(self, path: np.ndarray, first_step: int = 0) -> "PlumedWalk":
        for offset, xy in enumerate(path):
            self.step(first_step + offset, xy)
        return self

    def close(self) -> None:
        self.plumed.finalize()


def plumed_run(work: Path, lines: list[str], path: np.ndarray, **options) -> Path:
    """Run PLUMED over the whole path and close it; returns the work folder."""
    PlumedWalk(work, lines, **options).run(path).close()
    return Path(work)
