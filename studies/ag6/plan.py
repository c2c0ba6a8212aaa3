"""The four simulations of the study and how long each runs at each scale.

Settings follow the authors' in.lmp: units metal, 0.5 fs, Nose-Hoover NVT at 300 K with their
effective damping of 5 fs (their `tdamp = 100*dt` with dt = 0.05e-3 ps), dumps every 100 steps.
"""

from __future__ import annotations

from dataclasses import dataclass

TIMESTEP_FS = 0.5
TEMPERATURE_K = 300.0
TDAMP_FS = 5.0
TYPE_MAP = ["Ag", "S", "N", "C", "H", "O"]
SCALES = ("smoke", "quick", "full")

# How each start is prepared before production (nucleate.engine.prepare), as the model card's stability
# checks start: CG minimisation (solutes held in place, at most this many iterations), then Langevin at
# 300 K for this many ps with the preset's walls and restraint. The 11,000-atom box gets less (each force
# call costs ~2 s on 2 cores).
PREPARATION = {"smoke": (10, 0.005), "quick": (200, 0.25), "full": (500, 1.0)}
PREPARATION_LARGE = {"smoke": (5, 0.0025), "quick": (30, 0.025), "full": (200, 0.5)}
LARGE_BOX_ATOMS = 5000


@dataclass(frozen=True)
class Simulation:
    name: str                      # run folder under runs/
    title: str
    box: str                       # nucleate.systems preset
    plumed: str | None             # nucleate.plumed_cvs preset, None for unbiased MD
    steps: dict[str, int]          # per scale, 0.5 fs steps
    dump: dict[str, int]           # per scale: steps between trajectory frames (and COLVAR rows)
    seed: int
    paper_length: str
    atoms: int                     # of the built box (for ordering work: steps x atoms)

    def ps(self, scale: str) -> float:
        return self.steps[scale] * TIMESTEP_FS * 1e-3

    def preparation(self, scale: str) -> tuple[int, float]:
        """(minimisation iterations at most, equilibration ps) before production."""
        return (PREPARATION_LARGE if self.atoms > LARGE_BOX_ATOMS else PREPARATION)[scale]

    @property
    def biased(self) -> bool:
        return self.plumed is not None


SIMULATIONS = (
    Simulation("ag6l6", "Ag6L6 in 150 methanol, unbiased", "ag6/ag6l6_methanol", None,
               steps={"smoke": 200, "quick": 12_000, "full": 50_000_000},
               dump={"smoke": 10, "quick": 100, "full": 100}, seed=61, paper_length="25 ns", atoms=936),
    Simulation("monomer_dimer", "two AgL monomers -> Ag2L2 dimer, WT-MetaD on (s1, s2)", "ag6/monomer_dimer",
               "ag6/monomer_dimer", steps={"smoke": 200, "quick": 12_000, "full": 9_000_000},
               dump={"smoke": 10, "quick": 100, "full": 100}, seed=62, paper_length="4.5 ns", atoms=732),
    Simulation("dimer_octahedral", "three Ag2L2 dimers -> Ag6L6 octahedron, WT-MetaD on (s3, s4)",
               "ag6/dimer_octahedral", "ag6/dimer_octahedral",
               steps={"smoke": 200, "quick": 12_000, "full": 20_000_000},
               dump={"smoke": 10, "quick": 100, "full": 100}, seed=63, paper_length="up to 10 ns (20 M steps)",
               atoms=726),
    Simulation("dimers30", "30 Ag2L2 dimers in methanol (50 A box), unbiased", "ag6/dimers30", None,
               steps={"smoke": 20, "quick": 600, "full": 700_000},
               dump={"smoke": 5, "quick": 50, "full": 100}, seed=64, paper_length="350 ps", atoms=11106),
)


def simulation(name: str) -> Simulation:
    for sim in SIMULATIONS:
        if sim.name == name:
            return sim
    raise KeyError(name)


def run_spec(sim: Simulation, scale: str, data: str, groups: str, model: str) -> dict:
    """The engine spec (nucleate.engine.spec) of one simulation at one scale."""
    steps, dump = sim.steps[scale], sim.dump[scale]
    spec = {
        "name": f"ag6-{sim.name}-{scale}",
        "system": {"data": data, "groups": groups, "type_map": TYPE_MAP},
        "potential": {"deepmd": model},
        "md": {"temperature_K": TEMPERATURE_K, "timestep_fs": TIMESTEP_FS, "steps": steps,
               "thermostat": "nose-hoover", "tdamp_fs": TDAMP_FS, "seed": sim.seed},
        "output": {"thermo": dump, "dump": dump, "checkpoint": _checkpoint(steps, dump)},
    }
    if sim.plumed:
        # COLVAR rows at the dump stride: the trajectory frames and the CVs line up step by step
        spec["plumed"] = {"preset": sim.plumed, "overrides": {"print_stride": dump}}
    return spec


def _checkpoint(steps: int, dump: int) -> int:
    """About 20 checkpoints a run (at most every 50,000 steps), a multiple of the dump stride."""
    every = min(max(dump, steps // 20), 50_000)
    return max(dump, every - every % dump)
