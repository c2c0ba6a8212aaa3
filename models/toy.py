"""The toy Morse-silver DeePMD model: data, training and checks in one place.

    python -m nucleate.models.toy --demo            # rebuild the committed demo model (minutes)
    python -m nucleate.models.toy -o DIR --steps 300  # a tiny model, as the tests train it
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nucleate.models.cluster import BOX_ANGSTROM, centred_in_box, icosahedron_ag13, radius_of_gyration
from nucleate.models.dataset import write_deepmd_npy
from nucleate.models.lammps_eval import ClusterCalculator, deepmd_pair_commands
from nucleate.models.model_card import write_model_card
from nucleate.models.morse import GIRIFALCO_WEIZER_SILVER, TYPE_MAP
from nucleate.models.sampling import LabelledFrames, generate_frames
from nucleate.models.training import DEMO, TINY, NetworkSize, train_and_freeze, training_input

NATOMS = 13


@dataclass(frozen=True)
class Recipe:
    temperatures_k: tuple[float, ...]
    md_frames_per_temperature: int
    distorted_frames: int
    size: NetworkSize
    steps: int


TINY_RECIPE = Recipe((300.0, 600.0, 900.0), 40, 80, TINY, 300)
DEMO_RECIPE = Recipe((300.0, 500.0, 700.0, 900.0, 1200.0), 200, 800, DEMO, 20000)
HELD_OUT_SEED_OFFSET = 1000  # held-out frames come from an independent random stream


@dataclass
class Accuracy:
    nframes: int
    energy_rmse_mev_per_atom: float
    force_rmse_mev_per_angstrom: float
    reference_force_rms_mev_per_angstrom: float  # what a model predicting zero force would score
    reference_energy_spread_mev_per_atom: float  # what predicting the mean energy would score


def morse_calculator() -> ClusterCalculator:
    return ClusterCalculator(GIRIFALCO_WEIZER_SILVER.pair_commands(), NATOMS)


def reference_frames(recipe: Recipe, seed: int, scale: float = 1.0) -> LabelledFrames:
    with morse_calculator() as morse:
        return generate_frames(morse, temperatures_k=recipe.temperatures_k,
                               md_frames_per_temperature=max(1, int(recipe.md_frames_per_temperature * scale)),
                               distorted_frames=max(len(recipe.temperatures_k), int(recipe.distorted_frames * scale)),
                               seed=seed)


def held_out_frames(recipe: Recipe, seed: int, scale: float = 0.25) -> LabelledFrames:
    return reference_frames(recipe, seed + HELD_OUT_SEED_OFFSET, scale)


def compare(model_path: str | Path, frames: LabelledFrames) -> Accuracy:
    """RMSE of the DeePMD model (run by LAMMPS `pair_style deepmd`) against the reference labels."""
    with ClusterCalculator(deepmd_pair_commands(model_path), frames.natoms, frames.box_angstrom) as model:
        energies, forces = model.label(frames.positions_angstrom)
    energy_error = (energies - frames.energies_ev) / frames.natoms
    force_error = forces - frames.forces_ev_per_angstrom
    return Accuracy(
        nframes=len(frames),
        energy_rmse_mev_per_atom=1000.0 * float(np.sqrt(np.mean(energy_error**2))),
        force_rmse_mev_per_angstrom=1000.0 * float(np.sqrt(np.mean(force_error**2))),
        reference_force_rms_mev_per_angstrom=1000.0 * float(np.sqrt(np.mean(frames.forces_ev_per_angstrom**2))),
        reference_energy_spread_mev_per_atom=1000.0 * float(np.std(frames.energies_ev / frames.natoms)),
    )


def build_model(workdir: str | Path, recipe: Recipe, seed: int = 0) -> Path:
    """Generate reference data, write it as deepmd/npy, train and freeze; returns model.pb's path."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    write_deepmd_npy(reference_frames(recipe, seed), workdir / "data" / "train")
    # relative to workdir, where dp runs, so input.json stays valid wherever the folder goes
    config = training_input(Path("data") / "train", None, steps=recipe.steps, seed=seed, size=recipe.size)
    return train_and_freeze(workdir, config)


def train_toy_model(workdir: str | Path, *, steps: int = 300, nframes: int = 200, seed: int = 0) -> Path:
    """A tiny Morse-silver DeePMD model (type map Ag S N C H O) for tests; returns the frozen .pb.

    `nframes` training frames (60 % MD at 300/600/900 K, 40 % distorted shapes) are labelled with
    the Morse reference in-process; `steps` training steps of `dp --tf train` follow.
    """
    md_per_temperature = max(1, round(0.6 * nframes / len(TINY_RECIPE.temperatures_k)))
    distorted = max(1, nframes - md_per_temperature * len(TINY_RECIPE.temperatures_k))
    recipe = Recipe(TINY_RECIPE.temperatures_k, md_per_temperature, distorted, TINY, steps)
    return build_model(workdir, recipe, seed=seed)


def write_demo_system(directory: str | Path) -> tuple[Path, Path]:
    """The demo system: a relaxed Ag13 icosahedron in a 30 A vacuum box, with its groups file."""
    from nucleate.systems import Groups, write_data
    from nucleate.systems.elements import MASSES

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # all atoms Ag (type 1), but all six study types declared so the model sees its own type numbering
    data = write_data(directory / "system.data", centred_in_box(icosahedron_ag13()), [1] * NATOMS,
                      [BOX_ANGSTROM] * 3, MASSES, TYPE_MAP,
                      comment="Ag13 icosahedron in a 30 A vacuum box (nucleate toy Morse-silver demo)")
    groups = Groups.from_types([1] * NATOMS, TYPE_MAP, source=str(data)).write(directory / "groups.json")
    return data, groups


def benchmark(model_path: str | Path, seed: int) -> dict:
    """NVE energy conservation and MD speed of the model in LAMMPS on the demo system."""
    start = centred_in_box(icosahedron_ag13())
    with ClusterCalculator(deepmd_pair_commands(model_path), NATOMS) as model:
        nve = model.nve(start, 600.0, time_ps=20.0, seed=seed + 7, timestep_fs=1.0)
        speed = model.md_speed(start, steps=2000)
    with morse_calculator() as morse:
        nve_ref = morse.nve(start, 600.0, time_ps=20.0, seed=seed + 7, timestep_fs=1.0)
    return {
        "nve_600K_1fs_20ps": {"drift_mev_per_atom_per_ps": nve.drift_mev_per_atom_per_ps,
                              "fluctuation_mev_per_atom": nve.fluctuation_mev_per_atom,
                              "mean_temperature_k": float(nve.temperature_k[1:].mean())},
        "nve_600K_1fs_20ps_morse_reference": {"drift_mev_per_atom_per_ps": nve_ref.drift_mev_per_atom_per_ps,
                                              "fluctuation_mev_per_atom": nve_ref.fluctuation_mev_per_atom},
        "md_steps_per_second_1_thread": speed,
    }


def build_demo(output: str | Path, *, steps: int = DEMO_RECIPE.steps, seed: int = 0, workdir: str | Path | None = None) -> dict:
    """Rebuild the demo folder: model.pb, input.json, system.data, groups.json, metrics.json, MODEL_CARD.md."""
    import shutil
    import tempfile

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    recipe = Recipe(DEMO_RECIPE.temperatures_k, DEMO_RECIPE.md_frames_per_temperature,
                    DEMO_RECIPE.distorted_frames, DEMO_RECIPE.size, steps)
    with tempfile.TemporaryDirectory(prefix="nucleate-demo-model-") as scratch:
        workdir = Path(workdir) if workdir else Path(scratch)
        began = time.perf_counter()
        model = build_model(workdir, recipe, seed=seed)
        build_seconds = time.perf_counter() - began
        coords = np.load(workdir / "data" / "train" / "set.000" / "coord.npy").reshape(-1, NATOMS, 3)
        gyration = [radius_of_gyration(frame) for frame in coords]
        shutil.copy(model, output / "model.pb")
        shutil.copy(workdir / "input.json", output / "input.json")
    write_demo_system(output)
    held_out = held_out_frames(recipe, seed)
    metrics = {
        "recipe": {**asdict(recipe), "seed": seed, "box_angstrom": BOX_ANGSTROM},
        "training_frames": len(coords),
        "training_radius_of_gyration_angstrom": [float(min(gyration)), float(max(gyration))],
        "build_seconds": build_seconds,
        "held_out": asdict(compare(output / "model.pb", held_out)),
        **benchmark(output / "model.pb", seed),
        "model_bytes": (output / "model.pb").stat().st_size,
    }
    (output / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    write_model_card(metrics, output / "MODEL_CARD.md")
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nucleate.models.toy", description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="rebuild the committed demo model in models/demo/")
    parser.add_argument("-o", "--output", type=Path, help="output folder (default: models/demo with --demo)")
    parser.add_argument("--steps", type=int, help="training steps (default: 20000 demo, 300 tiny)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.demo:
        metrics = build_demo(args.output or Path(__file__).parent / "demo",
                             steps=args.steps or DEMO_RECIPE.steps, seed=args.seed)
        print(json.dumps(metrics, indent=1))
        return 0
    if args.output is None:
        parser.error("give -o DIR (or --demo)")
    began = time.perf_counter()
    model = train_toy_model(args.output, steps=args.steps or TINY_RECIPE.steps, seed=args.seed)
    print(f"{model} ({time.perf_counter() - began:.1f} s)")
    print(json.dumps(asdict(compare(model, held_out_frames(TINY_RECIPE, args.seed))), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
