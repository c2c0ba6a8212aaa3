"""Smoke run of every stage of `nucleate model build-ag6 --scale smoke` (a handful of frames, tiny training).

One module-scoped run (sample, label, train round 0, explore with the committee, label, train the final
model, test) shared by the checks below; it takes about a minute and a half on 2 cores.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

pytest.importorskip("tblite")

from nucleate.studies.ag6.training.frames import FrameSet, Labels
from nucleate.studies.ag6.training.recipe import SMOKE


def _cli(argv: list[str]) -> int:
    from nucleate.studies.ag6.training import cli

    parser = argparse.ArgumentParser(prog="nucleate")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    work = tmp_path_factory.mktemp("ag6-smoke")
    out = work / "out"
    assert _cli(["model", "build-ag6", "-o", str(work / "w"), "--scale", "smoke", "--output", str(out)]) == 0
    return work / "w", out


def test_every_stage_wrote_its_outputs(smoke):
    work, out = smoke
    for kind in SMOKE.kinds:
        assert (work / "round_000" / "frames" / f"{kind}.npz").is_file()
        assert (work / "round_000" / "data" / kind / "nopbc").is_file()
        assert (work / "test" / "labels" / f"{kind}.npz").is_file()
    assert all((work / "round_000" / "models" / f"m{k}" / "model.pb").is_file() for k in range(SMOKE.committee))
    thermal = FrameSet.load(work / "round_000" / "frames" / "AgL_thermal.npz")
    assert len(thermal) == SMOKE.thermal_frames and "Langevin MD" in thermal.origins[0]
    distorted = FrameSet.load(work / "round_000" / "frames" / "methanol_distorted.npz")
    assert len(distorted) == SMOKE.distorted_frames
    assert "moved" in distorted.origins[0] or "pushed" in distorted.origins[0]
    assert not (work / "round_000" / "frames" / "AgL_vacuum_distorted.npz").exists()
    explored = FrameSet.load(work / "round_001" / "frames" / "AgL.npz")
    assert "committee MD" in explored.origins[0] and explored.natoms == 78
    assert (out / "model.pb").stat().st_size > 10_000
    assert (out / "model.pb").read_bytes() == (work / "final" / "model_compressed.pb").read_bytes()
    card = (out / "MODEL_CARD.md").read_text()
    assert "GFN2-xTB" in card and "| AgL |" in card


def test_labels_reproduce_an_independent_xtb_call(smoke):
    from nucleate.models.xtb import xtb_label

    work, _ = smoke
    frames = FrameSet.load(work / "round_000" / "frames" / "AgL_vacuum.npz")
    labels = Labels.load(work / "round_000" / "labels" / "AgL_vacuum.npz")
    again = xtb_label(frames.elements, frames.positions[1])
    assert labels.energies_ev[1] == pytest.approx(again.energy_ev, abs=1e-6)
    np.testing.assert_allclose(labels.forces_ev_per_angstrom[1], again.forces_ev_per_angstrom, atol=1e-6)
    stored = np.load(work / "round_000" / "data" / "AgL_vacuum" / "set.000" / "force.npy")
    np.testing.assert_allclose(stored.reshape(-1, 6, 3), labels.forces_ev_per_angstrom[labels.ok], atol=0)


def test_metrics_hold_per_kind_errors_and_stability(smoke):
    _, out = smoke
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["held_out"]) == set(SMOKE.kinds)
    for row in metrics["held_out"].values():
        assert row["frames"] == SMOKE.test_frames
        assert 0 < row["force_rmse_mev_per_angstrom"] < 1e6
    for box in ("monomer_dimer", "ag6l6_methanol"):
        assert metrics["stability"][box]["frames"] >= 2
    # the shipped (compressed) model reproduces the plain frozen one
    assert 0 <= metrics["compression_max_force_difference_ev_per_angstrom"] < 1e-3


def test_stages_resume_without_redoing_work(smoke, capsys):
    work, out = smoke
    frames = work / "round_000" / "frames" / "AgL.npz"
    labels = work / "round_000" / "labels" / "AgL.npz"
    before = (frames.stat().st_mtime_ns, labels.stat().st_mtime_ns, (out / "model.pb").read_bytes())
    assert _cli(["model", "build-ag6", "-o", str(work), "--scale", "smoke", "--output", str(out)]) == 0
    assert (frames.stat().st_mtime_ns, labels.stat().st_mtime_ns, (out / "model.pb").read_bytes()) == before
    assert "label" not in capsys.readouterr().err.replace("label cp2k", "")


def test_work_folder_keeps_its_scale_and_seed(smoke):
    from nucleate.errors import NucleateError

    work, _ = smoke
    with pytest.raises(NucleateError, match="seed 0"):
        _cli(["model", "build-ag6", "-o", str(work), "--scale", "smoke", "--seed", "5", "--stage", "sample"])
