"""The whole engine with a real DeePMD model that the suite trains itself (tiny_model fixture)."""

from __future__ import annotations

import numpy as np
import pytest

from nucleate import units
from nucleate.engine.render import render_run
from nucleate.engine.runner import execute
from nucleate.engine.spec import RunSpec
from nucleate.errors import NucleateError

from conftest import read_table

TYPE_MAP = ["Ag", "S", "N", "C", "H", "O"]
KAPPA = 2000.0  # kJ/mol/nm^2 on the distance between atoms 1 and 2


def _spec(tmp_path, model, *, steps, timestep_fs, thermostat="nve", plumed=True, type_map=TYPE_MAP,
          thermo=1):
    from nucleate.models import demo_system_paths

    data, groups = demo_system_paths()
    spec = {
        "name": "deepmd-test",
        "system": {"data": str(data), "groups": str(groups), "type_map": type_map},
        "potential": {"deepmd": str(model)},
        "md": {"temperature_K": 300.0, "timestep_fs": timestep_fs, "steps": steps, "thermostat": thermostat,
               "seed": 777},
        "output": {"thermo": thermo, "dump": 100, "checkpoint": 10_000},
    }
    if plumed:
        plumed_file = tmp_path / f"restraint-{timestep_fs}.dat"
        plumed_file.write_text(f"d: DISTANCE ATOMS=1,2\nr: RESTRAINT ARG=d AT=0.30 KAPPA={KAPPA}\n"
                               "PRINT ARG=d,r.bias STRIDE=1 FILE=COLVAR FMT=%.12f\n")
        spec["plumed"] = {"file": str(plumed_file)}
    return RunSpec.from_dict(spec)


def _nve(tmp_path, model, timestep_fs, duration_fs=1000.0):
    steps = int(round(duration_fs / timestep_fs))
    run = render_run(_spec(tmp_path, model, steps=steps, timestep_fs=timestep_fs), tmp_path / f"nve-{timestep_fs}")
    execute(run.path)
    return run, read_table(run.path / "thermo.csv")


def test_nve_with_deepmd_and_restraint_conserves_total_energy(tmp_path, tiny_model):
    """Velocity Verlet conserves a shadow Hamiltonian: the total energy (model + bias + kinetic)
    fluctuates by O(dt^2) around a constant and does not drift.  Independent check of that
    scaling: halving dt must shrink the fluctuation about 4x; the drift over 1 ps must be far
    below the fluctuation scale and below 1e-4 eV/atom."""
    run1, t1 = _nve(tmp_path, tiny_model, 2.0)
    run2, t2 = _nve(tmp_path, tiny_model, 1.0)
    natoms = 13
    for thermo in (t1, t2):
        assert np.isfinite(thermo).all()
        assert thermo[:, 3].max() > 1e-4  # the restraint really acts (bias_eV column)
    # the bias column is the analytic restraint energy of the printed distance
    colvar = read_table(run1.path / "COLVAR")
    np.testing.assert_allclose(t1[:, 3], 0.5 * KAPPA * (colvar[:, 1] - 0.30) ** 2 / units.KJMOL_PER_EV,
                               rtol=1e-6, atol=1e-12)
    fluct = [np.std(t[:, 4]) for t in (t1, t2)]
    assert 2.5 < fluct[0] / fluct[1] < 6.0, fluct  # ~4 for an O(dt^2) integrator error
    for thermo, dt in ((t1, 2.0), (t2, 1.0)):
        time_ps = thermo[:, 0] * dt * 1e-3
        slope = np.polyfit(time_ps, thermo[:, 4], 1)[0]  # eV/ps
        assert abs(slope) * 1.0 / natoms < 1e-4, slope
        assert abs(thermo[-1, 4] - thermo[0, 4]) < 10 * fluct[0] + 1e-6


def test_biased_deepmd_run_through_the_engine_and_continue(tmp_path, tiny_model):
    plumed = tmp_path / "metad.dat"
    plumed.write_text("UNITS LENGTH=A\ncn: COORDINATION GROUPA=1-13 R_0=3.3 NN=6 MM=12\n"
                      "metad: METAD ARG=cn PACE=10 HEIGHT=1.0 SIGMA=0.5 BIASFACTOR=8 TEMP=500 FILE=HILLS\n"
                      "PRINT ARG=cn,metad.bias STRIDE=5 FILE=COLVAR\n")
    spec = _spec(tmp_path, tiny_model, steps=100, timestep_fs=2.0, thermostat="csvr", plumed=False, thermo=10)
    spec.plumed = {"file": plumed}
    run = render_run(spec, tmp_path / "metad")
    result = execute(run.path)
    assert result.status == "completed" and result.steps_per_s > 0
    execute(run.path, steps=50, continue_run=True)
    colvar = read_table(run.path / "COLVAR")
    np.testing.assert_allclose(colvar[:, 0], np.arange(0, 151, 5) * 2.0e-3)  # ps, no duplicates
    hills = read_table(run.path / "HILLS")
    assert len(hills) == 15 and np.all(np.diff(hills[:, 0]) > 0)
    assert colvar[-1, 2] > 0  # bias grew


def test_model_type_map_must_cover_the_system(tmp_path, tiny_model):
    spec = _spec(tmp_path, tiny_model, steps=1, timestep_fs=1.0, plumed=False,
                 type_map=["Ag", "S", "N", "C", "H", "Xe"])
    run = render_run(spec, tmp_path / "bad-map")
    with pytest.raises(NucleateError, match=r"lacks \['Xe'\]"):
        execute(run.path)


def test_model_deviation_is_written_and_kept_across_continuation(tmp_path, tiny_model):
    """Two copies of one model: DeePMD's max force deviation must be exactly zero, every out_freq steps."""
    twin = tmp_path / "twin.pb"
    twin.write_bytes(tiny_model.read_bytes())
    spec = _spec(tmp_path, tiny_model, steps=40, timestep_fs=2.0, plumed=False, thermostat="csvr")
    spec.potential.deepmd = [tiny_model, twin]
    spec.potential.model_deviation = {"out_freq": 10, "out_file": "model_devi.out"}
    run = render_run(spec, tmp_path / "devi")
    execute(run.path)
    execute(run.path, steps=20, continue_run=True)
    first = read_table(run.path / "model_devi.out")
    second = read_table(run.path / "model_devi.from-step-40.out")
    np.testing.assert_array_equal(first[:, 0], [0, 10, 20, 30, 40])
    assert set(second[:, 0]) >= {50, 60}
    np.testing.assert_allclose(first[:, 1:], 0.0, atol=1e-10)  # identical models never disagree


def test_atomic_model_deviation_is_per_atom_in_id_order(tmp_path, tiny_model):
    """`atomic: true` adds one column per atom: the norm of the force spread across the committee,
    the same numbers DeePMD's Python API gives for the dumped positions, atom ids in order."""
    from deepmd.infer import DeepPot

    from nucleate.analysis.trajectory.io import read_dump_frames, scan_dump
    from nucleate.models import demo_model_path

    spec = _spec(tmp_path, tiny_model, steps=10, timestep_fs=2.0, plumed=False, thermostat="csvr")
    spec.potential.deepmd = [tiny_model, demo_model_path()]
    spec.potential.model_deviation = {"out_freq": 10, "out_file": "model_devi.out", "atomic": True}
    spec.output.dump = 10
    run = render_run(spec, tmp_path / "atomic")
    execute(run.path)
    table = read_table(run.path / "model_devi.out")
    frames, dims = read_dump_frames(scan_dump(run.path / "traj.lammpstrj"))
    natoms = frames.shape[1]
    assert table.shape == (2, 7 + natoms)
    box = np.diag(dims[0, :3]).reshape(1, 9)
    types = [int(t) - 1 for t in np.loadtxt(run.path / "traj.lammpstrj", skiprows=9, max_rows=natoms, usecols=1)]
    forces = [DeepPot(str(m)).eval(frames[0].astype(float).reshape(1, -1), box, types)[1][0] for m in spec.potential.deepmd]
    spread = np.sqrt(((np.asarray(forces) - np.mean(forces, axis=0)) ** 2).sum(axis=-1).mean(axis=0))
    np.testing.assert_allclose(table[0, 7:], spread, rtol=2e-3, atol=2e-4)
    np.testing.assert_allclose(table[0, 4], spread.max(), rtol=2e-3)  # column 5: max force deviation
    assert spread.max() > 1e-3  # two different models: the comparison is not between zeros
