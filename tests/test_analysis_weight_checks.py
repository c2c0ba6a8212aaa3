"""The Kish effective sample size with every reweighting, and estimates carried by a few samples
flagged with their cause and remedy (issue 19, 1g).

PLUMED writes a COLVAR of a particle that starts deep inside an upper wall (UPPER_WALLS at
x = 1, the run starting at x = 1.8) and leaves it during the first 3 % of the run: reweighted
with the wall's bias, those first samples carry nearly all the weight.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from analysis_runs import plumed_run, random_walk
from nucleate.analysis.fes_grid import read_grid_file
from nucleate.analysis.plumed_files import read_plumed
from nucleate.cli import main
from nucleate.units import kbt

KT = kbt(300.0)
STEPS = 4000


@pytest.fixture(scope="module")
def wall_run(tmp_path_factory):
    approach = np.column_stack([np.linspace(1.8, 0.2, 120), np.zeros(120)])
    walk = random_walk(STEPS - 120, seed=4, start=(0.2, 0.0), clip=0.9)
    return plumed_run(tmp_path_factory.mktemp("wall"), [
        "p: POSITION ATOM=1 NOPBC", "uwall: UPPER_WALLS ARG=p.x AT=1.0 KAPPA=200",
        "PRINT ARG=p.x,p.y,uwall.* STRIDE=1 FILE=@COLVAR"], np.vstack([approach, walk]))


def kish(bias: np.ndarray) -> float:
    weights = np.exp((bias - bias.max()) / KT)
    return weights.sum() ** 2 / (weights ** 2).sum()


def test_a_run_carried_by_its_first_samples_is_flagged(wall_run, tmp_path, capsys, caplog, monkeypatch):
    import nucleate.analysis.plot_fes as plot_fes

    titles = []
    monkeypatch.setattr(plot_fes, "plot_fes", lambda fes, path, **kw: titles.append(kw.get("title")) or path)
    out = tmp_path / "fes.dat"
    with caplog.at_level(logging.WARNING, logger="nucleate.analysis"):
        assert main(["reweight", str(wall_run / "COLVAR"), "--cv", "p.x", "--bias", "uwall.bias", "--temp", "300",
                     "-o", str(out)]) == 0
    bias = read_plumed(wall_run / "COLVAR").column("uwall.bias")
    n_eff = kish(bias)
    assert n_eff < 0.01 * STEPS
    printed = capsys.readouterr().out
    assert f"Kish effective sample size {n_eff:.1f} of {STEPS} samples" in printed
    [warning] = [m for m in caplog.messages if "dominated" in m]
    assert "weights dominated by a few samples" in warning and "sample(s) at t = 0" in warning
    assert "the first 5 % of the run (t <= 0.199 ps)" in warning
    assert "the uneven weights come from uwall.bias" in warning
    assert "--tmin 0.2)" in warning and "leave the static bias uwall.bias out of --bias" in warning
    _, _, constants = read_grid_file(out)
    assert float(constants["effective_sample_size"]) == pytest.approx(n_eff, rel=1e-5)
    assert constants["sample_size"] == str(STEPS)
    assert "# warning: weights dominated" in out.read_text()
    assert titles and f"Kish n_eff = {n_eff:.0f}" in titles[0] and "dominated" in titles[0]


def test_skipping_the_start_removes_the_flag(wall_run, tmp_path, capsys, caplog):
    out = tmp_path / "fes.dat"
    with caplog.at_level(logging.WARNING, logger="nucleate.analysis"):
        assert main(["reweight", str(wall_run / "COLVAR"), "--cv", "p.x", "--bias", "uwall.bias", "--temp", "300",
                     "--tmin", "0.2", "--no-plot", "-o", str(out)]) == 0
    assert not [m for m in caplog.messages if "dominated" in m]
    table = read_plumed(wall_run / "COLVAR")
    kept = table.column("time") >= 0.2 - 1e-9
    expected = kish(table.column("uwall.bias")[kept])
    assert f"Kish effective sample size {expected:.1f} of {kept.sum()} samples" in capsys.readouterr().out
    assert "warning" not in out.read_text()


def test_deltag_reports_the_effective_sample_size(wall_run, tmp_path, capsys):
    out = tmp_path / "dg.dat"
    assert main(["deltag", str(wall_run / "COLVAR"), "--cv", "p.x", "--bias", "uwall.bias", "--temp", "300",
                 "--basin", "a=-1:0", "--basin", "b=0:0.9", "--no-plot", "-o", str(out)]) == 0
    n_eff = kish(read_plumed(wall_run / "COLVAR").column("uwall.bias"))
    assert f"Kish effective sample size {n_eff:.1f}" in capsys.readouterr().out
    assert f"# Kish effective sample size {n_eff:.1f}" in out.read_text()
