"""The `nucleate` command as a user runs it."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from nucleate.models import ag6_model_path


def _run(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "nucleate.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_help_is_light():
    """Start-up must not pay for LAMMPS/TensorFlow/DeePMD (about 3 s) when a command does not need them."""
    code = ("import sys; from nucleate.cli import build_parser; build_parser(); "
            "heavy = [m for m in ('lammps', 'tensorflow', 'deepmd', 'MDAnalysis') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
    result = _run("--help")
    assert result.returncode == 0
    for command in ("render", "run", "doctor", "demo", "build", "fes", "reweight", "kde", "nuclei"):
        assert command in result.stdout


def test_doctor_passes_on_this_installation():
    result = _run("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all checks passed" in result.stdout
    assert "[FAIL]" not in result.stdout
    for name in ("LAMMPS", "DeePMD-kit", "PLUMED", "MDAnalysis"):
        assert name in result.stdout


def test_demo_runs_and_summarises(tmp_path):
    """The default demo: the study's monomer -> dimer WT-MetaD with the embedded Ag6 model."""
    out = tmp_path / "demo"
    result = _run("demo", "-o", str(out), "--steps", "200")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "demo summary" in result.stdout and "hills" in result.stdout and "CV s1" in result.stdout
    for name in ("demo.png", "fes.dat", "fes.png", "COLVAR", "HILLS", "plumed.dat", "manifest.json", "system.data"):
        assert (out / name).stat().st_size > 0, name
    plumed = (out / "plumed.dat").read_text()
    assert "UNITS LENGTH=A ENERGY=kcal/mol TIME=fs" in plumed and "BIASFACTOR=25" in plumed
    # the run used the embedded Ag6 model: the copy in the run directory is that file, byte for byte
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["models"]) == 1, manifest["models"]
    copied = out / manifest["models"][0]
    assert manifest["input_hashes"][copied.name] == _sha256(ag6_model_path()) == _sha256(copied)
    # a second call continues the same run instead of failing or starting over
    again = _run("demo", "-o", str(out), "--steps", "300")
    assert again.returncode == 0, again.stderr
    assert "continuing" in again.stdout


def test_toy_demo_runs_and_summarises(tmp_path):
    out = tmp_path / "demo"
    result = _run("demo", "--system", "toy", "-o", str(out), "--steps", "300")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "demo summary" in result.stdout and "CV cn" in result.stdout
    plumed = (out / "plumed.dat").read_text()
    assert "COORDINATION GROUPA=1-13" in plumed and "TEMP=500" in plumed  # generated from the group name


def test_demo_and_doctor_are_application_commands_and_the_engine_has_no_default_model():
    """`nucleate demo`/`doctor` live in the application layer (nucleate.demo, nucleate.doctor), not the engine."""
    import importlib.util

    from nucleate import demo, doctor

    assert callable(demo.register) and callable(doctor.register)
    assert importlib.util.find_spec("nucleate.engine.demo") is None
    assert importlib.util.find_spec("nucleate.engine.doctor") is None
    shown = _run("render", "--help")
    assert shown.returncode == 0 and "--model" in shown.stdout
    assert "demonstration model is used" not in " ".join(shown.stdout.split())
    for command in ("demo", "doctor"):
        assert _run(command, "--help").returncode == 0
