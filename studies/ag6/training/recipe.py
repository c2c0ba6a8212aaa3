"""What the pipeline samples and how much: system kinds, the boxes they come from, and two scales.

A *kind* is one chemical situation with a fixed composition (solute + the K nearest methanol
carved from a periodic box, or a bare cluster in vacuum); its frames form one deepmd/npy system
and its held-out errors one row of the model card.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TYPE_MAP = ["Ag", "S", "N", "C", "H", "O"]
METHANOL = {"molecule": "methanol", "density": "liquid"}


@dataclass(frozen=True)
class Kind:
    name: str
    box: dict | str | None      # systems.build preset name or spec mapping; None: bare molecule in vacuum
    shell: int = 0              # methanol molecules carved around the solutes (nearest first)
    molecule: str | None = None  # library molecule of a vacuum kind
    description: str = ""

    @property
    def vacuum(self) -> bool:
        return self.box is None


def _box(length: float, solutes: list[dict], seed: int = 1) -> dict:
    # the study's type map, which the pipeline's models and engine specs use (a box's own default would
    # number a methanol-only box C, H, O)
    return {"box": length, "seed": seed, "tolerance": 2.0, "solutes": solutes, "solvent": dict(METHANOL),
            "type_map": list(TYPE_MAP)}


KINDS = (
    Kind("methanol", _box(16.0, []), 16, description="liquid methanol: 16 molecules around a random one"),
    Kind("AgL", _box(15.0, [{"molecule": "AgL", "count": 1, "placement": "center"}]), 12,
         description="one AgL monomer + 12 nearest methanol"),
    Kind("AgL_pair", "ag6/monomer_dimer", 16, description="two AgL monomers (study box, 732 atoms) + 16 nearest methanol"),
    Kind("Ag2L2", _box(15.0, [{"molecule": "Ag2L2", "count": 1, "placement": "center"}]), 14,
         description="one Ag2L2 dimer + 14 nearest methanol"),
    Kind("Ag2L2_x3", "ag6/dimer_octahedral", 20,
         description="three Ag2L2 dimers, the partial aggregates before the octahedron (study box) + 20 nearest methanol"),
    Kind("Ag6L6", "ag6/ag6l6_methanol", 20, description="the Ag6L6 octahedral cluster (study box) + 20 nearest methanol"),
    Kind("AgL_vacuum", None, molecule="AgL", description="bare AgL, distorted"),
    Kind("Ag2L2_vacuum", None, molecule="Ag2L2", description="bare Ag2L2, distorted"),
    Kind("Ag6L6_vacuum", None, molecule="Ag6L6", description="bare Ag6L6, distorted"),
)


@dataclass(frozen=True)
class Scale:
    name: str
    initial_frames: int          # per kind, round 0 (carved from packed boxes / distorted, rattled)
    squeezed_frames: int         # per condensed kind, round 0: molecules pulled together (close contacts)
    distorted_frames: int        # per condensed kind, round 0: proton shifts and H-H contacts (sampling.py)
    thermal_frames: int          # per small kind, round 0: GFN2-xTB Langevin MD frames (xtb_md.py)
    thermal_every: int           # MD steps (0.5 fs) between thermal frames
    thermal_max_atoms: int       # kinds above this size are too slow for xTB MD on 2 cores
    test_frames: int             # per kind, held out, independent random stream
    rounds: int                  # concurrent-learning rounds after round 0
    explore_steps: int           # MD steps (0.5 fs) per kind and round, model committee
    explore_frames: int          # frames selected per kind and round (largest force disagreement first)
    committee: int               # models trained per round (different seeds)
    train_steps: int             # committee models, each round
    final_steps: int             # the shipped model
    cp2k_frames: int             # validation frames labelled with CP2K PBE-D3 (0: skip)
    stability_ps: float          # NVT check of the final model on the study boxes
    minimize_iterations: int     # CG iterations on each packed box before the stability MD
    kinds: tuple[str, ...] = field(default_factory=lambda: tuple(k.name for k in KINDS))


SMOKE = Scale("smoke", initial_frames=2, squeezed_frames=1, distorted_frames=1, thermal_frames=2, thermal_every=2, thermal_max_atoms=110,
              test_frames=1, rounds=1, explore_steps=20, explore_frames=1, committee=2, train_steps=20, final_steps=20,
              cp2k_frames=0, stability_ps=0.01, minimize_iterations=5, kinds=("methanol", "AgL", "AgL_vacuum"))
# About four and a half hours on 2 cores (measured stage by stage over builds 3-6: round-0 labels ~40 min
# with the distorted frames, xTB MD ~22 min, four committees of two ~30 min, exploration ~5 min per round,
# the final 100,000 steps ~60 min, the two 20 ps checks side by side ~40 min with the compressed model).
# Three rounds: later committees have seen the thermal frames and, with per-atom deviations, also carve the
# bulk methanol where it fails (the third build, one round, broke methanol far from the solutes, which
# solute-centred carving never labelled).
# CP2K is off: no PBE-D3 frame of even 18 atoms finished within 10 minutes on this machine.
FULL = Scale("full", initial_frames=40, squeezed_frames=20, distorted_frames=40, thermal_frames=40, thermal_every=20, thermal_max_atoms=110,
             test_frames=10, rounds=3, explore_steps=600,
             explore_frames=20, committee=2, train_steps=6000, final_steps=100000, cp2k_frames=0, stability_ps=20.0,
             minimize_iterations=300)
SCALES = {s.name: s for s in (SMOKE, FULL)}
TRUST_LO_EV_PER_ANGSTROM = 0.10  # below: the committee agrees, nothing to learn
TRUST_HI_EV_PER_ANGSTROM = 0.80  # above: likely an unphysical configuration from a failing model


def kind(name: str) -> Kind:
    for k in KINDS:
        if k.name == name:
            return k
    raise KeyError(name)
