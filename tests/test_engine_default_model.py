"""The embedded Ag6 demonstration model is the default potential; --model swaps in any other."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from nucleate.engine.spec import RunSpec
from nucleate.models import ag6_model_path, demo_model_path, demo_system_paths


def _spec(**extra) -> dict:
    data, groups = demo_system_paths()
    return {"name": "default-model", "system": {"data": str(data), "groups": str(groups)},
            "md": {"steps": 10, "temperature_K": 300.0}, "output": {"thermo": 5, "dump": 5, "checkpoint": 10}, **extra}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "nucleate.cli", *args], capture_output=True, text=True, timeout=300)


def test_spec_without_potential_uses_the_ag6_model():
    spec = RunSpec.from_dict(_spec())
    assert spec.potential.deepmd == [ag6_model_path()]
    assert spec.potential.pair_style is None


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
