"""The numpy switching function and coordination sums against PLUMED 2.11's own COORDINATION.

References come from `plumed driver` (the bundled command-line tool) on the study's own
configurations and on two-atom distance scans; lengths in A throughout (UNITS LENGTH=A and
--length-units A).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from nucleate.analysis.switching import (RationalSwitch, coordination, coordination_around_point,
                                         coordination_within)
from nucleate.geometry import center_of_mass, minimum_image
from nucleate.errors import NucleateError
from nucleate.systems.lammps_data import read_data

REFERENCE = Path(__file__).resolve().parent / "data" / "ag6_paper_inputs"  # vendored: the study's own inputs
TOL = dict(rel=1e-9, abs=1e-6)


def _write_xyz(path: Path, frames) -> None:
    with path.open("w") as handle:
        for positions in frames:
            handle.write(f"{len(positions)}\n\n")
            for x, y, z in positions:
                handle.write(f"X {x:.12f} {y:.12f} {z:.12f}\n")


def plumed_values(tmp_path: Path, frames, lines: list[str], labels: list[str], box=None) -> np.ndarray:
    """Run `plumed driver` on xyz frames (A) with the given action lines; returns (n_frames, len(labels))."""
    from nucleate.runtime import plumed_cli

    _write_xyz(tmp_path / "conf.xyz", frames)
    (tmp_path / "plumed.dat").write_text("\n".join(["UNITS LENGTH=A", *lines,
                                                    f"PRINT ARG={','.join(labels)} FILE=out.dat FMT=%.14f", ""]))
    cmd, env = plumed_cli()
    args = cmd + ["driver", "--ixyz", "conf.xyz", "--plumed", "plumed.dat", "--length-units", "A"]
    if box is not None:
        args += ["--box", ",".join(f"{v:.12f}" for v in np.ravel(box))]
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return np.atleast_2d(np.loadtxt(tmp_path / "out.dat", comments="#"))[:, 1:]


# --- the function itself, on a two-atom distance scan -------------------------------------------

SWITCHES = {
    # label: (PLUMED COORDINATION keywords, the same function in Python)
    "agag": ("R_0=3.25 NN=6 MM=8", RationalSwitch(3.25, 6, 8)),              # study s1 (Ag-Ag, Ag-N)
    "solv": ("R_0=2.0 NN=6 MM=10", RationalSwitch(2.0, 6, 10)),              # study s2 (solvent O)
    "dflt": ("R_0=3.0", RationalSwitch(3.0)),                                # NN=6, MM=2*NN
    "dzero": ("R_0=1.5 NN=6 MM=8 D_0=2.0", RationalSwitch(1.5, 6, 8, d0=2.0)),
    "odd": ("R_0=2.5 NN=5 MM=9", RationalSwitch(2.5, 5, 9)),
    "sw": ("SWITCH={RATIONAL R_0=2.0 NN=6 MM=12}", RationalSwitch.from_plumed("{RATIONAL R_0=2.0 NN=6 MM=12}")),
    "swmax": ("SWITCH={RATIONAL R_0=2.0 NN=4 MM=8 D_MAX=4.5}", RationalSwitch.from_plumed("RATIONAL R_0=2.0 NN=4 MM=8 D_MAX=4.5")),
    "swd0": ("SWITCH={RATIONAL R_0=1.0 D_0=1.5 NN=6 MM=10 D_MAX=5.0}",
             RationalSwitch.from_plumed("RATIONAL R_0=1.0 D_0=1.5 NN=6 MM=10 D_MAX=5.0")),
    "nostr": ("SWITCH={RATIONAL R_0=2.0 NN=6 MM=8 D_MAX=3.5 NOSTRETCH}",
              RationalSwitch.from_plumed("RATIONAL R_0=2.0 NN=6 MM=8 D_MAX=3.5 NOSTRETCH")),
}


def test_switching_function_matches_plumed_on_a_distance_scan(tmp_path):
    # Through the switch region, exactly at r = d0 + r0 (the n/m limit), and across D_MAX.  Not exactly
    # at the NOSTRETCH D_MAX=3.5, where s jumps and PLUMED's A->nm->A rounding decides the side.
    distances = np.unique(np.concatenate([np.linspace(0.05, 12.0, 121), [1.5, 2.0, 2.5, 3.0, 3.25, 4.5, 5.0],
                                          [3.4999, 3.5001, 4.4999, 4.5001, 4.9999, 5.0001]]))
    frames = [np.array([[0.0, 0.0, 0.0], [r, 0.0, 0.0]]) for r in distances]
    lines = [f"{label}: COORDINATION GROUPA=1 GROUPB=2 {keywords}" for label, (keywords, _) in SWITCHES.items()]
    reference = plumed_values(tmp_path, frames, lines, list(SWITCHES), box=[1000.0] * 3)  # no image within reach
    for column, (label, (_, switch)) in enumerate(SWITCHES.items()):
        np.testing.assert_allclose(switch(distances), reference[:, column], rtol=1e-9, atol=1e-9, err_msg=label)


def test_plumed_defaults_cut_and_stretch():
    s = RationalSwitch(3.25, 6, 8)
    # R_0 syntax: d_max where x^(n-m) = 1e-5, so x = 1e-5^(-1/2) ~ 316; stretched to 0 there.
    assert s.d_max == pytest.approx(3.25 * 1e-5 ** (1 / (6 - 8)))
    assert s.stretch_factor == pytest.approx(1 / (1 - (1 - 316.227766**6) / (1 - 316.227766**8)), rel=1e-9)
    assert float(s(s.d_max)) == pytest.approx(0.0, abs=1e-15)
    assert float(s(s.d_max * 1.001)) == 0.0
    assert float(s(0.0)) == pytest.approx(1.0)
    assert float(s(3.25)) == pytest.approx(6 / 8 * s.stretch_factor + s.shift)        # the n/m limit
    assert RationalSwitch(2.0, 5).mm == 10                                            # MM=0 -> 2*NN
    unstretched = RationalSwitch(2.0, 6, 12, d_max=None)
    assert float(unstretched(2.0)) == pytest.approx(0.5) and unstretched.cutoff == np.inf
    assert float(RationalSwitch(1.0, 6, 8, d0=2.0)(1.9)) == pytest.approx(1.0)        # r < d0
    with pytest.raises(NucleateError, match="NN = MM"):
        RationalSwitch(1.0, 6, 6)
    with pytest.raises(NucleateError, match="only RATIONAL"):
        RationalSwitch.from_plumed("EXP R_0=1")


# --- coordination numbers on the study's configurations ------------------------------------------

def test_study_coordination_numbers_match_plumed_orthorhombic(tmp_path):
    """monomer_dimer/plumed.dat's own s1 and s2 terms on its conf.lmp (20 A cubic box)."""
    data = read_data(REFERENCE / "monomer_dimer" / "conf.lmp")
    p = data.positions
    c_box = [11.075, 10.526, 10.622]
    osol = p[16::6]                                           # ids 17-732:6
    lines = ["c_box: FIXEDATOM AT=11.075,10.526,10.622", "Osol: GROUP ATOMS=17-732:6",
             "cn_ag_ag: COORDINATION GROUPA=1 GROUPB=2 R_0=3.25 NN=6 MM=8",
             "cn_ag_n1: COORDINATION GROUPA=1 GROUPB=6 R_0=3.25 NN=6 MM=8",
             "cn: COORDINATION GROUPA=c_box GROUPB=Osol R_0=2.0 NN=6 MM=10",
             "oo: COORDINATION GROUPA=Osol R_0=4.0 NN=6 MM=8",
             "ocross: COORDINATION GROUPA=1-40 GROUPB=17-732:6 R_0=3.0 D_0=0.5 NN=8 MM=14",
             "c: CENTER ATOMS=1,2", "ccn: COORDINATION GROUPA=c GROUPB=Osol R_0=3.0 NN=6 MM=10",
             "tail: COORDINATION GROUPA=Osol SWITCH={RATIONAL R_0=4.0 D_MAX=9.0}"]
    labels = ["cn_ag_ag", "cn_ag_n1", "cn", "oo", "ocross", "ccn", "tail"]
    reference = plumed_values(tmp_path, [p], lines, labels, box=data.lengths)[0]
    box = data.lengths
    ours = [
        coordination(p[[0]], p[[1]], RationalSwitch(3.25, 6, 8), box),
        coordination(p[[0]], p[[5]], RationalSwitch(3.25, 6, 8), box),
        coordination_around_point(c_box, osol, RationalSwitch(2.0, 6, 10), box),
        coordination_within(osol, RationalSwitch(4.0, 6, 8), box),
        coordination(p[:40], osol, RationalSwitch(3.0, 8, 14, d0=0.5), box,
                     ids_a=np.arange(1, 41), ids_b=np.arange(17, 733, 6)),   # overlapping groups: self-pairs skipped
        coordination_around_point(center_of_mass(p[:2], [107.8682, 107.8682], box), osol, RationalSwitch(3.0, 6, 10), box),
        coordination_within(osol, RationalSwitch.from_plumed("RATIONAL R_0=4.0 D_MAX=9.0"), box),
    ]
    for label, value, expected in zip(labels, ours, reference):
        assert value == pytest.approx(expected, **TOL), label
    assert reference[3] > 100 and reference[6] > 100      # sums over many pairs, PBC matters


def test_study_coordination_numbers_match_plumed_triclinic(tmp_path):
    """dimer_octahedral's Ag/S/N/solvent groups in a skewed cell: minimum image must match PLUMED's."""
    data = read_data(REFERENCE / "dimer_octahedral" / "conf.lmp")
    cell = np.array([[20.0, 0.0, 0.0], [6.0, 19.0, 0.0], [-5.0, 4.0, 18.0]])
    rng = np.random.default_rng(3)
    # Keep the solute geometry, scatter everything through the skewed cell by lattice shifts.
    p = data.positions + rng.integers(-1, 2, size=(data.natoms, 3)) @ cell
    ag = p[[0, 1, 2, 11, 12, 13]]
    osol = p[40::6]                                            # ids 41-726:6
    lines = ["AG: GROUP ATOMS=1-3,12-14", "O_S: GROUP ATOMS=41-726:6",
             "c: CENTER ATOMS=1-3,12-14", "c_box: FIXEDATOM AT=10.63933,9.75917,9.83800",
             "agag: COORDINATION GROUPA=AG R_0=3.25 NN=6 MM=8",
             "ags: COORDINATION GROUPA=16 GROUPB=14 R_0=3.25 NN=6 MM=8",
             "agbox: COORDINATION GROUPA=AG GROUPB=c_box R_0=3.0 NN=6 MM=8",
             "cn: COORDINATION GROUPA=c_box GROUPB=O_S R_0=3.0 NN=6 MM=10",
             "oc: COORDINATION GROUPA=c GROUPB=O_S R_0=3.0 NN=6 MM=10",
             "oo: COORDINATION GROUPA=O_S R_0=3.5 NN=6 MM=12 D_0=0.3"]
    labels = ["agag", "ags", "agbox", "cn", "oc", "oo"]
    reference = plumed_values(tmp_path, [p], lines, labels, box=cell)[0]
    c_box = [10.63933, 9.75917, 9.83800]
    ours = [
        coordination_within(ag, RationalSwitch(3.25, 6, 8), cell),
        coordination(p[[15]], p[[13]], RationalSwitch(3.25, 6, 8), cell),
        coordination_around_point(c_box, ag, RationalSwitch(3.0, 6, 8), cell),
        coordination_around_point(c_box, osol, RationalSwitch(3.0, 6, 10), cell),
        coordination_around_point(center_of_mass(ag, np.full(6, 107.8682), cell), osol, RationalSwitch(3.0, 6, 10), cell),
        coordination_within(osol, RationalSwitch(3.5, 6, 12, d0=0.3), cell),
    ]
    for label, value, expected in zip(labels, ours, reference):
        assert value == pytest.approx(expected, **TOL), label
    assert reference[0] > 1.0                                  # the Ag atoms really are bonded across shifts


def test_triclinic_minimum_image_is_the_shortest_image():
    cell = np.array([[10.0, 0.0, 0.0], [4.9, 10.0, 0.0], [-4.5, 4.0, 10.0]])
    rng = np.random.default_rng(1)
    vectors = rng.uniform(-25, 25, size=(300, 3))
    shifts = np.array([[i, j, k] for i in range(-7, 8) for j in range(-7, 8) for k in range(-7, 8)]) @ cell
    brute = np.min(np.linalg.norm(vectors[:, None, :] + shifts[None], axis=-1), axis=1)
    np.testing.assert_allclose(np.linalg.norm(minimum_image(vectors, cell), axis=1), brute, rtol=1e-12)
