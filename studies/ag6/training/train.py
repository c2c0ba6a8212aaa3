"""DeePMD-kit training input for the Ag/S/N/C/H/O model and committee training (`dp --tf train/freeze`)."""

from __future__ import annotations

from pathlib import Path

from nucleate.studies.ag6.training.recipe import TYPE_MAP
from nucleate.models.training import run_dp, train_and_freeze

# Sized for 2 CPU cores (measured, 732-atom box, 1 thread): rcut 6 A, sel 208, embedding [16,32]
# took 123 ms/step; at rcut 5 A (which still holds the first two Ag-Ag shells, 2.9-4.5 A, and every
# Ag-S/Ag-N bond) embedding [8,16] x 4 axis ran 10.9 steps/s, [16,32] x 8 axis 7.6 and [16,32,64] x 8 with
# a [128]*3 fitting net 4.3 (all three with the machine busy). [8,16] x 4 underfits: its force error on its
# own thermal training frames was 0.23-0.28 eV/A, against 0.17-0.21 for [16,32] x 8 (fourth build,
# 40,000 steps each).
RCUT_ANGSTROM = 5.0
RCUT_SMOOTH_ANGSTROM = 0.5
# neighbours within 5 A, by type Ag S N C H O: methanol at the study boxes' density gives ~10 molecules
# (40 H); aggregates of 30 dimers can put a dozen Ag around an Ag atom
SEL = [16, 16, 16, 24, 64, 24]
EMBEDDING = [16, 32]
AXIS = 8
FITTING = [64, 64, 64]
# `dp compress` tabulates the embedding nets: the 732-atom box ran 18.1 instead of 10.1 steps/s (build 5
# model, 1 thread). The table stride trades file size for nothing measurable: 0.1 gave 5.5 MB, 0.2 gave
# 3.5 MB with forces within 3e-6 eV/A of the uncompressed model.
COMPRESS_STRIDE = 0.2


def training_config(train_systems: list[str], validation_systems: list[str], *, steps: int, seed: int) -> dict:
    """se_e2_a descriptor, energy + force loss (no virials: the labels are non-periodic clusters)."""
    training = {"training_data": {"systems": train_systems, "batch_size": "auto", "auto_prob": "prob_sys_size"},
                "numb_steps": steps, "seed": seed, "disp_file": "lcurve.out", "disp_freq": max(1, steps // 50),
                "save_freq": max(1, steps // 5), "save_ckpt": "model.ckpt", "disp_training": True,
                "time_training": True}
    if validation_systems:
        training["validation_data"] = {"systems": validation_systems, "batch_size": "auto", "numb_btch": 1}
    return {
        "model": {
            "type_map": list(TYPE_MAP),
            "descriptor": {"type": "se_e2_a", "rcut": RCUT_ANGSTROM, "rcut_smth": RCUT_SMOOTH_ANGSTROM, "sel": SEL,
                           "neuron": EMBEDDING, "axis_neuron": AXIS, "type_one_side": True, "resnet_dt": False,
                           "seed": seed},
            "fitting_net": {"neuron": FITTING, "resnet_dt": True, "seed": seed},
        },
        "learning_rate": {"type": "exp", "start_lr": 1e-3, "stop_lr": 3.5e-8 if steps >= 50000 else 1e-5,
                          "decay_steps": max(1, min(5000, steps // 40))},
        "loss": {"type": "ener", "start_pref_e": 0.02, "limit_pref_e": 1.0, "start_pref_f": 1000.0,
                 "limit_pref_f": 1.0, "start_pref_v": 0.0, "limit_pref_v": 0.0},
        "training": training,
    }


def train_model(workdir: Path, train_systems: list[Path], validation_systems: list[Path], *, steps: int,
                seed: int) -> Path:
    """Train and freeze one model in `workdir` (skipped if its model.pb exists); returns model.pb."""
    model = workdir / "model.pb"
    if model.is_file():
        return model
    config = training_config([str(p.resolve()) for p in train_systems],
                             [str(p.resolve()) for p in validation_systems], steps=steps, seed=seed)
    return train_and_freeze(workdir, config)


def compress_model(workdir: Path, frozen: Path, compressed: Path) -> Path:
    """`dp --tf compress` of `frozen` (trained in `workdir`, whose input.json names its data) into `compressed`."""
    if not compressed.is_file():
        run_dp([["compress", "-i", str(frozen.resolve()), "-o", str(compressed.resolve()), "-s", str(COMPRESS_STRIDE),
                 "-t", "input.json"]], workdir, log_name="compress.log")
    return compressed


def dp_test(model: Path, systems: dict[str, Path], workdir: Path) -> None:
    """`dp --tf test` of `model` on each named system; writes workdir/<name>.e.out and .f.out."""
    workdir.mkdir(parents=True, exist_ok=True)
    commands = [["test", "-m", str(model.resolve()), "-s", str(path.resolve()), "-n", "1000000", "-d", name]
                for name, path in systems.items()]
    run_dp(commands, workdir, log_name="dp_test.log")
