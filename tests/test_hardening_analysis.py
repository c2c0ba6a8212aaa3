"""Bad analysis inputs: each is refused with one clear line (file, line, value), never read
silently wrong and never a traceback; outputs are written whole or not at all.

The COLVAR and HILLS files are written by PLUMED itself (METAD on a random walk, through the
Python cmd API) and then damaged the way real files get damaged: a value lost or doubled by
an edit, a run killed mid-write, a restart appended after it.
"""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nucleate.analysis.output_files import write_output
from nucleate.analysis.plumed_files import TruncatedLineWarning, read_plumed
from nucleate.cli import main
from nucleate.errors import NucleateError
from nucleate.runtime import plumed_module

# the COLVAR's bias has no c(t) column: the reweighting warns so, which is not under test here
pytestmark = pytest.mark.filterwarnings(r"ignore:no c\(t\) for:UserWarning")


@pytest.fixture(scope="module")
def plumed_run(tmp_path_factory):
    """COLVAR (time p.x p.y metad.bias) and HILLS of a 400-step 1D well-tempered METAD."""
    work = tmp_path_factory.mktemp("plumed_run")
    plumed = plumed_module().Plumed()
    for key, value in [("setMDEngine", "python"), ("setNatoms", 1), ("setTimestep", 0.001), ("setKbT", 2.494),
                       ("setLogFile", str(work / "plumed.log"))]:
        plumed.cmd(key, value)
    plumed.cmd("init")
    for line in ["p: POSITION ATOM=1 NOPBC",
                 f"metad: METAD ARG=p.x SIGMA=0.1 HEIGHT=1.0 PACE=4 BIASFACTOR=8 TEMP=300 FILE={work / 'HILLS'}",
                 f"PRINT ARG=p.x,p.y,metad.bias STRIDE=2 FILE={work / 'COLVAR'}"]:
        plumed.cmd("readInputLine", line)
    rng = np.random.default_rng(3)
    position = np.zeros((1, 3))
    for step in range(400):
        position[0, :2] = np.clip(position[0, :2] + rng.normal(0.0, 0.05, 2), -1.5, 1.5)
        for key, value in [("setStep", step), ("setMasses", np.ones(1)), ("setPositions", position),
                           ("setForces", np.zeros((1, 3))), ("setVirial", np.zeros((3, 3)))]:
            plumed.cmd(key, value)
        plumed.cmd("calc")
    plumed.finalize()
    return work / "COLVAR", work / "HILLS"


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def damaged(source: Path, target: Path, edit) -> Path:
    """A copy of `source` with `edit(lines)` applied (lines keep their newlines)."""
    lines = lines_of(source)
    edit(lines)
    target.write_text("".join(lines))
    return target


def drop_last_value(lines: list[str], index: int) -> None:
    lines[index] = lines[index].rsplit(" ", 1)[0] + "\n"


def append_values(lines: list[str], index: int, text: str) -> None:
    lines[index] = lines[index].rstrip("\n") + f" {text}\n"


def set_value(lines: list[str], index: int, column: int, text: str) -> None:
    """Replace one value of a row, keeping PLUMED's layout (a blank before each value)."""
    words = lines[index].split()
    words[column] = text
    lines[index] = " " + " ".join(words) + "\n"


def run_cli(argv, capsys) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1, err
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def reweight_argv(colvar, tmp_path, *extra, temperature=("--temp", "300")):
    return ["reweight", colvar, "--cv", "p.x", "--bias", "metad.bias", *temperature, "--no-plot",
            "-o", tmp_path / "fes.dat", *extra]


# -- rows that do not match the FIELDS -----------------------------------------------------------

@pytest.mark.parametrize("columns", [None, ["time", "p.x"]])
@pytest.mark.parametrize("edit, values", [
    (lambda lines: drop_last_value(lines, 40), 3),
    (lambda lines: append_values(lines, 40, "0.5"), 5),
    (lambda lines: append_values(lines, 40, "0.5 0.7"), 6),
])
def test_a_row_of_the_wrong_length_is_refused_with_file_and_line(plumed_run, tmp_path, edit, values, columns):
    colvar = damaged(plumed_run[0], tmp_path / "COLVAR", edit)
    with pytest.raises(NucleateError) as info:
        read_plumed(colvar, columns=columns)
    assert str(info.value).startswith(f"{colvar} line 41: {values} values, but the FIELDS line names 4 ")


def test_padded_rows_are_checked_too(tmp_path):
    # %12.6f columns take the general tokenizer, not PLUMED's single-space fast path
    rows = "".join(f"{t:12.6f}{0.1 * t:12.6f}{t * t:12.6f}\n" for t in range(6))
    path = tmp_path / "COLVAR"
    path.write_text("#! FIELDS time x y\n" + rows)
    np.testing.assert_allclose(read_plumed(path, columns=["y"]).column("y"), np.arange(6.0) ** 2)
    lines = lines_of(path)
    lines[3] = lines[3][:24] + "\n"
    path.write_text("".join(lines))
    with pytest.raises(NucleateError, match=r"COLVAR line 4: 2 values, but the FIELDS line names 3"):
        read_plumed(path, columns=["time", "y"])


def test_short_hills_row_names_the_line_not_the_biasf(plumed_run, tmp_path, capsys):
    hills = damaged(plumed_run[1], tmp_path / "HILLS", lambda lines: drop_last_value(lines, 20))
    code, err = run_cli(["fes", hills, "--no-plot", "-o", tmp_path / "fes.dat"], capsys)
    assert_one_line_error(code, err, f"{hills} line 21: 4 values, but the FIELDS line names 5")
    assert "biasf" not in err.split("names 5")[0]
    assert not (tmp_path / "fes.dat").exists()


def test_a_non_number_mid_file_is_named(plumed_run, tmp_path, capsys):
    colvar = damaged(plumed_run[0], tmp_path / "COLVAR", lambda lines: set_value(lines, 30, 1, "0.12x"))
    code, err = run_cli(reweight_argv(colvar, tmp_path), capsys)
    assert_one_line_error(code, err, f"{colvar} line 31: '0.12x' in column p.x is not a number")


# -- a run killed mid-write: the one row that may be dropped -------------------------------------

def test_a_final_row_without_newline_is_dropped_with_a_note(plumed_run, tmp_path, caplog):
    complete = read_plumed(plumed_run[0])
    lines = lines_of(plumed_run[0])
    path = tmp_path / "COLVAR"
    path.write_text("".join(lines) + lines[-1][:9])  # the killed run wrote 9 bytes of the next row
    with caplog.at_level(logging.WARNING, logger="nucleate.analysis.plumed_files"), \
            pytest.warns(TruncatedLineWarning):
        table = read_plumed(path)
    assert table.dropped_rows == 1
    for name in complete.fields:
        np.testing.assert_array_equal(table.column(name), complete.column(name))
    [note] = caplog.messages
    assert note.startswith(f"{path} line {len(lines) + 1}: dropped the row") and "no newline at the end" in note


def test_a_short_final_row_with_its_newline_is_refused(plumed_run, tmp_path):
    colvar = damaged(plumed_run[0], tmp_path / "COLVAR", lambda lines: drop_last_value(lines, len(lines) - 1))
    with pytest.raises(NucleateError, match=f"line {len(lines_of(colvar))}: 3 values"):
        read_plumed(colvar)


def test_a_restart_header_glued_to_the_partial_row(plumed_run, tmp_path, caplog):
    """PLUMED appends the restart header right after the bytes the killed run managed to write."""
    lines = lines_of(plumed_run[0])
    header, rows = lines[0], lines[1:]
    path = tmp_path / "COLVAR"
    path.write_text(header + "".join(rows[:50]) + rows[50][:12] + header + "".join(rows[50:]))
    with caplog.at_level(logging.WARNING, logger="nucleate.analysis.plumed_files"), \
            pytest.warns(TruncatedLineWarning):
        table = read_plumed(path)
    complete = read_plumed(plumed_run[0])
    np.testing.assert_array_equal(table.column("p.x"), complete.column("p.x"))
    assert table.dropped_rows == 1 and len(caplog.messages) == 1
    assert "line 52: dropped the row" in caplog.messages[0] and "before the restart header" in caplog.messages[0]
    # a bad row after the restart is located in the file, not in its block
    path.write_text(header + "".join(rows[:50]) + header + "".join(rows[50:60]) + "1 2\n" + "".join(rows[60:]))
    with pytest.raises(NucleateError, match=r"COLVAR line 63: 2 values"):
        read_plumed(path)


def test_a_short_row_inside_a_block_is_refused_even_before_a_restart(plumed_run, tmp_path):
    lines = lines_of(plumed_run[0])
    path = tmp_path / "COLVAR"
    path.write_text("".join(lines[:10]) + "0.5 0.1\n" + "".join(lines[10:20]) + lines[0] + "".join(lines[20:]))
    with pytest.raises(NucleateError, match=r"COLVAR line 11: 2 values"):
        read_plumed(path)


def test_comments_and_blank_lines_are_not_values(tmp_path):
    path = tmp_path / "COLVAR"
    body = "# a note\n 1 2 3 # trailing note\n   \n 4 5 6#glued note\n\t\n 7 8 9\n"
    path.write_text("#! FIELDS a b c\n" + body)
    for columns in (["a"], None):
        np.testing.assert_array_equal(read_plumed(path, columns=columns).column("a"), [1.0, 4.0, 7.0])
    path.write_text("#! FIELDS a b c\n" + body.replace(" 4 5 6#", " 4 5 6 6.5#"))
    with pytest.raises(NucleateError, match=r"COLVAR line 5: 4 values"):
        read_plumed(path, columns=["a"])


def test_nan_in_the_last_column_is_still_a_value(tmp_path):
    # PLUMED's nan leaves the parser's "empty last value" sign too; the row check tells them apart
    path = tmp_path / "COLVAR"
    path.write_text("#! FIELDS time x\n 0 1.5\n 1 nan\n 2 -inf\n")
    np.testing.assert_array_equal(read_plumed(path).column("x"), [1.5, np.nan, -np.inf])


# -- non-finite values where an analysis needs numbers --------------------------------------------

@pytest.mark.parametrize("column, value", [(1, "nan"), (1, "inf"), (3, "-nan")])
def test_a_non_finite_sample_is_refused_with_its_line(plumed_run, tmp_path, capsys, column, value):
    colvar = damaged(plumed_run[0], tmp_path / "COLVAR", lambda lines: set_value(lines, 25, column, value))
    code, err = run_cli(reweight_argv(colvar, tmp_path), capsys)
    name = ["time", "p.x", "p.y", "metad.bias"][column]
    if name == "metad.bias":
        assert_one_line_error(code, err, f"{colvar} line 26: the bias metad.bias is nan there", "not a finite number")
    else:
        assert_one_line_error(code, err, f"{colvar} line 26: {name} is {value.lstrip('-')}, not a finite number")


def test_the_line_of_a_bad_value_counts_headers_comments_and_files(tmp_path):
    first, second = tmp_path / "COLVAR.0", tmp_path / "COLVAR.1"
    first.write_text("#! FIELDS time x\n 0 0.5\n 1 0.6\n")
    second.write_text("#! FIELDS time x\n 2 0.7\n# a note\n\n#! FIELDS time x\n#! SET min_x 0\n 3 0.8\n 4 nan\n")
    table = read_plumed([first, second])
    with pytest.raises(NucleateError, match=f"^{second} line 8: x is nan, not a finite number"):
        table.finite_column("x")
    assert [segment.rows for segment in table.segments] == [2, 1, 2]


@pytest.mark.parametrize("field, value, message", [
    (1, "nan", "line 11: p.x is nan, not a finite number"),
    (2, "-0.1", "line 11: sigma_p.x is -0.1; a hill's width must be positive"),
    (2, "0", "line 11: sigma_p.x is 0; a hill's width must be positive"),
    (3, "inf", "line 11: height is inf, not a finite number"),
    (4, "9", "line 11: biasf changes from 8 to 9"),
])
def test_bad_hills_name_the_hill(plumed_run, tmp_path, capsys, field, value, message):
    hills = damaged(plumed_run[1], tmp_path / "HILLS", lambda lines: set_value(lines, 10, field, value))
    code, err = run_cli(["fes", hills, "--no-plot", "-o", tmp_path / "fes.dat"], capsys)
    assert_one_line_error(code, err, f"{hills} {message}")


def test_hills_with_a_different_cv_count_after_a_restart(plumed_run, tmp_path, capsys):
    lines = lines_of(plumed_run[1])
    restart = ("#! FIELDS time p.x p.y sigma_p.x sigma_p.y height biasf\n#! SET multivariate false\n"
               " 5.0 0.1 0.2 0.1 0.1 1.0 8\n")
    hills = tmp_path / "HILLS"
    hills.write_text("".join(lines) + restart)
    code, err = run_cli(["fes", hills, "--no-plot", "-o", tmp_path / "fes.dat"], capsys)
    assert_one_line_error(code, err, f"after line {len(lines) + 3}", "differ from the earlier ones")


# -- files that are not PLUMED output, options that make no sense ---------------------------------

@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"#! FIELDS time p.x metad.bias\n", "only a header, no data rows"),
    (b" 0 1 2\n 1 2 3\n", "no `#! FIELDS` line"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01", "no `#! FIELDS` line"),
    (b"#! FIELDS time p.x metad.bias\n 0 1 2\n\x00\xff\xfe 1 2\n", "line 3: "),
    (b"#! FIELDS time p.x p.x metad.bias\n 0 1 2 3\n", "line 1: the FIELDS line names p.x twice"),
])
def test_files_that_are_not_plumed_tables(tmp_path, capsys, content, message):
    colvar = tmp_path / "COLVAR"
    colvar.write_bytes(content)
    code, err = run_cli(reweight_argv(colvar, tmp_path), capsys)
    assert_one_line_error(code, err, str(colvar), message)


def test_a_folder_given_as_the_file(tmp_path, capsys):
    code, err = run_cli(reweight_argv(tmp_path, tmp_path), capsys)
    assert_one_line_error(code, err, f"{tmp_path} is a folder, not a PLUMED file")
    code, err = run_cli(["fes", tmp_path, "-o", tmp_path / "fes.dat"], capsys)
    assert_one_line_error(code, err, f"{tmp_path} is a folder, not a PLUMED file")


@pytest.mark.parametrize("extra, message", [
    (["--min", "1", "--max", "1"], "max (1.0) must be larger than min (1.0)"),
    (["--min", "2", "--max", "-1"], "max (-1.0) must be larger than min (2.0)"),
    (["--min", "nan", "--max", "1"], "min and max must be finite numbers (got nan, 1.0)"),
    (["--bin", "0"], "--bin '0': must be positive"),
    (["--bin", "-5"], "--bin '-5': must be positive"),
    (["--bin", "200000000"], "points is more than 1e+08; use fewer bins"),
    (["--bandwidth", "nan"], "--bandwidth needs one positive value per CV"),
    (["--skip", "nan"], "--skip is the fraction of rows"),
    (["--temp", "0"], "--temp must be a positive temperature in K (got 0.0)"),
    (["--temp", "-300"], "--temp must be a positive temperature in K (got -300.0)"),
    (["--temp", "nan"], "--temp must be a positive temperature in K (got nan)"),
    (["--kt", "inf"], "--kt must be a positive energy (got inf)"),
    (["--kt", "-2.5"], "--kt must be a positive energy (got -2.5)"),
])
def test_grid_estimator_and_temperature_options(plumed_run, tmp_path, capsys, extra, message):
    temperature = () if extra[0] in ("--temp", "--kt") else ("--temp", "300")
    code, err = run_cli(reweight_argv(plumed_run[0], tmp_path, *extra, temperature=temperature), capsys)
    assert_one_line_error(code, err, message)
    assert not (tmp_path / "fes.dat").exists()


@pytest.mark.parametrize("columns, message", [
    (["--cv", "q"], "no column 'q'; the FIELDS line has: time p.x p.y metad.bias"),
    (["--cv", "p.x", "--bias", "opes.bias"], "no column 'opes.bias'"),
])
def test_missing_columns(plumed_run, tmp_path, capsys, columns, message):
    argv = ["reweight", plumed_run[0], "--temp", "300", "-o", tmp_path / "f.dat", *columns]
    assert_one_line_error(*run_cli(argv, capsys), str(plumed_run[0]), message)


def test_fes_grid_options(plumed_run, tmp_path, capsys):
    for extra, message in [(["--min", "0", "--max", "0"], "max (0.0) must be larger than min (0.0)"),
                           (["--bin", "0"], "must be positive"),
                           (["--min", "-1"], "give both --min and --max")]:
        code, err = run_cli(["fes", plumed_run[1], "--no-plot", "-o", tmp_path / "fes.dat", *extra], capsys)
        assert_one_line_error(code, err, message)
    for argv, message in [(["fes", plumed_run[1], "--stride", "0", "-o", tmp_path / "fes.dat"],
                           "argument --stride: '0' is not a positive integer"),
                          (["basins", plumed_run[1], "--temp", "300", "--radius", "0"],
                           "argument --radius: '0' is not a positive integer")]:
        with pytest.raises(SystemExit) as info:
            main([str(a) for a in argv])
        assert info.value.code == 2 and message in capsys.readouterr().err


# -- outputs: one line when they cannot be written, never half a file -----------------------------

def analysis_commands(plumed_run, tmp_path, output):
    """Every analysis command that writes, with `output` as its -o."""
    grid = tmp_path / "grid.dat"
    assert main(["fes", str(plumed_run[1]), "--no-plot", "-o", str(grid)]) == 0
    colvar, hills = map(str, plumed_run)
    weights = ["--cv", "p.x", "--bias", "metad.bias", "--temp", "300"]
    return {
        "fes": ["fes", hills, "-o", output],
        "reweight": ["reweight", colvar, *weights, "-o", output],
        "deltag": ["deltag", colvar, *weights, "--basin", "a=-1.5:0", "--basin", "b=0:1.5", "-o", output],
        "basins": ["basins", str(grid), "--temp", "300", "-o", output],
        "plot": ["plot", str(grid), "-o", f"{output}.png"],
    }


def test_output_under_a_regular_file(plumed_run, tmp_path, capsys):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x\n")
    for name, argv in analysis_commands(plumed_run, tmp_path, str(blocker / "out.dat")).items():
        capsys.readouterr()
        code, err = run_cli(argv, capsys)
        assert_one_line_error(code, err, f"nucleate {name}: error: cannot write {blocker}/out.dat",
                              f"{blocker} is a file, not a folder")
    assert blocker.read_text() == "x\n"


def test_output_that_is_a_folder(plumed_run, tmp_path, capsys):
    folder = tmp_path / "taken"
    folder.mkdir()
    code, err = run_cli(["fes", plumed_run[1], "-o", folder], capsys)
    assert_one_line_error(code, err, f"cannot write {folder}: it is a folder")


def test_output_in_a_read_only_folder(plumed_run, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root may write anyway: let the permission check see what a user would
        monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != folder)
    try:
        code, err = run_cli(["fes", plumed_run[1], "-o", folder / "fes.dat"], capsys)
        assert_one_line_error(code, err, f"cannot write {folder}/fes.dat: no permission to write in {folder}")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "fes.dat"

    def disk_full(temporary: Path) -> None:
        temporary.write_text("#! FIELDS x free\n0.0 1.")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(temporary))

    with pytest.raises(NucleateError, match=f"cannot write {target}: No space left on device"):
        write_output(target, disk_full)
    assert list(tmp_path.iterdir()) == []
    target.write_text("the previous result\n")
    with pytest.raises(NucleateError):
        write_output(target, disk_full)
    assert target.read_text() == "the previous result\n" and list(tmp_path.iterdir()) == [target]


def test_a_refused_rename_through_the_cli_leaves_nothing_behind(plumed_run, tmp_path, capsys, monkeypatch):
    def refuse(source, target):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(target))

    monkeypatch.setattr(os, "replace", refuse)
    out = tmp_path / "out"
    out.mkdir()
    code, err = run_cli(["fes", plumed_run[1], "-o", out / "fes.dat"], capsys)
    assert_one_line_error(code, err, f"cannot write {out}/fes.dat: Permission denied")
    assert list(out.iterdir()) == []


def test_build_output_under_a_file(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, err = run_cli(["build", "ag6/ag6l6_methanol", "-o", blocker / "system"], capsys)
    assert_one_line_error(code, err, f"cannot write the output folder {blocker}/system: {blocker} is a file")
    code, err = run_cli(["build", "ag6/ag6l6_methanol", "-o", blocker], capsys)
    assert_one_line_error(code, err, f"output folder {blocker} is a file")


# -- trajectory commands ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    from synthetic_trajectory import write_synthetic_run

    return write_synthetic_run(tmp_path_factory.mktemp("traj"), n_frames=4, n_solvent=2, seed=1)


@pytest.mark.parametrize("argv, message", [
    (["cn", "--pair", "Ag,S", "--r0", "3", "--step", "0"], "argument --step: '0' is not a positive integer"),
    (["cn", "--pair", "Ag,S", "--r0", "3", "--step", "-2"], "argument --step: '-2' is not a positive integer"),
    (["cn", "--pair", "Ag,S", "--r0", "3", "--start", "-1"], "argument --start: '-1' is not a non-negative integer"),
    (["cn", "--pair", "Ag,S", "--r0", "nan"], "argument --r0: 'nan' is not a positive number"),
    (["nuclei", "--cutoff", "0"], "argument --cutoff: '0' is not a positive number"),
    (["nuclei", "--min-size", "-1"], "argument --min-size: '-1' is not a positive integer"),
    (["kde", "--stop", "-3"], "argument --stop: '-3' is not a non-negative integer"),
])
def test_trajectory_frame_and_number_options(small_run, tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main([argv[0], str(small_run), *argv[1:], "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.strip().splitlines()[-1].endswith(message), err


@pytest.mark.parametrize("argv, message", [
    (["kde", "--cutoff", "Ag-S=-1"], "cannot read cutoff 'Ag-S=-1': write NAME=VALUE with a positive VALUE"),
    (["cn", "--pair", "Ag,S", "--r0", "3", "--d0", "2", "--d-max", "1"], "D_MAX=1.0 must be larger than D_0=2.0"),
    (["cn", "--pair", "Ag,S", "--r0", "3", "--d-max", "-1"], "--d-max '-1': give a positive distance"),
    (["nuclei", "--traj", "."], "trajectory . is a folder, not a file"),
])
def test_trajectory_values(small_run, tmp_path, capsys, argv, message):
    code, err = run_cli([argv[0], small_run, *argv[1:], "-o", tmp_path / "out"], capsys)
    assert_one_line_error(code, err, message)


def test_trajectory_outputs_under_a_file(small_run, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    for argv in (["kde"], ["nuclei"], ["cn", "--within", "Ag", "--r0", "3"]):
        code, err = run_cli([argv[0], small_run, *argv[1:], "-o", blocker / "out"], capsys)
        assert_one_line_error(code, err, f"{blocker} is a file, not a folder")


def test_the_installed_command_prints_one_line(plumed_run, tmp_path):
    """Through a fresh interpreter, as a user runs it: exit 2, one line, no traceback."""
    colvar = damaged(plumed_run[0], tmp_path / "COLVAR", lambda lines: drop_last_value(lines, 7))
    done = subprocess.run([sys.executable, "-m", "nucleate.cli", *map(str, reweight_argv(colvar, tmp_path))],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"nucleate reweight: error: {colvar} line 8: 3 values, but the FIELDS line names 4 (time p.x p.y metad.bias); "
        "rows that do not match the FIELDS are refused, not read with shifted columns"]
