"""MODEL_CARD.md of the Ag6 demonstration model, written from the metrics of the test stage."""

from __future__ import annotations

from pathlib import Path

from nucleate.models.model_card import ENERGY_UNIT, FORCE_UNIT, card_header, markdown_table, write_card
from nucleate.models.model_card import fmt as _fmt

STUDY_KDE = {"Ag-Ag": 2.97, "Ag-S": 2.54, "Ag-N": 2.28}


def _rounds(m: dict) -> str:
    counts = m.get("frames_by_round") or []
    text = ", ".join(f"round {r}: {n}" for r, n in enumerate(counts))
    if len(counts) > 1 and not any(counts[1:]):
        text += " (no explored frame was relabelled: the shipped model rests on the round-0 frames)"
    return text or "n/a"


DERIVED = {"squeezed": "{base}, molecules pulled together (close contacts)",
           "distorted": "{base}, polar protons shifted towards a neighbour's O/N/S and H-H contacts (1.05-1.75 A)",
           "thermal": "{base}, frames of GFN2-xTB Langevin MD",
           "solvent": "17-methanol spheres around the committee's largest disagreement in the {base} box"}


def describe(name: str, kinds: dict[str, str]) -> str:
    """A training file's kind description; files derived from a kind (name_squeezed ...) say how."""
    if name in kinds:
        return kinds[name]
    base, _, suffix = name.rpartition("_")
    if suffix in DERIVED and base:
        return DERIVED[suffix].format(base=base)
    return ""


def stability_verdict(stability: dict) -> str | None:
    """None when every box ran its full length with intact methanol; otherwise what went wrong, per box."""
    problems = []
    for box, s in stability.items():
        ps = s["steps"] * s["timestep_fs"] / 1000
        if s.get("stopped_at_step") is not None:
            problems.append(f"{box} broke methanol at {s['stopped_at_step'] * s['timestep_fs'] / 1000:g} ps of {ps:g}")
        elif not s.get("completed"):
            problems.append(f"{box} stopped before {ps:g} ps")
        elif s.get("broken_methanol_bonds") or s.get("hydroxyl_H_nearest_foreign_O"):
            problems.append(f"{box} damaged methanol within {ps:g} ps")
    return "; ".join(problems) or None


def render_model_card(m: dict) -> str:
    r = m["recipe"]
    fit = m["training"]
    desc, net = fit["model"]["descriptor"], fit["model"]["fitting_net"]
    table = markdown_table(
        ["kind", "what", "atoms", "train frames", "held-out", f"force RMSE ({FORCE_UNIT})",
         f"reference force RMS ({FORCE_UNIT})", f"energy RMSE, offset removed ({ENERGY_UNIT})"],
        [[name, describe(name, m["kinds"]), c.get("atoms", ""), c.get("train_frames", 0), c.get("test_frames", 0),
          _fmt(m["held_out"].get(name, {}).get("force_rmse_mev_per_angstrom")),
          _fmt(m["held_out"].get(name, {}).get("reference_force_rms_mev_per_angstrom")),
          _fmt(m["held_out"].get(name, {}).get("energy_rmse_offset_removed_mev_per_atom"), ".1f")]
         for name, c in m["composition"].items()])
    cp2k = m.get("cp2k")
    if cp2k:
        cp2k_text = (f"{cp2k['frames']} frames of AgL + 2 methanol ({cp2k['atoms']} atoms), CP2K {m['versions']['cp2k']} "
                     f"PBE-D3 / GTH-PBE / DZVP-MOLOPT-SR-GTH, 400 Ry, non-periodic (wavelet Poisson), "
                     f"{cp2k['seconds_per_frame']:.0f} s per frame: force RMSE GFN2-xTB vs CP2K "
                     f"{cp2k['xtb_vs_cp2k_force_rmse_mev_per_angstrom']:.0f} meV/A, this model vs CP2K "
                     f"{cp2k['model_vs_cp2k_force_rmse_mev_per_angstrom']:.0f} meV/A (CP2K force RMS "
                     f"{cp2k['cp2k_force_rms_mev_per_angstrom']:.0f} meV/A).")
    elif r.get("cp2k_frames"):
        cp2k_text = "No CP2K frames were labelled in this build (CP2K missing or every frame failed)."
    else:
        cp2k_text = ("No CP2K frames were labelled in this build (scale setting cp2k_frames = 0): on the 2-core build "
                     "machine no CP2K 2023.1 PBE-D3 frame of even 18 atoms (AgL + 2 methanol, non-periodic, wavelet "
                     "Poisson solver) finished within 10 minutes, and the Martyna-Tuckerman solver needed 15 GB. "
                     "Build with a larger cp2k_frames where CP2K is fast.")
    start = (f"CG-relaxed packed box ({r['minimize_iterations']} iterations at most)" if r.get("minimize_iterations")
             else "packed box, not relaxed")
    stab = []
    for box, s in m["stability"].items():
        line = (f"- `{box}` ({s['natoms']} atoms), NVT 300 K from the {start}, "
                f"{s['steps'] * s['timestep_fs'] / 1000:g} ps: "
                f"{'completed' if s.get('completed') else 'FAILED: ' + s.get('error', '')}, "
                f"{_fmt(s.get('steps_per_s'), '.1f')} steps/s (1 MPI rank, 1 thread), "
                f"{s['broken_methanol_bonds']} methanol bonds past C-O 1.8 / O-H 1.3 / C-H 1.5 A, "
                f"{s['hydroxyl_H_nearest_foreign_O']} hydroxyl-H-nearer-to-a-foreign-O events over {s['frames']} frames")
        if "octahedral_core_kept" in s:
            line += f"; Ag-Ag bonds < 3.5 A in the last frame: {s['final_ag_ag_bonds_below_3.5A']} (octahedron: 12)"
        kde = s.get("kde_maxima_angstrom")
        if kde:
            line += "; KDE maxima " + ", ".join(f"{k} {', '.join(f'{v:.2f}' for v in kde.get(k, []))} A (study {v0})"
                                                for k, v0 in STUDY_KDE.items())
        stab.append(line + ".")
    verdict = stability_verdict(m["stability"])
    title = "Ag/S/N/C/H/O demonstration DeePMD model (GFN2-xTB level of theory)"
    if verdict:
        title += f" -- NOT STABLE ({verdict}): workflow demonstration only"
    header = card_header(title, "A small DeePMD-kit model (TensorFlow backend) for the chemistry of the Ag6(SCHNH)6-in-methanol")
    return f"""{header}
study, trained on **GFN2-xTB** energies and forces, not on the study's PBE-D3 DFT. It lets every part of
nucleate run right after installation. It is a demonstration model: tight-binding reference, small data set,
non-periodic training frames. Bring your own model (`--model`, or `potential.deepmd` in a spec) for science.

Type map `Ag S N C H O`. Build: scale `{m['scale']}`, seed {m['seed']}:

    nucleate model build-ag6 -o WORKDIR --scale {m['scale']} --seed {m['seed']}

## Level of theory and data
- Reference: GFN2-xTB (tblite {m['versions']['tblite']}), neutral singlet, electronic temperature 300 K,
  no periodic boundaries. Frames whose SCF failed even with fallbacks were dropped (column "failed" in metrics.json).
- Frames: the solutes with their K nearest methanol carved from periodic boxes built by `nucleate.systems`
  (each molecule whole), liquid-methanol spheres, and distorted bare clusters; round 0 from packed boxes
  (rattled), then {r['rounds']} concurrent-learning round(s): {r['committee']}-model committee NVT MD at 300/450 K,
  frames with max force deviation 0.10-0.80 eV/A relabelled.
- Labelled training frames per round: {_rounds(m)}.
- Held-out frames come from an independent random stream of the round-0 recipe.

{table}

For scale: the study reports about 50 meV/A against its DFT.

## Training
`se_e2_a`, rcut {desc['rcut']} A (smooth from {desc['rcut_smth']} A), sel {desc['sel']}, embedding {desc['neuron']},
axis {desc['axis_neuron']}, fitting {net['neuron']}; {r['final_steps']} steps, learning rate
{fit['learning_rate']['start_lr']:g} -> {fit['learning_rate']['stop_lr']:g}; loss prefactors energy 0.02 -> 1, force 1000 -> 1,
no virial. Full input: `input.json`. Compressed with `dp compress` (tabulated embedding nets, table stride
{_fmt(m.get('compress_stride'), 'g')}; about 1.8 times faster MD; on the held-out frames its forces differ from the plain
frozen model's by at most {_fmt(m.get('compression_max_force_difference_ev_per_angstrom'), '.1e')} eV/A):
{m['model_bytes'] / 1e6:.2f} MB, {_fmt(m.get('uncompressed_model_bytes', 0) / 1e6, '.2f')} MB before compression.

## Comparison with the study's DFT
{cp2k_text}

## Stability and structure
{chr(10).join(stab)}

## Known limits
- GFN2-xTB is not PBE-D3: Ag-S/Ag-N bond lengths and binding energies differ from the study's DFT;
  free energies from this model are illustrations, not predictions.
- Trained on finite clusters (vacuum outside a methanol shell): bulk liquid is seen only through
  carved spheres, and molecules at a sphere's surface are under-coordinated.
- No virials: do not run NPT. Temperatures 300-450 K. Bond breaking was never sampled, and proton shifts
  (up to 1.7 A from the donor) and H-H contacts were labelled only to teach the model their energy wall, not
  proton transfer as a reaction; keep the study's LOWEST-coordination walls on C-H, C-O and O-H in biased runs.
"""


def write_model_card(metrics: dict, path: str | Path) -> Path:
    return write_card(render_model_card(metrics), path)
