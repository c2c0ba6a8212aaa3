"""A restarted run's COLVAR: repeated times keep the last segment's rows (issue 19, 1d).

Run 1 (PLUMED) writes steps 0-299, then "crashes"; run 2 restarts from the checkpoint at step 200
with PLUMED's RESTART, appending to the same COLVAR (or, the other common case, writing a new file
after the old one).  Rows 200-299 come twice, with different values: the later ones are the run.
Walkers' files (each from t = 0) concatenated by mistake are refused with the option to use.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from analysis_runs import PlumedWalk, random_walk
from nucleate.analysis.plumed_files import read_plumed
from nucleate.analysis.reweight import Reweighter
from nucleate.cli import main
from nucleate.errors import NucleateError

KT = 2.494339
LINES = ["p: POSITION ATOM=1 NOPBC", "w: RESTRAINT ARG=p.x AT=0.3 KAPPA=5",
         "PRINT ARG=p.x,p.y,w.bias STRIDE=1 FILE=@{name}"]


def restarted(work, second_file: str):
    first, second = random_walk(300, seed=1), random_walk(300, seed=2)
    PlumedWalk(work, [line.format(name="COLVAR") for line in LINES]).run(first).close()
    restart = ["RESTART"] if second_file == "COLVAR" else []
    PlumedWalk(work, restart + [line.format(name=second_file) for line in LINES], log="plumed2.log").run(
        second, first_step=200).close()
    return first, second


@pytest.mark.parametrize("second_file", ["COLVAR", "COLVAR.restart"])
def test_the_later_rows_replace_the_repeated_times(tmp_path, caplog, second_file):
    first, second = restarted(tmp_path, second_file)
    files = [tmp_path / "COLVAR"] + ([tmp_path / second_file] if second_file != "COLVAR" else [])
    table = read_plumed(files)
    assert len(table) == 600 and np.diff(table.column("time")).min() < 0  # as PLUMED wrote it
    with caplog.at_level(logging.INFO, logger="nucleate.analysis.colvar_restarts"):
        reweighter = Reweighter(table, ["p.x"], ["w.bias"], KT)
    np.testing.assert_allclose(reweighter.times(), np.arange(500) * 0.001, atol=1e-9)
    np.testing.assert_allclose(reweighter.samples()[:, 0], np.r_[first[:200, 0], second[:, 0]], atol=1e-6)
    [note] = caplog.messages
    assert "time goes back 1 time(s)" in note and "dropped 100 earlier row(s)" in note
    assert f"{files[-1]} line" in note  # where the restart starts


def test_a_bad_value_after_dropping_rows_is_still_named_by_its_line(tmp_path):
    restarted(tmp_path, "COLVAR")
    lines = (tmp_path / "COLVAR").read_text().splitlines(keepends=True)
    bad = len(lines) - 10  # a row of run 2, after 100 dropped rows
    lines[bad] = " 0.49 nan 0.1 0.2\n"
    (tmp_path / "COLVAR").write_text("".join(lines))
    with pytest.raises(NucleateError, match=f"^{tmp_path / 'COLVAR'} line {bad + 1}: p.x is nan"):
        Reweighter(read_plumed(tmp_path / "COLVAR"), ["p.x"], ["w.bias"], KT)


def test_walker_files_concatenated_are_refused(tmp_path, capsys):
    for walker in range(2):
        PlumedWalk(tmp_path / f"w{walker}", [line.format(name="COLVAR") for line in LINES]).run(
            random_walk(100, seed=walker)).close()
    files = [str(tmp_path / f"w{walker}" / "COLVAR") for walker in range(2)]
    code = main(["reweight", *files, "--cv", "p.x", "--bias", "w.bias", "--temp", "300", "--no-plot",
                 "-o", str(tmp_path / "f.dat")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert f"{files[1]} starts at time 0" in err[0] and "pass --walkers" in err[0]
