"""manifest.json has one schema (nucleate.engine.manifest): what render writes passes it, a rendered
run's spec comes back equal, and a manifest of another format or missing a key is refused at the door."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from nucleate.engine import manifest as schema
from nucleate.engine.render import render_run, spec_from_rundir
from nucleate.engine.rundir import RunDirectory
from nucleate.engine.spec import RunSpec
from nucleate.errors import NucleateError

from conftest import toy_spec, write_data

PLUMED = "UNITS LENGTH=A ENERGY=kcal/mol TIME=fs\nd: DISTANCE ATOMS=1,2\nPRINT ARG=d FILE=COLVAR STRIDE=1\n"


def _data(tmp_path):
    return write_data(tmp_path / "two.data", [np.array([5.0, 5.0, 5.0]), np.array([8.0, 5.5, 5.0])], [1, 1])


def _toy(tmp_path, **kw) -> RunSpec:
    return RunSpec.from_dict(toy_spec(tmp_path, _data(tmp_path), plumed=PLUMED, steps=7, thermostat="langevin",
                                      temperature=150.0, timestep_fs=2.0, initial_temperature=None,
                                      output={"thermo": 2, "dump": 3, "checkpoint": 4}, **kw))


def _deepmd(tmp_path) -> RunSpec:
    """Two DeePMD models (render only copies them, so any bytes do) with model deviation."""
    models = []
    for k in range(2):
        models.append(tmp_path / f"user_model_{k}.pb")
        models[-1].write_bytes(b"not read by render %d" % k)
    potential = {"deepmd": [str(m) for m in models], "model_deviation": {"out_freq": 5, "out_file": "devi.out"}}
    return _toy(tmp_path, potential=potential)


def _without_paths(spec: dict) -> dict:
    """RunSpec.to_dict without what the run directory repoints: its copies of the inputs."""
    spec = json.loads(json.dumps(spec))
    spec["system"].pop("data")
    spec["system"].pop("groups")
    spec["potential"].pop("deepmd")
    spec.pop("plumed")
    return spec


@pytest.mark.parametrize("make", [_toy, _deepmd], ids=["pair_style", "deepmd"])
def test_rendered_manifest_passes_and_round_trips_to_an_equal_spec(tmp_path, make):
    spec = make(tmp_path)
    run = render_run(spec, tmp_path / "run", command_line=["nucleate", "render", "x"])
    manifest = run.manifest()
    assert list(manifest) == [f.name for f in schema.FIELDS if f.required or f.name == "start_bias"]
    assert manifest["format"] == schema.FORMAT
    assert manifest["lammps_units"] == {"energy": "eV", "length": "A", "time": "ps"}

    rebuilt = spec_from_rundir(run)
    assert _without_paths(rebuilt.to_dict()) == _without_paths(spec.to_dict())
    # ...and the paths are the run directory's own copies
    assert rebuilt.system.data == run / "system.data" and rebuilt.system.groups == run / "groups.json"
    assert rebuilt.plumed == {"file": run / "plumed.dat"}
    assert rebuilt.potential.deepmd == [run / name for name in manifest["models"]]
    assert [p.name for p in rebuilt.potential.deepmd] == (["model.pb", "model_1.pb"] if spec.potential.deepmd else [])
    assert rebuilt.source == str(run / "manifest.json")


def test_a_manifest_from_before_a_later_key_is_still_read(tmp_path):
    """start_bias came after the first nucleate-run/1 manifests; earlier_attempts and unknown keys are fine."""
    run = render_run(_toy(tmp_path), tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["start_bias"]
    manifest["earlier_attempts"] = [{"kept_in": "replaced-x", "segments": []}]
    manifest["added_later"] = 1
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert spec_from_rundir(RunDirectory(run.path)).md.temperature_K == 150.0


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(format="nucleate-run/2"), "has format 'nucleate-run/2', not 'nucleate-run/1'"),
    (lambda m: m.pop("format"), "has format None"),
    (lambda m: m.pop("spec"), "missing key spec"),
    (lambda m: (m.pop("timestep_fs"), m.pop("models")), "missing keys timestep_fs, models"),
    (lambda m: m.update(temperature_K="300"), "temperature_K is a string, not number"),
    (lambda m: m.update(natoms=True), "natoms is a boolean, not integer"),
    (lambda m: m.update(segments={}), "segments is an object, not array"),
    (lambda m: m.update(segments=[3]), "segments[0] is not an object"),
    (lambda m: m["spec"].pop("system"), "spec.system is not an object"),
    (lambda m: m.update(plumed_units=None, start_bias=[]), "start_bias is an array, not object | null"),
])
def test_check_manifest_refuses_naming_the_file(tmp_path, change, message):
    run = render_run(_toy(tmp_path), tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    schema.check_manifest(manifest, "x")  # as rendered: fine
    change(manifest)
    (run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(NucleateError) as err:
        run.manifest()
    assert str(run / "manifest.json") in str(err.value) and message in str(err.value)


def test_a_json_array_is_not_a_manifest(tmp_path):
    (tmp_path / "manifest.json").write_text("[]")
    with pytest.raises(NucleateError, match="manifest.json is not a nucleate run manifest"):
        RunDirectory(tmp_path).manifest()


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(format="something-else/3"), "has format 'something-else/3'"),
    (lambda m: m.pop("spec"), "missing key spec"),
])
def test_continue_refuses_a_bad_manifest_with_exit_2(tmp_path, change, message):
    run = render_run(_toy(tmp_path), tmp_path / "run")
    manifest = json.loads((run / "manifest.json").read_text())
    change(manifest)
    (run / "manifest.json").write_text(json.dumps(manifest))
    result = subprocess.run([sys.executable, "-m", "nucleate.cli", "run", str(run.path), "--continue"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "manifest.json" in result.stderr and message in result.stderr


def test_every_key_of_a_segment_record_is_documented(tmp_path):
    """What the runner records for a segment is what SEGMENT_FIELDS describes: a new key gets its line there."""
    from nucleate.engine.runner import execute

    run = render_run(_toy(tmp_path), tmp_path / "run")
    execute(run.path)
    execute(run.path, steps=4, continue_run=True)
    segments = run.manifest()["segments"]
    assert [s["kind"] for s in segments] == ["run", "continue"]
    documented = {f.name for f in schema.SEGMENT_FIELDS}
    required = {f.name for f in schema.SEGMENT_FIELDS if f.required}
    for segment in segments:
        assert set(segment) <= documented, set(segment) - documented
        assert required <= set(segment), required - set(segment)
        assert not schema._problems(segment, schema.SEGMENT_FIELDS), schema._problems(segment, schema.SEGMENT_FIELDS)
