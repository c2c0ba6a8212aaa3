"""Study boxes start inside their walls (issue 18), checked by PLUMED's own driver.

`nucleate build` places the solutes of a preset with `plumed_preset` inside that preset's walls and
restraint (systems.wall_fit). The check is independent of the fit and of the cmd-API evaluator it
uses: the box's full preset input (as `nucleate cvs show` renders it, with a PRINT of every wall's
`.bias`) is run through `plumed driver` on the written system.data, and the wall + restraint biases
of step 0 are summed. Also here: the evaluator against the driver on a box outside its walls, its
forces against finite differences, rigid molecules, the build report and `nucleate run`'s warning.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nucleate.plumed_cvs import render_plumed
from nucleate.plumed_cvs.static_bias import StaticBias, start_bias
from nucleate.runtime import plumed_cli
from nucleate.systems import Groups, build, read_data
from nucleate.systems.elements import mass
from nucleate.units import kbt

TYPE_MAP = ["Ag", "S", "N", "C", "H", "O"]
KT_300 = kbt(300.0, "kcal/mol")  # the presets' energy unit
# seeds whose fits converge in the first attempts (each attempt re-packs 120 methanol: ~1 s)
SEEDS = {"monomer_dimer": (1, 2, 5), "dimer_octahedral": (1, 2, 6)}
STATIC = re.compile(r"^(\w+):\s+(UPPER_WALLS|LOWER_WALLS|RESTRAINT)\b", re.M)


def driver_static_bias(folder: Path, preset: str) -> dict[str, float]:
    """Each wall/restraint bias (kcal/mol) of system.data at step 0, by `plumed driver` on the preset's input."""
    data = read_data(folder / "system.data")
    groups = Groups.read(folder / "groups.json")
    text = render_plumed({"preset": preset, "overrides": {"print_stride": 1, "print_format": "%.12f"}}, groups, data,
                         temperature_K=300.0)
    labels = [m.group(1) for m in STATIC.finditer(text)]
    text += f"\nPRINT STRIDE=1 FILE=static.out FMT=%.12f ARG={','.join(f'{k}.bias' for k in labels)}\n"
    work = folder / "driver"
    work.mkdir(exist_ok=True)
    (work / "plumed.dat").write_text(text)
    element = np.array(TYPE_MAP)[data.types - 1]
    lines = [str(data.natoms), " ".join(f"{x:.10f}" for x in data.lengths)]
    lines += [f"{e} {p[0]:.10f} {p[1]:.10f} {p[2]:.10f}" for e, p in zip(element, data.positions)]
    (work / "conf.xyz").write_text("\n".join(lines) + "\n")
    (work / "masses").write_text("#! FIELDS index mass charge\n" + "".join(f"{i} {mass(e)} 0\n" for i, e in enumerate(element)))
    cmd, env = plumed_cli()
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run(cmd + ["driver", "--plumed", "plumed.dat", "--ixyz", "conf.xyz", "--length-units", "A",
                                 "--mc", "masses"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = (work / "static.out").read_text().splitlines()
    names = rows[0].split()[3:]
    values = [float(v) for v in rows[1].split()[1:]]
    return {name.removesuffix(".bias"): value for name, value in zip(names, values)}


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_built_boxes_start_inside_their_walls(tmp_path, name):
    preset = f"ag6/{name}"
    for seed in SEEDS[name]:
        folder = tmp_path / f"{name}-{seed}"
        built = build(preset, folder, seed=seed)
        terms = driver_static_bias(folder, preset)
        assert set(terms) >= {"w_core" if name == "monomer_dimer" else "w_ag_upper", "res"}
        total = sum(terms.values())
        assert total < KT_300, f"{preset} seed {seed}: {total:.3f} kcal/mol at t = 0 ({terms})"
        # the builder's own report (cmd-API evaluator) says the same
        report = json.loads((folder / "build.json").read_text())["start_bias"]
        assert report["preset"] == preset and report["energy_unit"] == "kcal/mol"
        assert report["total"] == pytest.approx(total, abs=1e-6)
        assert built.start_bias.total_kT < 1.0


def test_evaluator_equals_plumed_driver_outside_the_walls(tmp_path):
    """A box placed freely (no plumed_preset) starts far outside its walls; the cmd-API evaluator and the
    driver agree wall by wall."""
    folder = tmp_path / "free"
    built = build("ag6/monomer_dimer", folder, seed=1, plumed_preset="none")
    assert built.start_bias is None
    terms = driver_static_bias(folder, "ag6/monomer_dimer")
    data, groups = read_data(folder / "system.data"), Groups.read(folder / "groups.json")
    ours = start_bias({"preset": "ag6/monomer_dimer"}, groups, data)
    assert sum(terms.values()) > 10 * KT_300  # the case the fit exists for (47.7 kcal/mol of angle wall)
    assert ours.total == pytest.approx(sum(terms.values()), rel=1e-9, abs=1e-9)
    for label, value in terms.items():
        assert ours.terms[label] == pytest.approx(value, rel=1e-9, abs=1e-9), label


def test_evaluator_forces_are_minus_the_gradient(tmp_path):
    folder = tmp_path / "free"
    build("ag6/monomer_dimer", folder, seed=1, plumed_preset="none")
    data, groups = read_data(folder / "system.data"), Groups.read(folder / "groups.json")
    with StaticBias({"preset": "ag6/monomer_dimer"}, groups, data) as static:
        energy, forces = static.energy_forces(data.positions)
        pulled = np.argsort(-np.abs(forces).sum(axis=1))[:4]
        h = 1e-4
        for atom in pulled:
            for axis in range(3):
                x = data.positions.copy()
                x[atom, axis] += h
                up, _ = static.energy_forces(x)
                x[atom, axis] -= 2 * h
                down, _ = static.energy_forces(x)
                assert forces[atom, axis] == pytest.approx(-(up - down) / (2 * h), rel=1e-5, abs=1e-6)
    assert energy > 0


def test_fit_moves_molecules_rigidly(tmp_path):
    """Bond lengths within each solute molecule are those of the free placement (only poses change)."""
    free = build("ag6/dimer_octahedral", tmp_path / "free", seed=1, plumed_preset="none")
    fitted = build("ag6/dimer_octahedral", tmp_path / "fitted", seed=1)
    a, b = read_data(free.data_path), read_data(fitted.data_path)
    for molecule in Groups.read(fitted.groups_path).molecules:
        if molecule["name"] != "Ag2L2":
            continue
        ids = np.asarray(molecule["atoms"]) - 1

        def internal(data, ids=ids):
            xyz = data.positions[ids]
            delta = xyz[:, None] - xyz[None]
            delta -= data.lengths * np.round(delta / data.lengths)
            return np.sqrt((delta ** 2).sum(-1))

        assert np.allclose(internal(a), internal(b), atol=1e-5)


def test_build_cli_reports_the_start_bias(tmp_path):
    done = subprocess.run([sys.executable, "-m", "nucleate.cli", "build", "ag6/monomer_dimer", "-o", str(tmp_path / "b"),
                           "--seed", "2"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "ag6/monomer_dimer: walls + restraints at the start" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "nucleate.cli", "build", "ag6/monomer_dimer", "-o", str(tmp_path / "c"),
                          "--plumed-preset", "ag6/nope"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "'ag6/nope' is not a PLUMED preset" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_render_warns_naming_the_walls_and_records_the_start(tmp_path):
    box = build("ag6/monomer_dimer", tmp_path / "free", seed=1, plumed_preset="none")
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"""name: outside
system: {{data: {box.data_path}, groups: {box.groups_path}}}
potential: {{pair_style: "zero 6.0", pair_coeff: ["* *"]}}
md: {{temperature_K: 300, timestep_fs: 0.5, steps: 10}}
plumed: {{preset: ag6/monomer_dimer}}
""")
    done = subprocess.run([sys.executable, "-m", "nucleate.cli", "render", str(spec), "-o", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "starts outside its walls" in done.stderr and "w_angle" in done.stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["start_bias"]["total_kT"] > 5
    assert manifest["start_bias"]["terms"]["w_angle"] == pytest.approx(manifest["start_bias"]["total"], rel=1e-6)
