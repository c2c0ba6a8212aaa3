"""REPORT.md of a reproduction: what ran (model, lengths, speed), the side-by-side table, figures,
and what longer runs or a DFT-level model would change. results.json holds the same numbers."""

from __future__ import annotations

import json
import time
from pathlib import Path

from nucleate.studies.ag6.plan import SIMULATIONS, TDAMP_FS, TEMPERATURE_K, TIMESTEP_FS
from nucleate.studies.ag6.published import Row

CAVEATS = """\
## What longer runs or a better model would change

- **Run length.** The study's lengths (25 ns, 4.5 ns, up to 10 ns, 350 ps) are `--scale full`
  (days on a GPU or a cluster node). At `quick` and `smoke` scale the WT-MetaD runs deposit a few
  hundred hills at most: the free-energy surfaces are not converged, the dimer state may not be
  visited at all, and Delta G against time has not levelled off. The nucleation of 30 dimers takes
  the study about 180 ps; a run of a few ps cannot show it.
- **Model.** The embedded default is nucleate's demonstration model, trained on GFN2-xTB labels of
  carved clusters (see its MODEL_CARD.md), not on the study's PBE-D3 AIMD data. GFN2-xTB binds the
  Ag-ligand network differently from PBE-D3, so the KDE maxima can shift by several hundredths of
  an angstrom and the monomer -> dimer free energy by several kcal/mol. With the authors' own
  `model.pb` (`--model model.pb`), the structure numbers should agree within the KDE bandwidth;
  the free energies then depend on the run length alone.
"""


def _table(rows: list[Row]) -> str:
    lines = ["| quantity | this run | study | verdict | note |", "|---|---|---|---|---|"]
    lines += [f"| {r.quantity} | {r.ours} | {r.study} | **{r.verdict}** | {r.note} |" for r in rows]
    return "\n".join(lines)


def write_report(outdir: Path, state: dict, statuses: dict[str, dict], results: dict[str, dict],
                 rows: list[Row], model_card: str | None, wall_s: float) -> Path:
    reportdir = outdir / "report"
    lines = ["# Ag6(SCHNH)6 nucleation in methanol: reproduction report", "",
             f"Tiwari & Karmakar, reproduced by `nucleate reproduce ag6 --scale {state['scale']}` "
             f"({time.strftime('%Y-%m-%d')}).", "",
             "## What ran", "",
             f"- Model: `{Path(state['model']).name}` (SHA-256 {state['model_sha256'][:16]}...)"
             + (f"; {model_card}" if model_card else ""),
             f"- MD: units metal, {TIMESTEP_FS} fs, Nose-Hoover NVT at {TEMPERATURE_K:g} K, damping {TDAMP_FS:g} fs "
             "(the authors' in.lmp); PLUMED inputs generated from the presets ag6/monomer_dimer and "
             "ag6/dimer_octahedral (the study's CVs, walls, restraint and WT-MetaD settings).",
             f"- Wall time of this invocation (simulations it ran + analysis): {wall_s / 60:.1f} min; the simulations' "
             f"own wall times (below) sum to {sum(st.get('wall_s', 0) for st in statuses.values()) / 60:.1f} min "
             "(with `--jobs N` they overlap)", "",
             "| simulation | length here | in the paper | state | steps/s | wall |", "|---|---|---|---|---|---|"]
    starts = [f"- **{name}**: {st['prepared']}" for name, st in statuses.items() if st.get("prepared")]
    for sim in SIMULATIONS:
        st = statuses.get(sim.name)
        if st is None:
            continue
        done_ps = st.get("end_step", 0) * TIMESTEP_FS * 1e-3
        lines.append(f"| {sim.name}: {sim.title} | {done_ps:g} ps ({st.get('end_step', 0)} steps) | {sim.paper_length} | "
                     f"{st.get('state')} | {st.get('steps_per_s', 'n/a')} | {st.get('wall_s', 0) / 60:.1f} min |")
    if starts:
        lines += ["", "How each start was prepared (box from `nucleate build` with the preset's walls, then "
                  "`nucleate.engine.prepare`; the production starts from its last frame with fresh 300 K velocities):",
                  ""] + starts
    failed = {n: st for n, st in statuses.items() if st.get("state") == "failed"}
    for name, st in failed.items():
        lines += ["", f"**{name} failed:** {st.get('error')}"]
    lines += ["", "## Side by side", "", _table(rows), "",
              "Verdicts: **agrees** within the tolerance in the note, **close** within twice it, **differs** "
              "beyond, **not reached** when the run did not get far enough to produce the quantity.", "",
              "## Figures", ""]
    for name in (s.name for s in SIMULATIONS):
        result = results.get(name)
        if not result:
            continue
        lines.append(f"### {name}")
        for fig in result.get("figures", []):
            rel = Path(fig).relative_to(reportdir)
            lines.append(f"![{rel.stem}]({rel})")
        for note in result.get("notes", []):
            lines.append(f"- {note}")
        lines.append("")
    lines += [CAVEATS]
    reportdir.mkdir(parents=True, exist_ok=True)
    path = reportdir / "REPORT.md"
    path.write_text("\n".join(lines) + "\n")
    payload = {"state": state, "statuses": statuses,
               "results": {k: {"numbers": v.get("numbers"), "figures": [str(Path(f).relative_to(reportdir))
                                                                        for f in v.get("figures", [])],
                               "notes": v.get("notes", [])} for k, v in results.items()},
               "table": [vars(r) for r in rows], "wall_s": wall_s}
    (reportdir / "results.json").write_text(json.dumps(payload, indent=1, default=str) + "\n")
    return path
