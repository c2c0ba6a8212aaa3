"""`nucleate frames`: the trajectory frames whose CVs fall in a basin (issue 19).

A real toy run (eight argon atoms, LAMMPS + PLUMED in-process) prints the 1-2 distance to COLVAR
every 5 steps and dumps every 10; every frame listed for a basin is checked against the distance
computed with numpy from that frame of the dump, and the rows between dump frames carry frame -1.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import toy_spec, write_data
from nucleate.analysis.basin_frames import frames_in_basins
from nucleate.analysis.basins import parse_region
from nucleate.analysis.trajectory.io import read_dump_frames, scan_dump
from nucleate.cli import main
from nucleate.engine.render import render_run
from nucleate.engine.runner import execute
from nucleate.engine.spec import RunSpec
from nucleate.errors import NucleateError

PLUMED = """UNITS LENGTH=A TIME=fs
d: DISTANCE ATOMS=1,2
PRINT ARG=d STRIDE=5 FILE=COLVAR FMT=%.8f
"""


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("frames")
    grid = np.array([[i, j, k] for i in range(2) for j in range(2) for k in range(2)], dtype=float)
    data = write_data(tmp / "ar8.data", 8.0 + 3.8 * grid + 0.05 * np.sin(np.arange(24)).reshape(8, 3), [1] * 8,
                      box=(24.0, 24.0, 24.0))
    spec = toy_spec(tmp, data, plumed=PLUMED, steps=400, thermostat="nose-hoover", temperature=120.0,
                    initial_temperature=120.0, timestep_fs=2.0, pair_style="lj/cut 8.5",
                    pair_coeff=["1 1 0.0103 3.405"], output={"thermo": 10, "dump": 10, "checkpoint": 100})
    run = render_run(RunSpec.from_dict(spec), tmp / "run")
    execute(run.path)
    return run.path


def test_frames_in_a_basin_have_their_cvs_there(toy_run, tmp_path):
    colvar = np.loadtxt(toy_run / "COLVAR", comments="#")
    lo, hi = np.percentile(colvar[:, 1], [30, 70])
    out = tmp_path / "frames.dat"
    assert main(["frames", str(toy_run / "COLVAR"), "--cv", "d", "--basin", f"mid={lo}:{hi}",
                 "--basin", f"far={hi}:99", "-o", str(out)]) == 0
    rows = [line.split() for line in out.read_text().splitlines() if not line.startswith("#")]
    assert {r[0] for r in rows} == {"mid", "far"}
    scan = scan_dump(toy_run / "traj.lammpstrj")
    positions = read_dump_frames(scan)[0].astype(float)
    listed = 0
    for basin, time_fs, step, frame, d in rows:
        step, frame, d = int(step), int(frame), float(d)
        assert step == round(float(time_fs) / 2.0)          # 2 fs steps, COLVAR time in fs
        assert (lo - 1e-6 <= d <= hi + 1e-6) if basin == "mid" else d >= hi - 1e-6   # 6 printed decimals
        if step % 10:
            assert frame == -1                             # no dump frame at that step
            continue
        assert scan.steps[frame] == step
        from_dump = np.linalg.norm(positions[frame, 0] - positions[frame, 1])
        assert from_dump == pytest.approx(d, abs=2e-4)     # the dump's %g precision
        listed += 1
    assert listed >= 5
    inside = ((colvar[:, 1] >= lo) & (colvar[:, 1] <= hi)).sum()
    assert sum(r[0] == "mid" for r in rows) == inside


def test_rows_are_matched_only_at_whole_steps():
    regions = [parse_region("a=0:1", 1)]
    hits = frames_in_basins(np.array([0.0, 1.0, 2.0]), np.array([0.5, 0.5, 2.0]), regions, timestep=1.0,
                            dump_steps=np.array([0, 2]))
    assert hits[0].frames.tolist() == [0, -1] and hits[0].steps.tolist() == [0, 1]
    with pytest.raises(NucleateError, match="not a whole number"):
        frames_in_basins(np.array([0.0, 0.3]), np.array([0.5, 0.5]), regions, timestep=1.0)


def test_frames_without_a_timestep_is_one_clear_error(toy_run, tmp_path, capsys):
    colvar = tmp_path / "COLVAR"
    colvar.write_text((toy_run / "COLVAR").read_text())
    code = main(["frames", str(colvar), "--cv", "d", "--basin", "a=0:9", "--trajectory",
                 str(toy_run / "traj.lammpstrj"), "-o", str(tmp_path / "f.dat")])
    err = capsys.readouterr().err
    assert code == 2 and "--timestep-fs" in err and "Traceback" not in err
