"""Trajectory analysis against independent references: known geometry, PLUMED's driver, hand-made frames."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from synthetic_trajectory import TYPE_MAP, cluster, octahedron, write_data, write_dump, write_synthetic_run

from nucleate.analysis.switching import RationalSwitch
from nucleate.analysis.trajectory import coordination_series, nuclei, structure_kde
from nucleate.analysis.trajectory.clusters import is_octahedron
from nucleate.analysis.trajectory.io import Run, RunFiles
from nucleate.cli import main
from nucleate.systems.groups import Groups

DATA = Path(__file__).parent / "data" / "traj"


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    # The cluster straddles the box corner, so every bond crosses a periodic boundary somewhere.
    return write_synthetic_run(tmp_path_factory.mktemp("synthetic"), n_frames=40, n_solvent=10,
                               noise=0.03, shift=(0.4, 19.7, 0.3), seed=7)


def _expected_angles(label: str, cutoffs: dict) -> np.ndarray:
    """Angles of the noiseless model cluster by brute force (no periodic images: it sits at the origin)."""
    positions, types = cluster()
    names = np.array(TYPE_MAP)[types - 1]
    a, v, c = label.split("-")
    values = []
    for i in np.flatnonzero(names == v):
        for j in np.flatnonzero(names == a):
            for k in np.flatnonzero(names == c):
                if len({i, j, k}) < 3 or (a == c and j > k):
                    continue
                u, w = positions[j] - positions[i], positions[k] - positions[i]
                if np.linalg.norm(u) < cutoffs[frozenset((a, v))] and np.linalg.norm(w) < cutoffs[frozenset((c, v))]:
                    values.append(np.degrees(np.arccos(u @ w / np.linalg.norm(u) / np.linalg.norm(w))))
    return np.unique(np.round(values, 3))


def test_kde_maxima_recover_the_known_geometry(synthetic_run):
    run = Run(RunFiles.locate(synthetic_run))
    angles = ["Ag-Ag-Ag", "S-Ag-S", "N-Ag-Ag", "N-Ag-S"]
    bandwidths = {label: 1.0 for label in angles}     # degrees: resolves modes > ~4 degrees apart
    results = structure_kde(run, ["Ag-Ag", "Ag-S", "Ag-N"], angles, bandwidths=bandwidths)
    for label, expected in (("Ag-Ag", 2.97), ("Ag-S", 2.54), ("Ag-N", 2.28)):
        assert len(results[label].maxima) == 1
        assert results[label].maxima[0] == pytest.approx(expected, abs=0.015), label
    assert results["Ag-Ag"].n_samples == 40 * 12          # 12 octahedron edges, none across a diagonal
    assert results["Ag-S"].n_samples == 40 * 12 and results["Ag-N"].n_samples == 40 * 6
    cutoffs = {frozenset(("Ag",)): 3.5, frozenset(("Ag", "S")): 3.0, frozenset(("Ag", "N")): 2.8}
    for label in angles:
        expected = _expected_angles(label, cutoffs)
        interior = expected[expected < 175.0]             # a mode at 180 degrees is pushed below it by noise
        found = np.array(results[label].maxima)
        assert len(found) == len(expected), (label, found, expected)
        np.testing.assert_allclose(np.sort(found)[:len(interior)], interior, atol=1.0, err_msg=label)
    assert _expected_angles("Ag-Ag-Ag", cutoffs).tolist() == [60.0, 90.0]
    assert results["Ag-Ag-Ag"].n_samples == 40 * 6 * 6    # per vertex: 4 pairs at 60 degrees + 2 at 90


def _nuclei_frames(tmp_path: Path):
    """Hand-built frames in a 30 A box (8 Ag): the counts each frame must give are listed alongside."""
    far = np.array([[25.0, 25.0, 25.0], [25.0, 5.0, 25.0]])                # two lone Ag
    perfect = octahedron(2.97, centre=(10.0, 10.0, 10.0))
    stretched_vertex = perfect.copy()
    stretched_vertex[0] += [1.2, 0.0, 0.0]                                  # one Ag pulled off: 4 contacts lost
    pyramid = np.vstack([perfect[:5], [[18.0, 18.0, 18.0]]])                # five of six vertices
    plus_one = perfect.copy()
    extra = np.array([[10.0 + 2.1 + 2.9, 10.0, 10.0]])                     # a 7th Ag touching a vertex
    wrapped = octahedron(2.97, centre=(0.5, 29.8, 0.2))                     # perfect, across the corner
    squashed = perfect.copy()
    squashed[4:] = [[10.0, 10.0, 11.0], [10.0, 10.0, 9.0]]                  # apexes 2 A apart: they touch
    frames = [
        (np.vstack([perfect, far]), 1, 6),
        (np.vstack([stretched_vertex, far]), 0, 5),
        (np.vstack([pyramid, far]), 0, 5),
        (np.vstack([plus_one, extra, far[:1]]), 0, 7),
        (np.vstack([wrapped, far]), 1, 6),
        (np.vstack([squashed, far]), 0, 6),
    ]
    types = np.ones(8, dtype=int)
    write_data(tmp_path / "system.data", frames[0][0], types, 30.0)
    write_dump(tmp_path / "traj.lammpstrj", [f[0] for f in frames], types, 30.0)
    Groups.from_types(types, TYPE_MAP).write(tmp_path / "groups.json")
    return frames


def test_nuclei_counts_only_complete_octahedra(tmp_path):
    frames = _nuclei_frames(tmp_path)
    results = nuclei(Run(RunFiles.locate(tmp_path)), "Ag", cutoff=3.5)
    assert results.n_octahedra.tolist() == [f[1] for f in frames]
    assert results.largest.tolist() == [f[2] for f in frames]
    assert results.sizes[0].tolist() == [6, 1, 1]
    assert results.octahedra[0] == [[1, 2, 3, 4, 5, 6]] and results.octahedra[4] == [[1, 2, 3, 4, 5, 6]]
    assert results.n_clusters[0] == 1 and results.n_clusters[3] == 1


def test_octahedron_diagonal_tolerance():
    regular = octahedron(2.97)
    d = np.linalg.norm(regular[:, None] - regular[None], axis=-1)
    assert is_octahedron(d, 3.5)
    # Elongate along z within the contact cutoff: diagonals 4.80 (z) vs 4.20 A, mean edge 3.12 A.
    elongated = regular.copy()
    elongated[4:, 2] *= 1.143
    d = np.linalg.norm(elongated[:, None] - elongated[None], axis=-1)
    assert d[4, 5] > 4.7 and np.all(d[np.triu(d < 3.5, 1)] < 3.5)
    assert is_octahedron(d, 3.5, diagonal_tolerance=0.2)
    assert not is_octahedron(d, 3.5, diagonal_tolerance=0.05)


def _plumed_series(tmp_path: Path, lines: list[str], labels: list[str]) -> np.ndarray:
    """PLUMED driver on the tiny fixture, converted to xyz frames (box on each comment line)."""
    from nucleate.runtime import plumed_cli

    run = Run(RunFiles.locate(data=DATA / "tiny.data", traj=DATA / "tiny.lammpstrj", groups=DATA / "tiny_groups.json"))
    with (tmp_path / "tiny.xyz").open("w") as handle:
        for ts in run.universe.trajectory:
            handle.write(f"{run.universe.atoms.n_atoms}\n{ts.dimensions[0]} {ts.dimensions[1]} {ts.dimensions[2]}\n")
            for x, y, z in run.universe.atoms.positions.astype(float):
                handle.write(f"X {x:.6f} {y:.6f} {z:.6f}\n")
    (tmp_path / "plumed.dat").write_text("\n".join(["UNITS LENGTH=A", *lines, f"PRINT ARG={','.join(labels)} FILE=cv FMT=%.10f", ""]))
    cmd, env = plumed_cli()
    done = subprocess.run(cmd + ["driver", "--ixyz", "tiny.xyz", "--plumed", "plumed.dat", "--length-units", "A"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return np.loadtxt(tmp_path / "cv", comments="#")[:, 1:]


def test_coordination_series_on_a_hand_made_dump_matches_plumed(tmp_path):
    lines = ["ag: GROUP ATOMS=1-4", "o: GROUP ATOMS=5-8", "c: CENTER ATOMS=1-4", "p: FIXEDATOM AT=1.0,11.5,0.5",
             "agag: COORDINATION GROUPA=ag R_0=3.25 NN=6 MM=8",
             "ago: COORDINATION GROUPA=ag GROUPB=o R_0=3.0 NN=6 MM=10 D_0=0.2",
             "oc: COORDINATION GROUPA=c GROUPB=o R_0=3.0 NN=6 MM=10",
             "agp: COORDINATION GROUPA=p GROUPB=ag R_0=2.0 NN=6 MM=10"]
    reference = _plumed_series(tmp_path, lines, ["agag", "ago", "oc", "agp"])
    run = Run(RunFiles.locate(data=DATA / "tiny.data", traj=DATA / "tiny.lammpstrj", groups=DATA / "tiny_groups.json"))
    ours = np.column_stack([
        coordination_series(run, "Ag", RationalSwitch(3.25, 6, 8)).cn,
        coordination_series(run, "Ag", RationalSwitch(3.0, 6, 10, d0=0.2), partner="O").cn,
        coordination_series(run, "O", RationalSwitch(3.0, 6, 10), point="group:Ag").cn,   # Ag masses equal: COM = CENTER
        coordination_series(run, "Ag", RationalSwitch(2.0, 6, 10), point="1.0,11.5,0.5").cn,
    ])
    # Positions pass through MDAnalysis as float32 (~1e-6 A), hence 1e-5 rather than 1e-9.
    np.testing.assert_allclose(ours, reference, atol=1e-5, rtol=1e-6)
    # MDAnalysis's own dump reader (the fallback of the in-memory parser) gives the same frames.
    streamed = Run(run.files, in_memory=False)
    np.testing.assert_allclose(coordination_series(streamed, "O", RationalSwitch(3.0, 6, 10), point="group:Ag").cn,
                               ours[:, 2], rtol=1e-12)
    assert coordination_series(run, "Ag", RationalSwitch(3.25, 6, 8)).steps.tolist() == [0, 100, 200]
    assert reference[:, 0].min() > 0.5 and np.ptp(reference[:, 2]) > 0.1   # bonds across the corner; CN moves


def test_cli_writes_tables_and_figures(synthetic_run, tmp_path, capsys):
    out = tmp_path / "kde"
    assert main(["kde", str(synthetic_run), "--pairs", "Ag-Ag,Ag-S", "--angles", "Ag-Ag-Ag", "--stop", "10", "-o", str(out)]) == 0
    table = json.loads((out / "kde_maxima.json").read_text())["quantities"]
    assert table["Ag-Ag"]["maxima"][0] == pytest.approx(2.97, abs=0.03)
    assert (out / "kde.png").stat().st_size > 0 and (out / "kde.svg").stat().st_size > 0
    assert main(["cn", str(synthetic_run), "--within", "Ag", "--r0", "3.25", "--mm", "8", "-o", str(tmp_path / "cn" / "agag")]) == 0
    rows = (tmp_path / "cn" / "agag.csv").read_text().splitlines()
    assert rows[0] == "step,time_ps,cn" and len(rows) == 41
    assert rows[2].startswith("100,0.05,")                        # 0.5 fs x 100 steps from the manifest
    assert main(["nuclei", str(synthetic_run), "-o", str(tmp_path / "nuc")]) == 0
    assert "up to 1 complete octahedra" in capsys.readouterr().out


def test_kde_reference_lines_are_asked_for_by_study_name():
    """The generic `nucleate kde` draws no study's numbers unless asked; `--reference ag6` asks the study."""
    from nucleate.analysis.trajectory.cli import _references
    from nucleate.errors import NucleateError
    from nucleate.studies.ag6.published import STUDY_KDE_MAXIMA

    assert _references(None) is None and _references("none") is None
    assert _references("ag6") is STUDY_KDE_MAXIMA
    with pytest.raises(NucleateError, match="no such file and no study of that name"):
        _references("nosuchstudy")


@pytest.mark.parametrize("case, message", [
    ("missing", "does not exist"),
    ("unknown_group", "unknown atom group 'Au'.*available groups: Ag, O, solvent_O, all"),
    ("empty", "is empty"),
    ("mismatch", "frame 1 \\(step 100\\) says 7 atoms, but the data file has 8"),
    ("truncated", "frame 2 \\(step 200\\) has 5 atom lines for 8 atoms"),
])
def test_bad_input_is_a_clear_error(tmp_path, capsys, case, message):
    traj = tmp_path / "traj.lammpstrj"
    text = (DATA / "tiny.lammpstrj").read_text()
    args = ["nuclei", "--data", str(DATA / "tiny.data"), "--traj", str(traj), "--groups", str(DATA / "tiny_groups.json"), "-o", str(tmp_path / "o")]
    if case == "missing":
        args[4] = str(tmp_path / "nope.lammpstrj")
    elif case == "unknown_group":
        traj.write_text(text)
        args += ["--group", "Au"]
    elif case == "empty":
        traj.write_text("")
    elif case == "mismatch":
        frames = text.split("ITEM: TIMESTEP\n")
        frames[2] = frames[2].replace("ITEM: NUMBER OF ATOMS\n8", "ITEM: NUMBER OF ATOMS\n7").rsplit("8 6", 1)[0]
        traj.write_text("ITEM: TIMESTEP\n".join(frames))
    elif case == "truncated":
        traj.write_text("\n".join(text.splitlines()[:-3]) + "\n")
    assert main(args) == 2
    import re
    assert re.search(message, capsys.readouterr().err)
