"""What PLUMED costs: the coupling's timing counters, and `nucleate profile RUNDIR` (PLUMED's own
per-action timers on the run's trajectory, through plumed driver)."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from nucleate.engine.profile import _timed_input, profile_run
from nucleate.engine.render import render_run
from nucleate.engine.runner import execute
from nucleate.engine.spec import RunSpec
from nucleate.errors import NucleateError
from nucleate.plumed_cvs import render_plumed
from nucleate.systems import import_data

from conftest import write_data

TYPE_MAP = ["Ag", "S", "N", "C", "H", "O"]


def test_coupling_timing_counters_lie_between_zero_and_the_wall_time(tmp_path, monkeypatch):
    from nucleate.engine.plumed_coupling import PlumedCoupling
    from nucleate.runtime import lammps_class

    monkeypatch.chdir(tmp_path)  # PLUMED writes COLVAR beside the process
    data = write_data(tmp_path / "two.data", [[5.0, 5.0, 5.0], [8.0, 5.5, 5.0]], [1, 1])
    plumed = tmp_path / "plumed.dat"
    plumed.write_text("d: DISTANCE ATOMS=1,2\nr: RESTRAINT ARG=d AT=0.3 KAPPA=1000\nPRINT ARG=d STRIDE=10 FILE=COLVAR\n")
    lmp = lammps_class()(cmdargs=["-log", "none", "-screen", "none"])
    try:
        lmp.commands_string(f"""
            units metal
            atom_style atomic
            atom_modify map array
            read_data {data}
            mass 1 39.948
            pair_style zero 5.0
            pair_coeff * *
            fix nve all nve
            fix plumed all external pf/callback 1 1
            fix_modify plumed energy yes virial yes
        """)
        started = time.perf_counter()
        coupling = PlumedCoupling(lmp, plumed, tmp_path / "plumed.log", timestep_ps=0.001, natoms=2,
                                  masses_by_type=np.array([0.0, 39.948]))
        built = time.perf_counter() - started
        coupling.attach()
        started = time.perf_counter()
        lmp.command("run 50")
        wall = time.perf_counter() - started
        coupling.raise_pending()
        coupling.finalize()
    finally:
        lmp.close()
    assert coupling.calls == 51  # the set-up evaluation + 50 steps
    assert 0.0 < coupling.first_call_seconds <= coupling.plumed_seconds <= coupling.callback_seconds <= wall
    assert 0.0 < coupling.init_seconds <= built
    per_step = 1e3 * (coupling.plumed_seconds - coupling.first_call_seconds) / 50
    assert coupling.plumed_ms_per_step == pytest.approx(per_step)
    assert 0.0 < coupling.plumed_ms_per_step < 1e3 * wall / 50


METHANOL = np.array([[0.340877, -0.150743, 0.0], [0.713678, -1.175008, 0.0], [0.713678, 0.361390, 0.887039],
                     [0.713678, 0.361390, -0.887039], [-1.086123, -0.150743, 0.0], [-1.395789, 0.753715, 0.0]])


@pytest.fixture(scope="module")
def guarded_run(tmp_path_factory):
    """40 steps of two methanol (pair_style zero) under the bond guards, the study's coordinations as
    monitors printed every 10 steps; a frame every 10 steps."""
    folder = tmp_path_factory.mktemp("profiled")
    positions = np.vstack([METHANOL + 6.0, METHANOL + [13.0, 12.0, 11.0]])
    data_path = write_data(folder / "two.data", positions, [4, 5, 5, 5, 6, 5] * 2,
                           masses=(107.8682, 32.06, 14.007, 12.011, 1.008, 15.999))
    data, groups = import_data(data_path, TYPE_MAP)
    groups.write(folder / "groups.json")
    plumed = {"units": {"length": "A", "energy": "kcal/mol", "time": "fs"},
              "cvs": [{"name": "d_co", "type": "distance", "atoms": ["ids:1", "ids:5"]}],
              "guards": {"style": "bonds", "study_monitors": True}, "print_stride": 10}
    assert "bond_ch" in render_plumed(plumed, groups, data, temperature_K=300)
    spec = RunSpec.from_dict({
        "name": "profiled", "system": {"data": str(data_path), "groups": str(folder / "groups.json"),
                                       "type_map": TYPE_MAP},
        "potential": {"pair_style": "zero 6.0", "pair_coeff": ["* *"]},
        "md": {"temperature_K": 300.0, "timestep_fs": 0.5, "steps": 40, "thermostat": "langevin", "tdamp_fs": 20,
               "seed": 3},
        "output": {"thermo": 10, "dump": 10, "checkpoint": 40}, "plumed": plumed})
    run = render_run(spec, folder / "run")
    assert execute(run.path).status == "completed"
    return run.path


def test_profile_ranks_the_actions_of_the_run(guarded_run):
    before = {p.name: p.read_bytes() for p in guarded_run.iterdir() if p.is_file()}
    profile = profile_run(guarded_run, steps=40)
    costs = {cost.label: cost for cost in profile.actions}
    assert costs["bond_ch"].action == "COORDINATION" and costs["bond_ch"].computed == 40
    # shortcut sub-actions (guard_ch_mat, ...) are charged to their input line; a monitor only PRINT
    # needs is computed on print steps alone: 0, 10, 20, 30
    assert costs["guard_ch"].action == "COORDINATIONNUMBER" and costs["guard_ch"].computed == 4
    assert costs["guard_ch"].forward_s > 0 and costs["bond_ch"].total_s > 0
    assert profile.frames == 5 and profile.steps == 40 and profile.per_step_ms > 0
    assert "Calculating (forward loop)" in profile.phases_s and profile.md_ms_per_step > 0
    table = profile.table(top=3)
    assert "bond_ch (COORDINATION)" in table or "guard_ch (COORDINATIONNUMBER)" in table
    assert "more" in table  # more than three actions, cut at --top
    after = {p.name: p.read_bytes() for p in guarded_run.iterdir() if p.is_file()}
    assert after == before  # the run directory is only read


def test_profile_command_line(guarded_run, tmp_path):
    run = [sys.executable, "-m", "nucleate.cli", "profile"]
    shown = subprocess.run(run + [str(guarded_run), "--steps", "20", "--top", "5"],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "label (action)" in shown.stdout and "ms/step" in shown.stdout
    (tmp_path / "empty").mkdir()
    bad = subprocess.run(run + [str(tmp_path / "empty")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "no plumed.dat" in bad.stderr


def test_profile_errors_are_one_line(tmp_path):
    with pytest.raises(NucleateError, match="does not exist"):
        profile_run(tmp_path / "missing")
    with pytest.raises(NucleateError, match="must be positive"):
        profile_run(tmp_path, steps=0)


def test_profiled_input_is_fresh_and_single_walker():
    text = ("UNITS LENGTH=A\nRESTART\nd: DISTANCE ATOMS=1,2\n"
            "metad: METAD ARG=d PACE=10 HEIGHT=1 SIGMA=0.1 BIASFACTOR=5 TEMP=300 WALKERS_N=4 WALKERS_ID=1 "
            "WALKERS_DIR=../walkers WALKERS_RSTRIDE=100\n")
    timed = _timed_input(text)
    assert "RESTART" not in timed and "WALKERS" not in timed
    assert timed.rstrip().endswith("DEBUG DETAILED_TIMERS") and "TEMP=300" in timed


def test_plumed_share_is_recorded_in_the_manifest_and_printed(tmp_path):
    import json
    import subprocess
    import sys

    import yaml

    from test_engine_continue import _spec

    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(_spec(tmp_path, 200)))
    result = subprocess.run([sys.executable, "-m", "nucleate.cli", "run", str(spec_path), "-o", str(tmp_path / "run")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    segment = json.loads((tmp_path / "run" / "manifest.json").read_text())["segments"][-1]
    assert 0.0 < segment["plumed_share"] <= 1.0
    assert segment["plumed_ms_per_step"] > 0 and segment["plumed_calls"] == 201
    # the share is PLUMED's time per step over the run loop's time per step
    assert abs(segment["plumed_share"] - segment["plumed_ms_per_step"] * 1e-3 * segment["steps_per_s"]) < 1e-3
    assert "PLUMED" in result.stdout and "% of each step" in result.stdout
    assert "PLUMED" in result.stderr  # the progress line
