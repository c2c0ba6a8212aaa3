"""OPES_METAD's KERNELS and STATE files given to `nucleate fes` (issue 19, 1c).

They have the HILLS layout (time, CV, sigma_CV, height) but hold compressed, normalised kernels
whose sum is not the bias; summing them would be a wrong surface without a word.  They are
refused with one line that says what the file is and what to do; `plumed sum_hills` refuses them
too.  The files are written by PLUMED's OPES_METAD.
"""

from __future__ import annotations

import subprocess

import pytest

from analysis_runs import plumed_run, random_walk
from nucleate.cli import main
from nucleate.runtime import plumed_cli


@pytest.fixture(scope="module")
def opes_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("opes")
    return plumed_run(work, ["p: POSITION ATOM=1 NOPBC",
                             "opes: OPES_METAD ARG=p.x PACE=10 BARRIER=10 TEMP=300 FILE=@KERNELS STATE_WFILE=@STATE "
                             "STATE_WSTRIDE=100",
                             "PRINT ARG=p.x,opes.* STRIDE=1 FILE=@COLVAR"], random_walk(400, seed=3))


@pytest.mark.parametrize("name, kind", [("KERNELS", "OPES_METAD_kernels"), ("STATE", "OPES_METAD_state")])
def test_opes_files_are_refused_with_what_to_do(opes_run, tmp_path, capsys, name, kind):
    path = opes_run / name
    assert f"#! SET action {kind}" in path.read_text()
    code = main(["fes", str(path), "--no-plot", "-o", str(tmp_path / "fes.dat")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert f"{path}: this is an OPES {name} file (#! SET action {kind})" in err[0]
    assert "nucleate reweight COLVAR" in err[0] and "plumed sum_hills refuses it too" in err[0]
    assert not (tmp_path / "fes.dat").exists()
    # PLUMED's own tool does not sum them either
    cmd, env = plumed_cli()
    done = subprocess.run(cmd + ["sum_hills", "--hills", str(path), "--outfile", str(tmp_path / "p.dat")],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and not (tmp_path / "p.dat").exists()
