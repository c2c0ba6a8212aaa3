"""DeePMD models shipped with nucleate: the toy Morse-silver demonstration model and its system, and
the Ag/S/N/C/H/O demonstration model of the Ag6 study. The engine never uses them by itself: the
demo, the doctor and `nucleate reproduce ag6` name them, and a user's spec may (`potential: {deepmd: ...}`).

Import-light on purpose: nothing here loads LAMMPS, TensorFlow or DeePMD-kit until asked.
"""

from __future__ import annotations

from pathlib import Path

from nucleate.errors import NucleateError

DEMO_DIR = Path(__file__).resolve().parent / "demo"
_REBUILD_HINT = "rebuild it with `nucleate model build-toy --demo -o <folder>` (or `python -m nucleate.models.toy --demo`)"


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise NucleateError(f"the demo model file {path} is missing from the installation; {_REBUILD_HINT}")
    return path


def demo_model_path() -> Path:
    """The committed toy DeePMD model (TensorFlow .pb, type map Ag S N C H O; only Ag-Ag is trained)."""
    return _existing(DEMO_DIR / "model.pb")


AG6_DIR = Path(__file__).resolve().parent / "ag6"


def ag6_model_path() -> Path:
    """The Ag/S/N/C/H/O demonstration model (GFN2-xTB labels; see ag6/MODEL_CARD.md): what the demo and
    `nucleate reproduce ag6` run unless given another model."""
    path = AG6_DIR / "model.pb"
    if not path.is_file():
        raise NucleateError(f"the Ag6 demonstration model {path} is missing from the installation; rebuild it with "
                            "`nucleate model build-ag6 -o WORKDIR` (hours on 2 cores) or give your own with --model")
    return path


def demo_system_paths() -> tuple[Path, Path]:
    """(LAMMPS data file, groups file) of the demo system: Ag13 in a 30 A vacuum box, 6 atom types."""
    return _existing(DEMO_DIR / "system.data"), _existing(DEMO_DIR / "groups.json")


def train_toy_model(workdir: str | Path, *, steps: int = 300, nframes: int = 200, seed: int = 0) -> Path:
    """Train a tiny Morse-silver DeePMD model in `workdir` (~30 s on 2 cores); returns the frozen model.pb.

    Needs no network: the training data are generated and labelled in-process by LAMMPS.
    """
    from nucleate.models.toy import train_toy_model as _train

    return _train(workdir, steps=steps, nframes=nframes, seed=seed)


__all__ = ["AG6_DIR", "DEMO_DIR", "ag6_model_path", "demo_model_path", "demo_system_paths", "train_toy_model"]
