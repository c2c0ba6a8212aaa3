"""Large COLVARs in PLUMED's default layout are read by numpy alone (`plumed_layout`): the same
doubles as pandas' parser, only the columns asked for, and every misformed row still refused or
sent on to the general reader (which names its line)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nucleate.analysis import plumed_files
from nucleate.analysis.plumed_files import read_plumed
from nucleate.analysis.plumed_layout import read_default_layout
from nucleate.errors import NucleateError

FIELDS = ["time", "s1", "s2", "metad.bias"]


def body_of(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), dtype=np.uint8)


@pytest.mark.parametrize("lead", ["", " "])
def test_values_are_strtod_exact(lead):
    rng = np.random.default_rng(3)
    values = np.column_stack([np.arange(2000) * 0.002, rng.normal(0, 3, 2000), rng.normal(0, 1e4, 2000),
                              -rng.random(2000)])
    text = "".join(lead + " ".join(f"{v:.6f}" for v in row) + "\n" for row in values)
    columns = read_default_layout(body_of(text), FIELDS, ["s2", "time", "metad.bias"])
    expected = pd.read_csv(__import__("io").StringIO(text), sep=r"\s+", header=None, names=FIELDS)
    for name in ("s2", "time", "metad.bias"):
        assert np.array_equal(columns[name], expected[name].to_numpy())
        assert np.array_equal(np.signbit(columns[name]), np.signbit(expected[name].to_numpy()))
    assert "s1" not in columns


@pytest.mark.parametrize("text", [
    " 0.1 1.0 2.0 3.0\n 0.2 1.0 2.0\n 0.3 1.0 2.0 3.0\n",           # short row
    " 0.1 1.0 2.0 3.0\n 0.2 1.0 2.0 3.0 4.0\n 0.3 1.0 2.0 3.0\n",   # long row
    " 0.1 1.0 2.0 3.0 4.0\n 0.2 1.0 2.0\n 0.3 1.0 2.0 3.0\n",       # long and short: same count
    " 0.1 1.0 2.0 3.0\n 0.2 1.0  2.0 3.0\n",                        # two blanks: an empty value
    " 0.1 1.0 2.0 3.0\n 0.2 1.0\t2.0 3.0\n",                        # a tab
    " 0.1 1.0 2.0 3.0\n 0.2 nan 2.0 3.0\n",                         # PLUMED's nan
    " 0.1 1.0 2.0 3.0\n 0.2 1e-3 2.0 3.0\n",                        # an exponent
    " 0.1 1.0 2.0 3.0\n 0.2 1.00 2.0 3.0\n",                        # decimals that differ
    " 0.1 1.0 2.0 3.0\n 0.2 1.- 2.0 3.0\n",                         # not a number
    " 0.1 1.0 2.0 3.0\n 0.2 .0 2.0 3.0\n",                          # no digit before the dot
])
def test_anything_else_goes_to_the_general_reader(text):
    assert read_default_layout(body_of(text), FIELDS, ["time", "s1", "metad.bias"]) is None


def write_large(path, bad_row=None):
    rng = np.random.default_rng(1)
    rows = plumed_files.SMALL_BODY // 40 + 1000
    values = np.column_stack([np.arange(rows) * 0.1, rng.normal(size=rows), rng.normal(size=rows),
                              rng.normal(size=rows)])
    lines = ["".join(f" {v:.6f}" for v in row) + "\n" for row in values]
    if bad_row is not None:
        lines[bad_row] = lines[bad_row].rsplit(" ", 1)[0] + "\n"
    path.write_text("#! FIELDS " + " ".join(FIELDS) + "\n" + "".join(lines))
    assert path.stat().st_size > plumed_files.SMALL_BODY
    return values


def test_large_file_through_numpy_alone(tmp_path, monkeypatch):
    path = tmp_path / "COLVAR"
    values = write_large(path)
    called = []
    real = plumed_files.read_default_layout
    monkeypatch.setattr(plumed_files, "read_default_layout", lambda *a: called.append(1) or real(*a))
    table = read_plumed(path, columns=["s1", "time"])
    assert called and set(table.columns) == {"s1", "time"}
    np.testing.assert_allclose(table.column("s1"), values[:, 1], atol=5e-7, rtol=0)


def test_large_file_with_a_short_row_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "COLVAR"
    write_large(path, bad_row=1234)
    with pytest.raises(NucleateError, match=r"line 1236: 3 values"):
        read_plumed(path, columns=["s1", "time"])
