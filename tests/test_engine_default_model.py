"""The engine never picks a model or a type map by itself: a spec names its potential (or --model
does) and its type map (or its groups file does); otherwise one clear error, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from nucleate.engine.spec import RunSpec, load_spec
from nucleate.errors import NucleateError
from nucleate.models import AG6_DIR, demo_model_path, demo_system_paths


def _spec(**extra) -> dict:
    data, groups = demo_system_paths()
    return {"name": "default-model", "system": {"data": str(data), "groups": str(groups)},
            "md": {"steps": 10, "temperature_K": 300.0}, "output": {"thermo": 5, "dump": 5, "checkpoint": 10}, **extra}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "nucleate.cli", *args], capture_output=True, text=True, timeout=300)


def test_spec_without_potential_is_an_error_naming_the_spec_and_the_way_out(tmp_path):
    with pytest.raises(NucleateError) as error:
        RunSpec.from_dict(_spec(), source="my-spec.yaml")
    message = str(error.value)
    assert message.startswith("my-spec.yaml: no potential given")
    assert "potential: {deepmd: model.pb}" in message and "--model" in message
    assert str(AG6_DIR / "model.pb") in message and "\n" not in message
    # the command line: exit 2, one line on stderr, no traceback, nothing rendered
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(_spec()))
    done = _cli("render", str(spec_path), "-o", str(tmp_path / "run"))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(spec_path) in lines[0] and "no potential given" in lines[0], done.stderr
    assert not (tmp_path / "run").exists()


def test_model_option_gives_a_spec_without_potential_its_model(tmp_path):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(_spec()))
    spec = load_spec(spec_path, models=[demo_model_path()])
    assert spec.potential.deepmd == [demo_model_path()] and spec.potential.pair_style is None
    done = _cli("render", str(spec_path), "-o", str(tmp_path / "run"), "--model", str(demo_model_path()))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert [p.endswith("model.pb") for p in manifest["spec"]["potential"]["deepmd"]] == [True]


def test_model_option_replaces_the_spec_potential(tmp_path):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(_spec(potential={"pair_style": "zero 5.0", "pair_coeff": ["* *"]})))
    done = _cli("render", str(spec_path), "-o", str(tmp_path / "run"), "--model", str(demo_model_path()))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["spec"]["potential"]["pair_style"] is None
    assert [p.endswith("model.pb") for p in manifest["spec"]["potential"]["deepmd"]] == [True]
    assert "deepmd model.pb" in " ".join((tmp_path / "run" / "in.lammps").read_text().split())
    # a rendered run directory keeps its model: --model with it is refused, exit 2, one line
    refused = _cli("run", str(tmp_path / "run"), "--model", str(demo_model_path()))
    assert refused.returncode == 2 and "keeps the model" in refused.stderr


def test_model_option_keeps_the_spec_model_deviation(tmp_path):
    spec_path = tmp_path / "spec.yaml"
    deviation = {"out_freq": 5, "out_file": "devi.out"}
    spec_path.write_text(yaml.safe_dump(_spec(potential={"deepmd": "nowhere.pb", "model_deviation": deviation})))
    spec = load_spec(spec_path, models=[demo_model_path(), demo_model_path()])
    assert spec.potential.deepmd == [demo_model_path()] * 2 and spec.potential.model_deviation == deviation


def test_type_map_comes_from_the_groups_file_else_is_asked_for(tmp_path):
    data, groups = demo_system_paths()
    spec = RunSpec.from_dict(_spec(potential={"deepmd": str(demo_model_path())}))
    assert spec.system.type_map == json.loads(groups.read_text())["type_map"]
    no_groups = _spec(potential={"deepmd": str(demo_model_path())})
    no_groups["system"] = {"data": str(data)}
    with pytest.raises(NucleateError, match=r"^spec: system.type_map is missing and there is no groups file"):
        RunSpec.from_dict(no_groups)
    bare = json.loads(groups.read_text())
    bare.pop("type_map")
    (tmp_path / "groups.json").write_text(json.dumps(bare))
    no_groups["system"]["groups"] = str(tmp_path / "groups.json")
    with pytest.raises(NucleateError, match="records none; list the element of each atom type"):
        RunSpec.from_dict(no_groups)
    # a type map given in the spec wins
    no_groups["system"]["type_map"] = ["Ag", "S", "N", "C", "H", "O"]
    assert RunSpec.from_dict(no_groups).system.type_map == ["Ag", "S", "N", "C", "H", "O"]
