"""Large COLVARs in PLUMED's default layout are read by numpy alone (`plumed_layout`): the same
doubles as pandas' parser, only the columns asked for, and every misformed row still refused or
sent on to the general reader (which names its line)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nucleate.analysis import plumed_files, plumed_layout
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


def mixed_rows(count: int) -> tuple[str, np.ndarray]:
    """PLUMED-layout rows whose values change width: a growing time, signs, -0.000000, values of
    one and of two 8-byte words (up to 15 digits), so that pieces cut rows of every shape."""
    rng = np.random.default_rng(4)
    values = np.column_stack([np.arange(count) * 7.5, rng.normal(0, 3, count), rng.normal(0, 1e8, count),
                              -rng.random(count)])
    values[::17, 1] = -0.0
    text = "".join(" " + " ".join(f"{v:.6f}" for v in row) + "\n" for row in values)
    return text, values


@pytest.mark.parametrize("piece", [61, 400, 1 << 20])
def test_pieces_read_as_the_whole_body(piece, monkeypatch):
    """The body is converted a piece at a time (about 1 MB, cut at row ends): any cut gives the
    doubles strtod gives, and a bad row in a later piece still sends the body on."""
    text, _ = mixed_rows(3000)
    monkeypatch.setattr(plumed_layout, "_PIECE", piece)
    columns = read_default_layout(body_of(text), FIELDS, FIELDS)
    tokens = np.array([line.split() for line in text.splitlines()])
    for k, name in enumerate(FIELDS):
        expected = tokens[:, k].astype(float)
        assert np.array_equal(columns[name], expected) and np.array_equal(np.signbit(columns[name]),
                                                                           np.signbit(expected))
    short_last = text[:text.rstrip("\n").rfind(" ")] + "\n"
    assert read_default_layout(body_of(short_last), FIELDS, ["time"]) is None


def test_restarted_colvar_fast_and_careful_paths_agree(tmp_path, monkeypatch):
    """A COLVAR that PLUMED restarted (RESTART appends a second header block): numpy's reader, block
    by block, gives the arrays of pandas' general reader, and the same rows survive the restart; a
    value that is not a number is refused by both with the same message, naming its line."""
    from nucleate.analysis.colvar_restarts import drop_superseded_rows
    from test_analysis_restarts import restarted

    restarted(tmp_path, "COLVAR")
    path = tmp_path / "COLVAR"
    assert path.read_text().count("#! FIELDS") == 2
    monkeypatch.setattr(plumed_files, "SMALL_BODY", 64)  # the paths of large files, on a small one
    names = ["time", "p.x", "w.bias"]
    real, results = plumed_files.read_default_layout, []
    monkeypatch.setattr(plumed_files, "read_default_layout", lambda *a: results.append(real(*a)) or results[-1])
    fast = read_plumed(path, columns=names)
    assert len(results) == 2 and all(result is not None for result in results)  # each header block
    monkeypatch.setattr(plumed_files, "read_default_layout", lambda *a: None)
    careful = read_plumed(path, columns=names)
    assert fast.segments == careful.segments and len(fast) == 600
    kept_fast, kept_careful = drop_superseded_rows(fast), drop_superseded_rows(careful)
    assert len(kept_fast) == 500  # steps 200-299 of the first run were done again
    for name in names:
        assert np.array_equal(fast.column(name), careful.column(name))
        assert np.array_equal(kept_fast.column(name), kept_careful.column(name))

    lines = path.read_text().splitlines(keepends=True)
    bad = len(lines) - 20
    words = lines[bad].split(" ")
    words[2] = words[2][:-1] + "x"  # p.x
    lines[bad] = " ".join(words)
    path.write_text("".join(lines))
    messages = []
    for reader in (real, lambda *a: None):
        monkeypatch.setattr(plumed_files, "read_default_layout", reader)
        with pytest.raises(NucleateError, match=rf"line {bad + 1}: .* in column p.x is not a number") as refused:
            read_plumed(path, columns=names)
        messages.append(str(refused.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("value, refused", [("1.5e3", False), ("abc", True)])
def test_a_value_out_of_the_layout_goes_to_the_general_reader(tmp_path, monkeypatch, value, refused):
    """An exponent is still a number (read by the general reader), a word is refused naming its line."""
    monkeypatch.setattr(plumed_files, "SMALL_BODY", 64)
    text, values = mixed_rows(500)
    lines = text.splitlines(keepends=True)
    words = lines[321].split(" ")
    words[2] = value  # s1
    lines[321] = " ".join(words)
    path = tmp_path / "COLVAR"
    path.write_text("#! FIELDS " + " ".join(FIELDS) + "\n" + "".join(lines))
    if refused:
        with pytest.raises(NucleateError, match=rf"line 323: '{value}' in column s1 is not a number"):
            read_plumed(path, columns=["time", "s1"])
        return
    table = read_plumed(path, columns=["time", "s1"])
    assert table.column("s1")[321] == 1500.0 and np.array_equal(table.column("time"), values[:, 0])
