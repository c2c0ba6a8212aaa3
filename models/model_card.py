"""MODEL_CARD.md files: the parts every nucleate model card shares, and the toy demo model's card.

Shared by this card and the Ag6 study's (studies/ag6/training/card.py): the title and "What it
is" header, numbers with their units ("n/a" where a metric is missing), markdown tables and
writing the file.  Each card is rendered from the metrics measured when its model was built.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

FORCE_UNIT = "meV/A"
ENERGY_UNIT = "meV/atom"


def fmt(value, spec: str = ".0f", unit: str = "") -> str:
    """`value` formatted with `spec`, followed by its unit if given; "n/a" when the metric is missing."""
    if value is None:
        return "n/a"
    return f"{format(value, spec)} {unit}" if unit else format(value, spec)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    """A markdown table (no trailing newline); cells are written with str()."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def card_header(title: str, what_it_is: str) -> str:
    """The card's title line and its opening "What it is" paragraph."""
    return f"# {title}\n\n**What it is.** {what_it_is}"


def write_card(text: str, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(text)
    return path


def render_model_card(metrics: dict) -> str:
    """The toy Morse-silver demo model's card."""
    recipe = metrics["recipe"]
    size = recipe["size"]
    held = metrics["held_out"]
    nve = metrics["nve_600K_1fs_20ps"]
    nve_ref = metrics["nve_600K_1fs_20ps_morse_reference"]
    rg = metrics["training_radius_of_gyration_angstrom"]
    temperatures = ", ".join(f"{t:g}" for t in recipe["temperatures_k"])
    accuracy = markdown_table(
        ["quantity", "RMSE", "scale of the quantity"],
        [["energy", fmt(held['energy_rmse_mev_per_atom'], '.2f', ENERGY_UNIT),
          f"reference energy spread (std) {fmt(held['reference_energy_spread_mev_per_atom'], '.0f', ENERGY_UNIT)}"],
         ["force component", fmt(held['force_rmse_mev_per_angstrom'], '.1f', FORCE_UNIT),
          f"reference force RMS {fmt(held['reference_force_rms_mev_per_angstrom'], '.0f', FORCE_UNIT)}"]])
    header = card_header("Toy Morse-silver DeePMD model (demonstration only)",
                         "A small DeePMD-kit model (TensorFlow backend, `se_e2_a` descriptor) of a Morse")
    return f"""{header}
pair potential for silver (Girifalco & Weizer, Phys. Rev. 114, 687 (1959): D0 = 0.3323 eV,
alpha = 1.3690 1/A, r0 = 3.115 A; LAMMPS `morse/smooth/linear`, cutoff 6 A). It exists so that
`nucleate demo` and the tests can run a real `pair_style deepmd` simulation without the study's
GFN2-xTB-trained Ag/S/N/C/H/O model. **It is not chemistry**: a Morse pair potential is a crude
model of silver, and the network only reproduces that crude model.

**Type map** `Ag S N C H O` (the study's), so it plugs into the same specs; only Ag-Ag is trained.
S, N, C, H and O atoms have untrained, meaningless energies: never put them in a system run with it.

## How it was made

    nucleate model build-toy --demo -o models/demo --seed {recipe['seed']}
    # same as: python -m nucleate.models.toy --demo --seed {recipe['seed']}

Deterministic for a given seed (data sampling and DeePMD training are seeded). Built in
{metrics['build_seconds'] / 60:.1f} min on 2 shared CPU cores (data + training + freezing).

- **Data** ({metrics['training_frames']} frames of Ag13 in a {recipe['box_angstrom']:g} A periodic vacuum box, energies and
  forces from the Morse reference evaluated by LAMMPS in-process): Langevin MD snapshots every
  0.2 ps at {temperatures} K ({recipe['md_frames_per_temperature']} per temperature; 1200 K is molten) and
  {recipe['distorted_frames']} distorted shapes (compressed/swollen, elongated by up to 1.7x, one to three
  atoms pulled up to 3 A out, random displacements), no pair closer than 2.3 A.
- **Network**: `se_e2_a`, rcut 6 A, rcut_smth 2 A, sel 24 Ag, embedding {size['embedding_neurons']},
  axis {size['axis_neurons']}, fitting {size['fitting_neurons']}; {recipe['steps']} steps, learning rate 1e-2 -> 5e-5,
  loss prefactors energy 0.02 -> 2, force 1000 -> 1. The full DeePMD input is `input.json`.
- **File**: `model.pb`, {metrics['model_bytes'] / 1e6:.2f} MB.

## Accuracy (held-out frames from an independent random stream, same recipe, {held['nframes']} frames)

{accuracy}

## Dynamics and speed (LAMMPS `pair_style deepmd`, demo system, 1 MPI rank, 1 thread)

- NVE, 20 ps at 1 fs, from the relaxed icosahedron with 600 K velocities (it equilibrates near
  {nve['mean_temperature_k']:.0f} K): total-energy drift {nve['drift_mev_per_atom_per_ps']:+.1e} meV/atom/ps, fluctuation
  {nve['fluctuation_mev_per_atom']:.1e} meV/atom. The exact Morse potential, same run: drift
  {nve_ref['drift_mev_per_atom_per_ps']:+.1e} meV/atom/ps, fluctuation {nve_ref['fluctuation_mev_per_atom']:.1e} meV/atom.
- Speed: {metrics['md_steps_per_second_1_thread']:.0f} MD steps/s (Langevin + NVE, 2 fs) on a shared 2-core machine.

## Limits

- Silver clusters of a few to ~20 atoms (sel 24 neighbours within 6 A); trained on 13 atoms only.
- Temperatures up to ~1200 K; shapes from compact icosahedron to elongated / partly evaporated
  (radius of gyration {rg[0]:.2f}-{rg[1]:.2f} A in the training data; the relaxed icosahedron has 2.87 A);
  pairs closer than 2.3 A were never seen (the repulsive wall beyond that is extrapolated).
- No virials were trained: do not run NPT with it.
- For demonstrations and tests of the pipeline only; no physical conclusion should be drawn from it.
"""


def write_model_card(metrics: dict, path: str | Path) -> Path:
    return write_card(render_model_card(metrics), path)
