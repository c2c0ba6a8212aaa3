"""Fill a periodic box with solvent around fixed solutes, using packmol (PyPI `packmol`)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from nucleate.errors import NucleateError

from .library import Molecule

PACKMOL_TIMEOUT_S = 600


def packmol_binary() -> Path:
    try:
        from packmol.cli import get_binary_path
        return Path(get_binary_path())
    except (ImportError, FileNotFoundError) as exc:
        raise NucleateError(f"packmol is not available ({exc}); install it with `pip install packmol==21.2.3`") from None


def _write_xyz(path: Path, elements, positions) -> None:
    lines = [str(len(elements)), "nucleate"] + [f"{e} {x:.6f} {y:.6f} {z:.6f}" for e, (x, y, z) in zip(elements, positions)]
    path.write_text("\n".join(lines) + "\n")


def pack_solvent(solute_elements: list[str], solute_positions: np.ndarray, solvent: Molecule, count: int,
                 box: np.ndarray, tolerance: float, seed: int) -> np.ndarray:
    """Positions (A) of `count` solvent molecules (atoms in library order, molecule after molecule)
    packed with packmol in the periodic box, at least `tolerance` A from the fixed solutes and each other."""
    if count == 0:
        return np.empty((0, 3))
    with tempfile.TemporaryDirectory(prefix="nucleate-packmol-") as tmp:
        tmp = Path(tmp)
        _write_xyz(tmp / "solvent.xyz", solvent.elements, solvent.positions)
        blocks = []
        if len(solute_elements):
            _write_xyz(tmp / "solutes.xyz", solute_elements, np.mod(solute_positions, box))
            blocks.append("structure solutes.xyz\n  number 1\n  fixed 0. 0. 0. 0. 0. 0.\nend structure")
        blocks.append(f"structure solvent.xyz\n  number {count}\nend structure")
        # packmol seeds must be positive; seed 0 would mean "random from the clock"
        script = (f"tolerance {tolerance:.4f}\nfiletype xyz\noutput packed.xyz\nseed {abs(int(seed)) + 1}\n"
                  f"pbc 0. 0. 0. {box[0]:.6f} {box[1]:.6f} {box[2]:.6f}\n" + "\n".join(blocks) + "\n")
        (tmp / "input.inp").write_text(script)
        try:
            with open(tmp / "input.inp") as stdin:
                run = subprocess.run([str(packmol_binary())], stdin=stdin, cwd=tmp, capture_output=True, text=True,
                                     timeout=PACKMOL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise NucleateError(f"packmol did not finish within {PACKMOL_TIMEOUT_S} s packing {count} {solvent.name}; "
                                "lower the solvent count or density") from None
        output = tmp / "packed.xyz"
        failed = run.returncode != 0 or not output.exists() or "ENDED WITHOUT PERFECT PACKING" in run.stdout
        if failed:
            message = _packmol_message(run.stdout + run.stderr)
            raise NucleateError(f"packmol could not pack {count} {solvent.name} (tolerance {tolerance:.2f} A) "
                                f"around the solutes: {message}. Lower the solvent count or density, or enlarge the box")
        rows = output.read_text().splitlines()[2:]
        xyz = np.array([[float(v) for v in row.split()[1:4]] for row in rows if row.strip()])
    return xyz[len(solute_elements):]


def _packmol_message(text: str) -> str:
    keep = [line.strip() for line in text.splitlines()
            if any(word in line.upper() for word in ("ERROR", "WITHOUT PERFECT", "COULD NOT", "FAIL", "STOP"))]
    return " / ".join(keep[:4]) or (text.strip().splitlines() or ["no output"])[-1]
