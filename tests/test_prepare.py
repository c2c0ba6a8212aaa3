"""Starts prepared the way the model was validated (issue 18): relaxed, then brought to temperature.

With the embedded Ag6 model, for each biased study preset: the box built inside its walls is
prepared (CG minimisation with the solutes held, then Langevin at 300 K with the preset's walls), and
the production run from it (the study's Nose-Hoover at 300 K, 5 fs damping) stays within 30 K of the
thermostat on average over its first 0.1 ps, starting inside its walls (< 1 kT, by PLUMED).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import toy_spec, write_data
from nucleate.engine.prepare import describe, prepare
from nucleate.engine.render import render_run
from nucleate.engine.runner import execute
from nucleate.engine.spec import RunSpec
from nucleate.models import ag6_model_path
from nucleate.systems import Groups, build, read_data

pytestmark = pytest.mark.slow


def study_spec(data, groups, preset: str, steps: int) -> RunSpec:
    return RunSpec.from_dict({
        "name": "prepared",
        "system": {"data": str(data), "groups": str(groups), "type_map": ["Ag", "S", "N", "C", "H", "O"]},
        "potential": {"deepmd": str(ag6_model_path())},
        "md": {"temperature_K": 300.0, "timestep_fs": 0.5, "steps": steps, "thermostat": "nose-hoover",
               "tdamp_fs": 5.0, "seed": 62},
        "output": {"thermo": 2, "dump": 100, "checkpoint": 100},
        "plumed": {"preset": preset},
    })


@pytest.mark.parametrize("name", ["monomer_dimer", "dimer_octahedral"])
def test_prepared_start_is_at_temperature_and_inside_the_walls(tmp_path, name):
    preset = f"ag6/{name}"
    box = build(preset, tmp_path / "box", seed=1)
    spec = study_spec(box.data_path, box.groups_path, preset, steps=200)  # 0.1 ps
    start = prepare(spec, tmp_path / "prepared", equilibrate_ps=0.05, minimize_iterations=100)
    record = json.loads((tmp_path / "prepared" / "prepare.json").read_text())
    assert record["minimize_held"] == "solute" and record["steps"] == 100
    assert "CG-minimised around the solute held in place" in describe(record)

    # the held solutes did not move in the minimisation (the first frame is taken after it)
    built = read_data(box.data_path)
    first = _first_frame(tmp_path / "prepared" / "run" / "traj.lammpstrj", built.natoms)
    solute = Groups.read(box.groups_path).groups["solute"] - 1
    solvent = np.setdiff1d(np.arange(built.natoms), solute)
    moved = _displacement(first, built.positions, built.lengths)
    assert moved[solute].max() < 2e-3          # dump precision
    assert moved[solvent].max() > 0.05         # the solvent relaxed

    spec.system.data, spec.system.groups = start.data_path, start.groups_path
    run = render_run(spec, tmp_path / "run")
    manifest = json.loads((run.path / "manifest.json").read_text())
    assert manifest["start_bias"]["total_kT"] < 1.0
    assert execute(run.path).status == "completed"
    thermo = np.loadtxt(run.path / "thermo.csv", comments="#", ndmin=2)
    assert thermo[-1, 0] == 200
    mean_t = thermo[:, 1].mean()
    assert abs(mean_t - 300.0) < 30.0, f"{preset}: mean T {mean_t:.0f} K over the first 0.1 ps"


def test_preparation_is_reused_when_nothing_changed(tmp_path):
    """Same start, same settings: the folder's preparation is returned without running again."""
    data = write_data(tmp_path / "ar.data", 4.0 * np.indices((2, 2, 2)).reshape(3, -1).T + 2.0, [1] * 8)
    spec = RunSpec.from_dict(toy_spec(tmp_path, data, plumed=None, pair_style="lj/cut 8.0",
                                      pair_coeff=("1 1 0.0103 3.405",), thermostat="nose-hoover", temperature=120,
                                      timestep_fs=2.0))
    first = prepare(spec, tmp_path / "p", equilibrate_ps=0.02, minimize_iterations=20)
    stamp = (tmp_path / "p" / "prepare.json").stat().st_mtime_ns
    again = prepare(spec, tmp_path / "p", equilibrate_ps=0.02, minimize_iterations=20)
    assert again.record == first.record and (tmp_path / "p" / "prepare.json").stat().st_mtime_ns == stamp
    assert read_data(first.data_path).natoms == 8
    assert first.record["minimize_held"] is None  # the toy's groups have no solute group


def test_minimize_hold_writes_the_group_as_id_ranges(tmp_path):
    data = write_data(tmp_path / "ar.data", 3.0 * np.indices((2, 5, 1)).reshape(3, -1).T + 1.0, [1] * 10)
    groups = Groups(natoms=10, groups={"all": list(range(1, 11)), "picked": [1, 2, 3, 7, 9, 10]}, type_map=["Ar"])
    groups.write(tmp_path / "groups.json")
    raw = toy_spec(tmp_path, data, plumed=None)
    raw["system"]["groups"] = str(tmp_path / "groups.json")
    raw["md"].update(minimize=True, minimize_hold="picked")
    run = render_run(RunSpec.from_dict(raw), tmp_path / "run")
    text = (run.path / "in.lammps").read_text()
    assert "group           held id 1:3 7 9:10" in text
    assert text.index("fix             hold_in_place held setforce 0.0 0.0 0.0") < text.index("minimize ")
    assert text.index("unfix           hold_in_place") > text.index("minimize ")
    raw["md"]["minimize_hold"] = "missing"
    with pytest.raises(Exception, match="md.minimize_hold: group 'missing'"):
        render_run(RunSpec.from_dict(raw), tmp_path / "run2")


def _first_frame(path, natoms):
    lines = path.read_text().splitlines()
    header = lines.index(next(line for line in lines if line.startswith("ITEM: ATOMS")))
    table = np.array([row.split() for row in lines[header + 1:header + 1 + natoms]], dtype=float)
    table = table[np.argsort(table[:, 0])]
    return table[:, 2:5]


def _displacement(a, b, box):
    delta = a - b
    delta -= box * np.round(delta / box)
    return np.sqrt((delta ** 2).sum(axis=1))
