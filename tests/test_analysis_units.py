"""Energy units from the files PLUMED and nucleate write (issue 19, 1f).

- No manifest.json: the `UNITS ENERGY=` line of the plumed.dat beside a COLVAR or HILLS says the
  unit (PLUMED here reads that very plumed.dat and writes kcal/mol).
- nucleate's FES files carry `#! SET energy_unit` and `#! SET kT`, and the readers honour them:
  `reweight -o fes2d.dat` on a kcal/mol run followed by `basins fes2d.dat --temp 300` in another
  folder used to apply kT in kJ/mol to kcal/mol values.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis_runs import plumed_run
from nucleate.analysis.basins import find_basins
from nucleate.analysis.fes_grid import FES, read_grid_file
from nucleate.analysis.kernel_density import weighted_histogram
from nucleate.analysis.plumed_files import read_plumed
from nucleate.cli import main
from nucleate.units import kbt

KT_KCAL = kbt(300.0, "kcal/mol")


def two_wells(n: int, seed: int) -> np.ndarray:
    """Independent draws from two Gaussian wells of different weight and width."""
    rng = np.random.default_rng(seed)
    first = rng.random(n) < 0.7
    centre = np.where(first[:, None], [-0.8, 0.0], [0.9, 0.4])
    return centre + rng.normal(size=(n, 2)) * np.where(first, 0.25, 0.35)[:, None]


@pytest.fixture(scope="module")
def kcal_run(tmp_path_factory):
    """PLUMED reads run/plumed.dat (UNITS ENERGY=kcal/mol) and writes COLVAR and HILLS; no manifest."""
    work = tmp_path_factory.mktemp("kcal") / "run"
    return plumed_run(work, ["UNITS ENERGY=kcal/mol", "p: POSITION ATOM=1 NOPBC",
                             "w: RESTRAINT ARG=p.x AT=0.2 KAPPA=1.5",
                             "metad: METAD ARG=p.x SIGMA=0.2 HEIGHT=0.3 PACE=50 BIASFACTOR=8 TEMP=300 FILE=@HILLS",
                             "PRINT ARG=p.x,p.y,w.* STRIDE=1 FILE=@COLVAR"], two_wells(20000, 1),
                      plumed_dat=True, kbt=KT_KCAL)


def test_units_come_from_the_plumed_dat_beside_the_file(kcal_run):
    table = read_plumed(kcal_run / "COLVAR")
    assert table.units.energy == "kcal/mol" and "UNITS line" in table.units.source
    # PLUMED wrote the restraint in kcal/mol: 1.5/2 (x - 0.2)^2
    x = table.column("p.x")
    np.testing.assert_allclose(table.column("w.bias"), 0.75 * (x - 0.2) ** 2, atol=2e-6)


def test_reweight_then_basins_elsewhere_keep_kcal_per_mol(kcal_run, tmp_path, capsys):
    out = tmp_path / "elsewhere" / "fes2d.dat"
    assert main(["reweight", str(kcal_run / "COLVAR"), "--cv", "p.x,p.y", "--bias", "w.bias", "--temp", "300",
                 "--histogram", "--bin", "30,30", "--min", "-1.8,-1.5", "--max", "1.8,1.5", "--no-plot",
                 "-o", str(out)]) == 0
    grid, values, constants = read_grid_file(out)
    assert constants["energy_unit"] == "kcal/mol" and float(constants["kT"]) == pytest.approx(KT_KCAL)
    # the surface itself: -kT ln(sum of exp(V/kT)) per bin, V and kT in kcal/mol
    table = read_plumed(kcal_run / "COLVAR")
    samples = np.column_stack([table.column("p.x"), table.column("p.y")])
    bias = table.column("w.bias")
    histogram = weighted_histogram(grid, samples, np.exp((bias - bias.max()) / KT_KCAL))
    finite = histogram > 0
    expected = np.full(grid.shape, np.inf)
    expected[finite] = -KT_KCAL * np.log(histogram[finite])
    np.testing.assert_allclose(values["free"][finite], (expected - expected[finite].min())[finite], atol=2e-9)
    capsys.readouterr()
    table_out = tmp_path / "basins.dat"
    assert main(["basins", str(out), "--temp", "300", "--max-free", "3", "--radius", "4", "--no-plot",
                 "-o", str(table_out)]) == 0
    rows = [line.split() for line in table_out.read_text().splitlines() if not line.startswith("#")]
    reference = find_basins(FES.read(out), kt=KT_KCAL, max_free=3, radius=4)
    assert len(rows) == len(reference) >= 2
    for row, basin in zip(rows, reference):
        assert float(row[4]) == pytest.approx(basin.free_basin, abs=1e-4)
    assert "energies in kcal/mol" in table_out.read_text()
    # with kT in kJ/mol (what the file was read with before) the basin free energies differ
    wrong = find_basins(FES.read(out), kt=kbt(300.0, "kj/mol"), max_free=3, radius=4)
    assert abs(wrong[1].free_basin - reference[1].free_basin) > 0.05


def test_basins_uses_the_files_kt_and_refuses_a_contradicting_unit(kcal_run, tmp_path, capsys):
    out = tmp_path / "fes.dat"
    assert main(["reweight", str(kcal_run / "COLVAR"), "--cv", "p.x", "--bias", "w.bias", "--temp", "300",
                 "--no-plot", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["basins", str(out), "--no-plot"]) == 0  # kT from #! SET kT
    assert "energies in kcal/mol" in capsys.readouterr().out
    assert main(["basins", str(out), "--temp", "300", "--input-units", "kj/mol", "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert "the file says its energies are in kcal/mol (#! SET energy_unit), not kj/mol" in err


def test_sum_hills_output_in_the_run_folder_takes_the_runs_unit(kcal_run, capsys):
    """A grid without #! SET energy_unit (PLUMED's) is in the unit of the run it sits in."""
    out = kcal_run / "fes_hills.dat"
    assert main(["fes", str(kcal_run / "HILLS"), "--no-plot", "-o", str(out)]) == 0
    text = out.read_text()
    assert "#! SET energy_unit kcal/mol" in text
    out.write_text("\n".join(line for line in text.splitlines() if "energy_unit" not in line) + "\n")
    fes = FES.read(out, unit_if_unsaid="kcal/mol")
    assert fes.energy_unit == "kcal/mol"
    capsys.readouterr()
    assert main(["basins", str(out), "--temp", "300", "--no-plot"]) == 0
    assert "energies in kcal/mol" in capsys.readouterr().out
