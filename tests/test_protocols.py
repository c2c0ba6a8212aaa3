"""Protocols run for real: WT-MetaD and OPES inputs from render_plumed drive a toy particle system
through PLUMED's Python API (Brownian dynamics in numpy, bias forces from PLUMED), produce
HILLS / KERNELS / COLVAR with the expected columns, and a restart=True continuation appends to
them and starts from the deposited bias instead of from zero."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nucleate.errors import NucleateError
from nucleate.plumed_cvs import render_plumed
from nucleate.runtime import plumed_module
from nucleate.systems import Groups, read_data
from nucleate.units import KJMOL_PER_KCALMOL, kbt

BOX_A = 12.0
TOY_DATA = """toy: 2 Ag + 10 O in a 12 A box
12 atoms
6 atom types
0 12 xlo xhi
0 12 ylo yhi
0 12 zlo zhi

Masses

1 107.8682
2 32.06
3 14.007
4 12.011
5 1.008
6 15.999

Atoms # atomic

1 1 5.0 6.0 6.0
2 1 7.5 6.0 6.0
3 6 2.0 2.0 2.0
4 6 9.0 2.5 3.0
5 6 3.0 9.0 4.0
6 6 8.0 8.0 9.0
7 6 6.0 4.0 8.5
8 6 4.0 6.0 10.0
9 6 10.0 6.0 1.0
10 6 6.0 10.5 6.0
11 6 1.0 5.0 7.0
12 6 6.0 7.5 7.5
"""


@pytest.fixture
def toy(tmp_path):
    path = tmp_path / "toy.data"
    path.write_text(TOY_DATA)
    data = read_data(path)
    groups = Groups.from_types(data.types, ["Ag", "S", "N", "C", "H", "O"])
    groups.add("solvent_O", groups["O"])
    return data, groups


def config(bias: dict) -> dict:
    return {
        "units": {"length": "A", "energy": "kcal/mol", "time": "fs"},
        "cvs": [
            {"name": "cn_agag", "type": "coordination", "a": "Ag", "r0": 3.0, "nn": 6, "mm": 8},
            {"name": "nsolv", "type": "solvent_count", "group": "solvent_O", "point": "box_centre",
             "r0": 3.0, "nn": 6, "mm": 10, "range": [0, 6]},
        ],
        "bias": bias,
        "print_stride": 10,
    }


def run_toy(text: str, data, steps: int, seed: int, first_step: int = 0, positions=None) -> np.ndarray:
    """Brownian dynamics under PLUMED's bias (A, kcal/mol, fs in and out); returns final positions."""
    plumed = plumed_module()
    engine = plumed.Plumed()
    natoms = data.natoms
    engine.cmd("setMDEngine", "python")
    engine.cmd("setNatoms", natoms)
    engine.cmd("setMDLengthUnits", 0.1)                 # nm per A
    engine.cmd("setMDEnergyUnits", KJMOL_PER_KCALMOL)   # kJ/mol per kcal/mol
    engine.cmd("setMDTimeUnits", 0.001)                 # ps per fs
    engine.cmd("setTimestep", 1.0)
    engine.cmd("setKbT", kbt(300.0, "kcal/mol"))
    engine.cmd("setLogFile", "plumed.log")
    Path("plumed.dat").write_text(text)
    engine.cmd("setPlumedDat", "plumed.dat")
    engine.cmd("init")
    rng = np.random.default_rng(seed)
    x = np.array(data.positions if positions is None else positions, dtype=np.float64)
    masses = np.array([data.masses[int(t)] for t in data.types], dtype=np.float64)
    charges = np.zeros(natoms)
    box = np.diag([BOX_A] * 3).astype(np.float64)
    beta, mobility = 1.0 / kbt(300.0, "kcal/mol"), 0.01   # A^2/fs / (kcal/mol) scale, toy
    for step in range(first_step, first_step + steps):
        forces = np.zeros((natoms, 3))
        virial = np.zeros((3, 3))
        engine.cmd("setStep", step)
        engine.cmd("setBox", box)
        engine.cmd("setMasses", masses)
        engine.cmd("setCharges", charges)
        engine.cmd("setPositions", x)
        engine.cmd("setForces", forces)
        engine.cmd("setVirial", virial)
        engine.cmd("calc")
        x = x + mobility * forces + np.sqrt(2 * mobility / beta) * rng.normal(size=x.shape)
        x %= BOX_A
    engine.finalize()
    return x


def columns(path: Path) -> list[str]:
    return path.read_text().splitlines()[0].split()[2:]


def rows(path: Path) -> np.ndarray:
    return np.array([[float(v) for v in line.split()] for line in path.read_text().splitlines()
                     if line and not line.startswith("#")])


WTMETAD = {"protocol": "wtmetad", "args": ["cn_agag", "nsolv"], "pace": 10, "height": 0.5,
           "sigma": [0.05, 0.1], "biasfactor": 10, "grid": "auto"}


def test_wtmetad_runs_and_restarts(toy, tmp_path, monkeypatch):
    data, groups = toy
    monkeypatch.chdir(tmp_path)
    x = run_toy(render_plumed(config(WTMETAD), groups, data, temperature_K=300), data, 300, seed=1)
    assert columns(tmp_path / "HILLS") == ["time", "cn_agag", "nsolv", "sigma_cn_agag", "sigma_nsolv", "height", "biasf"]
    hills = rows(tmp_path / "HILLS")
    assert len(hills) == 29                                      # steps 10, 20, ..., 290
    # PLUMED writes well-tempered heights times biasfactor/(biasfactor - 1); the first hill sees no bias
    assert hills[0, 5] == pytest.approx(0.5 * 10 / 9, rel=1e-9)
    assert hills[-1, 5] < hills[0, 5]                              # well-tempered: heights decay
    colvar_columns = columns(tmp_path / "COLVAR")
    for name in ("time", "cn_agag", "nsolv", "metad.bias", "metad.rbias", "metad.rct"):
        assert name in colvar_columns
    first = rows(tmp_path / "COLVAR")
    assert len(first) == 30
    rct = first[:, colvar_columns.index("metad.rct")]
    assert rct[0] == 0.0 and rct[-1] > 0.0                        # c(t) grows as the bias fills in
    last_bias = first[-1, colvar_columns.index("metad.bias")]

    text = render_plumed(config(WTMETAD), groups, data, temperature_K=300, restart=True)
    assert text.splitlines()[[i for i, line in enumerate(text.splitlines()) if line.startswith("UNITS")][0] + 2] == "RESTART"
    run_toy(text, data, 100, seed=2, first_step=300, positions=x)
    assert not [p for p in tmp_path.glob("bck.*") if "COLVAR" in p.name or "HILLS" in p.name]  # appended
    assert len(rows(tmp_path / "HILLS")) == 29 + 9    # 310, ..., 390: no hill on a run's first step
    both = rows(tmp_path / "COLVAR")
    assert len(both) == 40
    resumed_bias = both[30, colvar_columns.index("metad.bias")]
    assert resumed_bias > 0.0 and last_bias > 0.0                  # the old hills are re-read
    assert both[30, 0] == pytest.approx(300 * 1.0)                # time continues (fs)


@pytest.mark.parametrize("protocol", ["opes", "opes_explore"])
def test_opes_runs_and_restarts(toy, tmp_path, monkeypatch, protocol):
    data, groups = toy
    monkeypatch.chdir(tmp_path)
    bias = {"protocol": protocol, "args": ["cn_agag", "nsolv"], "pace": 10, "barrier": 5.0, "sigma": [0.05, 0.1]}
    x = run_toy(render_plumed(config(bias), groups, data, temperature_K=300), data, 300, seed=3)
    kernel_columns = columns(tmp_path / "KERNELS")
    assert kernel_columns[:3] == ["time", "cn_agag", "nsolv"]
    assert {"sigma_cn_agag", "sigma_nsolv", "height", "logweight"} <= set(kernel_columns)
    assert len(rows(tmp_path / "KERNELS")) == 29
    colvar_columns = columns(tmp_path / "COLVAR")
    for name in ("opes.bias", "opes.rct", "opes.zed", "opes.neff", "opes.nker"):
        assert name in colvar_columns
    first = rows(tmp_path / "COLVAR")
    run_toy(render_plumed(config(bias), groups, data, temperature_K=300, restart=True), data, 50, seed=4,
            first_step=300, positions=x)
    assert not [p for p in tmp_path.glob("bck.*") if "COLVAR" in p.name or "KERNELS" in p.name]
    assert len(rows(tmp_path / "KERNELS")) == 29 + 4  # 310, ..., 340
    both = rows(tmp_path / "COLVAR")
    assert len(both) == len(first) + 5
    nker = colvar_columns.index("opes.nker")
    # the kernels are re-read: a fresh (non-restarted) OPES would report 0 kernels here
    assert both[len(first), nker] >= first[-1, nker] > 0


def test_unbiased_prints_only(toy, tmp_path, monkeypatch):
    data, groups = toy
    monkeypatch.chdir(tmp_path)
    text = render_plumed(config({"protocol": "unbiased"}), groups, data, temperature_K=300)
    assert "METAD" not in text and "OPES" not in text
    run_toy(text, data, 20, seed=5)
    assert columns(tmp_path / "COLVAR") == ["time", "cn_agag", "nsolv"]
    assert not (tmp_path / "HILLS").exists()


def test_temp_is_always_written(toy):
    data, groups = toy
    for bias in (WTMETAD, {"protocol": "opes", "args": ["nsolv"], "pace": 5, "barrier": 3, "sigma": "adaptive"}):
        text = render_plumed(config(bias), groups, data, temperature_K=312.5)
        assert "TEMP=312.5" in text


def test_walkers_share_hills_through_files(toy):
    data, groups = toy
    bias = dict(WTMETAD, walkers={"n": 3, "id": 2, "dir": "../shared", "rstride": 50})
    text = render_plumed(config(bias), groups, data, temperature_K=300)
    assert "WALKERS_N=3 WALKERS_ID=2 WALKERS_DIR=../shared WALKERS_RSTRIDE=50" in text
    with pytest.raises(NucleateError, match="WALKERS_MPI"):
        render_plumed(config({"protocol": "opes", "args": ["nsolv"], "pace": 5, "barrier": 3, "sigma": [0.1],
                              "walkers": {"n": 2}}), groups, data, temperature_K=300)


def test_auto_grid_covers_range_and_walls(toy):
    data, groups = toy
    text = render_plumed(config(WTMETAD), groups, data, temperature_K=300)
    # cn_agag: one pair -> [0, 1]; nsolv: range [0, 6]; padded by 5 sigma + 10 %
    assert "GRID_MIN=-0.35,-1.1 GRID_MAX=1.35,7.1 GRID_BIN=136,328" in text
