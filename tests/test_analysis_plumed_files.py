"""PLUMED column-file reader: headers, restarts, partial lines, several files, units."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nucleate.analysis.plumed_files import PlumedUnits, TruncatedLineWarning, read_plumed
from nucleate.errors import NucleateError
from nucleate.runtime import plumed_module

HEADER = "#! FIELDS time d1 phi metad.bias\n#! SET min_phi -pi\n#! SET max_phi pi\n"


def rows(start, n):
    t = np.arange(start, start + n, dtype=float)
    return "".join(f" {a:.3f} {0.1 * a:.6f} {math.sin(a):.6f} {0.01 * a:.6f}\n" for a in t)


def test_restart_blocks_are_concatenated_and_partial_lines_dropped(tmp_path):
    path = tmp_path / "COLVAR"
    # run 1 was killed mid-line, the restart appended its own header, run 2 was killed mid-line too
    path.write_text(HEADER + rows(0, 5) + " 5.000 0.5\n" + HEADER + rows(5, 4) + " 9.000 0.9000")
    with pytest.warns(TruncatedLineWarning) as caught:
        table = read_plumed(path)
    assert len(caught) == 2
    np.testing.assert_array_equal(table.column("time"), np.arange(9.0))
    np.testing.assert_allclose(table.column("phi"), np.sin(np.arange(9.0)), atol=1e-6)
    assert table.dropped_rows == 2
    assert table.periodic_domain("phi") == pytest.approx((-math.pi, math.pi))
    assert table.periodic_domain("d1") is None


def test_several_files_and_column_subset(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_text(HEADER + rows(0, 3))
    second.write_text(HEADER + rows(3, 2))
    table = read_plumed([first, second], columns=["time", "metad.bias"])
    assert set(table.columns) == {"time", "metad.bias"}
    np.testing.assert_allclose(table.column("metad.bias"), 0.01 * np.arange(5.0))


def test_changed_fields_after_restart_need_a_column_choice(tmp_path):
    path = tmp_path / "COLVAR"
    path.write_text(HEADER + rows(0, 3) + "#! FIELDS time d1\n 3.0 0.3\n")
    with pytest.raises(NucleateError, match="differ"):
        read_plumed(path)
    np.testing.assert_allclose(read_plumed(path, columns=["time", "d1"]).column("d1"), [0.0, 0.1, 0.2, 0.3])


def test_same_values_as_plumed_read_as_pandas(tmp_path):
    """Independent reference: PLUMED's own reader on a file PLUMED wrote."""
    plumed = plumed_module().Plumed()
    plumed.cmd("setMDEngine", "python")
    plumed.cmd("setNatoms", 2)
    plumed.cmd("setTimestep", 0.002)
    plumed.cmd("setLogFile", str(tmp_path / "log"))
    plumed.cmd("init")
    for line in ["d: DISTANCE ATOMS=1,2", "t: TORSION ATOMS=1,2,1,2", f"PRINT ARG=d FILE={tmp_path / 'COLVAR'}"]:
        plumed.cmd("readInputLine", line)
    rng = np.random.default_rng(0)
    for step in range(50):
        pos = rng.normal(size=(2, 3))
        plumed.cmd("setStep", step)
        plumed.cmd("setBox", np.eye(3) * 10)
        plumed.cmd("setMasses", np.ones(2))
        plumed.cmd("setPositions", pos)
        plumed.cmd("setForces", np.zeros((2, 3)))
        plumed.cmd("setVirial", np.zeros((3, 3)))
        plumed.cmd("calc")
    plumed.finalize()
    ours = read_plumed(tmp_path / "COLVAR")
    theirs = plumed_module().read_as_pandas(str(tmp_path / "COLVAR"))
    for name in theirs.columns:
        np.testing.assert_array_equal(ours.column(name), theirs[name].to_numpy())


def test_units_from_manifest_user_override_and_mixed_units(tmp_path):
    runs = []
    for name, energy in [("run1", "kcal/mol"), ("run2", "kcal/mol"), ("run3", "kj/mol")]:
        run = tmp_path / name
        run.mkdir()
        (run / "manifest.json").write_text(json.dumps(
            {"plumed_units": {"energy": energy, "length": "A", "time": "fs"}, "temperature_K": 300}))
        (run / "COLVAR").write_text(HEADER + rows(0, 2))
        runs.append(run / "COLVAR")
    table = read_plumed(runs[:2])
    assert (table.units.energy, table.units.length, table.units.time) == ("kcal/mol", "a", "fs")
    with pytest.raises(NucleateError, match="mixed units.*run3"):
        read_plumed(runs)
    assert read_plumed(runs, units="ev").units.energy == "ev"
    assert read_plumed(tmp_path / "run1" / "COLVAR", units=PlumedUnits("kj/mol", "nm", "ps")).units.energy == "kj/mol"


@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    (HEADER, "only a header"),
    ("1 2 3\n", "no `#! FIELDS`"),
    (HEADER + " 1 2 3 4 5 6\n", "do not match the FIELDS"),
])
def test_bad_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "COLVAR"
    path.write_text(content)
    with pytest.raises(NucleateError, match=message) as info:
        read_plumed(path)
    assert str(path) in str(info.value)


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "COLVAR"
    path.write_text(HEADER + rows(0, 2))
    with pytest.raises(NucleateError, match=r"COLVAR: no column 'cn'.*time, d1, phi, metad.bias"):
        read_plumed(path, columns=["time", "cn"])
    with pytest.raises(NucleateError, match="no column 'cn'"):
        read_plumed(path).column("cn")


def test_tabs_and_trailing_blanks_are_read(tmp_path):
    path = tmp_path / "COLVAR"
    path.write_text("#! FIELDS time x\n 0.0\t1.5 \n 1.0   2.5\t\n")
    np.testing.assert_allclose(read_plumed(path).column("x"), [1.5, 2.5])


@pytest.mark.parametrize("body, expected", [
    # PLUMED's own layout (leading blank) and the same without it: the fast path
    (" 1 2 3\n 4 5 6\n", [[1, 2, 3], [4, 5, 6]]),
    ("1 2 3\n4 5 6\n", [[1, 2, 3], [4, 5, 6]]),
    # padded (FMT=%8.3f) and mixed leading blanks: must not be read by position of single blanks
    ("   1.000  -2.000   3.000\n  -4.000   5.000  -6.000\n", [[1, -2, 3], [-4, 5, -6]]),
    (" 1 2 3\n4 5 6\n", [[1, 2, 3], [4, 5, 6]]),
    ("1 2 3\n 4 5 6\n", [[1, 2, 3], [4, 5, 6]]),
    # PLUMED's nan and inf
    (" 1 nan 3\n 4 -inf 6\n", [[1, np.nan, 3], [4, -np.inf, 6]]),
])
def test_every_row_layout_reads_the_same_values(tmp_path, body, expected):
    path = tmp_path / "COLVAR"
    path.write_text("#! FIELDS a b c\n" + body)
    for columns in (None, ["c", "a"]):
        table = read_plumed(path, columns=columns)
        for name in columns or ["a", "b", "c"]:
            np.testing.assert_array_equal(table.column(name), np.array(expected)[:, "abc".index(name)])


def test_rows_of_the_wrong_length_are_not_misread(tmp_path):
    # one row too long and one too short: same blank count as two good rows, so only a
    # row-by-row check catches them
    path = tmp_path / "COLVAR"
    path.write_text("#! FIELDS a b c\n 1 2 3\n 4 5 6 7\n 8 9\n")
    with pytest.raises(NucleateError, match="FIELDS"):
        read_plumed(path)
