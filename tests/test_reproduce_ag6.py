"""`nucleate reproduce ag6 --scale smoke` end to end: every figure and the side-by-side table, finite
numbers, finished simulations reused and an interrupted one continued on a second call."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from nucleate.engine.render import render_run
from nucleate.engine.runner import execute
from nucleate.engine.spec import RunSpec
from nucleate.models import ag6_model_path
from nucleate.studies.ag6 import execute as repro_execute
from nucleate.studies.ag6.plan import SIMULATIONS, run_spec, simulation
from nucleate.studies.ag6.published import STUDY_KDE_MAXIMA
from nucleate.studies.ag6.reproduce import reproduce
from nucleate.systems import read_data

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reproduction(tmp_path_factory):
    """First call: only the Ag6L6 run. Then monomer_dimer is started by hand and stopped half-way (as
    a Ctrl-C would leave it). Second call: everything, which must reuse and continue those two."""
    out = tmp_path_factory.mktemp("repro") / "ag6"
    model = ag6_model_path()
    reproduce(out, scale="smoke", only=["ag6l6"], model=model)
    first_traj = out / "runs" / "ag6l6" / "traj.lammpstrj"
    stamp = first_traj.stat().st_mtime_ns, first_traj.stat().st_size

    sim = simulation("monomer_dimer")
    data, groups = repro_execute.box(sim, out)
    rundir = out / "runs" / sim.name
    render_run(RunSpec.from_dict(run_spec(sim, "smoke", str(data), str(groups), str(model))), rundir)
    execute(rundir, steps=sim.steps["smoke"] // 2)

    report = reproduce(out, scale="smoke", model=model)
    return out, report, stamp


def test_every_simulation_finished(reproduction):
    out, _, _ = reproduction
    results = json.loads((out / "report" / "results.json").read_text())
    for sim in SIMULATIONS:
        status = results["statuses"][sim.name]
        assert status["state"] == "done", status
        assert status["end_step"] == sim.steps["smoke"]


def test_planned_atom_counts_match_the_built_boxes(reproduction):
    out, _, _ = reproduction
    for sim in SIMULATIONS:
        assert read_data(out / "boxes" / sim.name / "system.data").natoms == sim.atoms, sim.name


def test_finished_simulation_reused_and_interrupted_one_continued(reproduction):
    out, _, stamp = reproduction
    traj = out / "runs" / "ag6l6" / "traj.lammpstrj"
    assert (traj.stat().st_mtime_ns, traj.stat().st_size) == stamp  # not run again
    manifest = json.loads((out / "runs" / "monomer_dimer" / "manifest.json").read_text())
    segments = [(s["kind"], s["start_step"], s["end_step"]) for s in manifest["segments"]]
    half = simulation("monomer_dimer").steps["smoke"] // 2
    assert segments == [("run", 0, half), ("continue", half, 2 * half)]
    # COLVAR has one row per print stride, none duplicated at the restart step
    colvar = [l for l in (out / "runs" / "monomer_dimer" / "COLVAR").read_text().splitlines() if not l.startswith("#")]
    times = [float(l.split()[0]) for l in colvar]
    assert times == sorted(set(times)) and len(times) == 2 * half // simulation("monomer_dimer").dump["smoke"] + 1


def test_report_has_every_figure_and_row(reproduction):
    out, report, _ = reproduction
    text = report.read_text()
    results = json.loads((out / "report" / "results.json").read_text())
    for name in ("ag6l6", "monomer_dimer", "dimer_octahedral", "dimers30"):
        result = results["results"][name]
        assert "error" not in result and not any("failed" in n for n in result["notes"]), result
        for figure in result["figures"]:
            assert (out / "report" / figure).stat().st_size > 5000, figure
            assert f"]({figure})" in text
    expected = {"ag6l6": ["kde_ag6l6.png"], "monomer_dimer": ["fes_s1_s2.png", "fes_s1_blocks.png", "delta_g_vs_time.png"],
                "dimer_octahedral": ["fes_s3_s4.png"], "dimers30": ["nuclei_dimers30.png", "coordination_dimers30.png"]}
    for name, files in expected.items():
        assert [f.split("/")[-1] for f in results["results"][name]["figures"]] == files
        assert results["results"][name]["numbers"]["methanol"]["frames"] > 1  # every run checked for damage
    quantities = [row["quantity"] for row in results["table"]]
    assert len([q for q in quantities if q.startswith("KDE maximum")]) == sum(len(v) for v in STUDY_KDE_MAXIMA.values())
    for needle in ("Delta G(A dimer - D monomers)", "barrier D -> A", "Ag1-Ag2 distance in the dimer",
                   "L-shaped path", "first complete Ag6 octahedron", "complete octahedra at the end",
                   "methanol intact in every run"):
        assert any(needle in q for q in quantities), needle
    for row in results["table"]:
        assert row["verdict"] in ("agrees", "close", "differs", "not reached")
        assert f"| {row['quantity']} |" in text


def _numbers(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _numbers(v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


def test_every_number_is_finite(reproduction):
    out, _, _ = reproduction
    results = json.loads((out / "report" / "results.json").read_text())
    numbers = list(_numbers({k: v["numbers"] for k, v in results["results"].items()}))
    assert len(numbers) > 30
    assert all(math.isfinite(v) for v in numbers)
    kde = results["results"]["ag6l6"]["numbers"]["kde_maxima"]
    assert 2.0 < min(kde["Ag-Ag"], key=lambda m: abs(m - 2.97)) < 4.0  # a bonded Ag6 core, not noise


def test_second_call_with_other_scale_is_refused(reproduction, tmp_path):
    out, _, _ = reproduction
    done = subprocess.run([sys.executable, "-m", "nucleate.cli", "reproduce", "ag6", "--scale", "quick", "-o", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "scale smoke" in done.stderr and "another -o" in done.stderr
