"""Issue 14 (hardening): no spec value can add a command to in.lammps or plumed.dat, and every bad
value is one NucleateError naming the key -- never a traceback, never a silently wrong run."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nucleate import cli
from nucleate.engine.plumed_input import logical_lines
from nucleate.engine.render import check_lammps_commands, lammps_input, render_run
from nucleate.engine.spec import RunSpec, load_spec
from nucleate.errors import NucleateError
from nucleate.plumed_cvs import render_plumed
from nucleate.plumed_cvs.render import check_plumed_actions
from nucleate.systems import Groups, read_data
from nucleate.templates import render
from nucleate.validate import load_yaml

TYPE_MAP = ["Ag", "S", "N", "C", "H", "O"]
# two AgL-like molecules (Ag, S, N each) and six O in a 10 A box (as tests/test_cvs.py)
POSITIONS = [(4.0, 5.0, 5.0), (4.0, 7.4, 5.0), (2.0, 5.0, 5.0), (7.0, 5.0, 5.0), (7.0, 2.6, 5.0), (9.5, 5.0, 5.0),
             (5.5, 5.0, 6.5), (5.0, 5.0, 3.0), (1.0, 1.0, 1.0), (9.0, 9.0, 9.0), (5.0, 8.0, 5.0), (0.5, 5.0, 5.0)]
TYPES = [1, 2, 3, 1, 2, 3, 6, 6, 6, 6, 6, 6]
MASSES = [107.8682, 32.06, 14.007, 12.011, 1.008, 15.999]

# Every character str.splitlines() splits on, a tab, a null byte, and invisible format characters
PAYLOADS = {
    "newline": "\n", "carriage-return": "\r", "crlf": "\r\n", "line-separator": "\u2028",
    "paragraph-separator": "\u2029", "next-line": "\x85", "form-feed": "\x0c", "vertical-tab": "\x0b",
    "file-separator": "\x1c", "tab": "\t", "null": "\x00", "bidi-override": "\u202e",
}


# ---- fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def system(tmp_path) -> dict:
    """A data file, a groups file and two dummy model files for the spec to point at."""
    lines = ["hardening toy", "", "12 atoms", "6 atom types", "", "0 10 xlo xhi", "0 10 ylo yhi", "0 10 zlo zhi",
             "", "Masses", ""] + [f"{k} {m}" for k, m in enumerate(MASSES, start=1)]
    lines += ["", "Atoms # atomic", ""]
    lines += [f"{i} {t} {x} {y} {z}" for i, (t, (x, y, z)) in enumerate(zip(TYPES, POSITIONS), start=1)]
    data_path = tmp_path / "toy.data"
    data_path.write_text("\n".join(lines) + "\n")
    data = read_data(data_path)
    groups = Groups.from_types(data.types, TYPE_MAP, source="toy")
    groups.add("solvent_O", groups["O"])
    for k, atoms in enumerate(([1, 2, 3], [4, 5, 6]), start=1):
        groups.add(f"mol{k}", atoms)
    groups.molecules = [{"name": "AgL", "atoms": [1, 2, 3]}, {"name": "AgL", "atoms": [4, 5, 6]}]
    groups_path = groups.write(tmp_path / "groups.json")
    models = [tmp_path / "a.pb", tmp_path / "b.pb"]
    for model in models:
        model.write_bytes(b"not read by render")
    return {"data": data_path, "groups": groups_path, "models": models, "data_file": data, "group_set": groups}


def plumed_block() -> dict:
    return {
        "title": "Toy run: Ag-S coordination",
        "units": {"length": "A", "energy": "kcal/mol", "time": "fs"},
        "cvs": [
            {"name": "centre", "type": "fixed_point", "at": "box_centre"},
            {"name": "cn", "type": "coordination", "a": "Ag", "b": "S", "r0": 3.0, "comment": "Ag with S"},
            {"name": "nsolv", "type": "solvent_count", "group": "solvent_O", "point": "centre", "r0": 2.0,
             "range": [0, 6]},
        ],
        "walls": [{"name": "w_cn", "arg": "cn", "upper": 0.9, "kappa": 10}],
        "restraints": [{"name": "hold", "arg": "nsolv", "at": 1.0, "kappa": 1}],
        "bias": {"protocol": "wtmetad", "name": "mtd", "args": ["cn", "nsolv"], "pace": 10, "height": 1.0,
                 "sigma": [0.1, 0.2], "biasfactor": 10, "file": "HILLS.mtd"},
        "print_stride": 5,
        "print_format": "%.8f",
        "colvar": "colvar.dat",
    }


def full_spec(system: dict) -> dict:
    """A legitimate spec with every field set."""
    return {
        "name": "toy-run.1",
        "system": {"data": str(system["data"]), "groups": str(system["groups"]), "type_map": list(TYPE_MAP)},
        "potential": {"pair_style": "zero 5.0", "pair_coeff": ["* *"]},
        "md": {"temperature_K": 300, "timestep_fs": 0.5, "steps": 40, "thermostat": "nose-hoover", "tdamp_fs": 50,
               "seed": 21734, "velocity_seed": 99, "initial_temperature_K": 250.0, "minimize": True,
               "minimize_force_eV_per_A": 0.05, "minimize_max_iterations": 100},
        "output": {"thermo": 5, "dump": 10, "checkpoint": 20, "progress": 10},
        "plumed": plumed_block(),
    }


def deepmd_spec(system: dict) -> dict:
    spec = full_spec(system)
    spec["potential"] = {"deepmd": [str(m) for m in system["models"]],
                         "model_deviation": {"out_freq": 10, "out_file": "model_devi.out", "atomic": True}}
    return spec


def set_at(spec: dict, path: str, value) -> dict:
    """spec with the value at a dotted path (list indices as [k]) replaced."""
    spec = copy.deepcopy(spec)
    keys = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    target = spec
    for key in keys[:-1]:
        target = target[int(key[1:-1])] if key.startswith("[") else target[key]
    last = keys[-1]
    if last.startswith("["):
        target[int(last[1:-1])] = value
    else:
        target[last] = value
    return spec


def refused(call, key: str) -> str:
    """The call raises NucleateError naming `key`; returns the message."""
    with pytest.raises(NucleateError) as caught:
        call()
    message = str(caught.value)
    assert key in message, message
    assert "\n" not in message and not any(c in message for c in "\r\x0b\x0c\x85\u2028\u2029"), repr(message)
    return message


# ---- the legitimate spec renders exactly the expected commands --------------------------------
LAMMPS_COMMANDS = (["units", "boundary", "atom_style", "atom_modify", "neighbor", "neigh_modify", "read_data"]
                   + ["mass"] * 6
                   + ["pair_style", "pair_coeff", "compute", "timestep", "min_style", "minimize", "reset_timestep",
                      "fix", "fix_modify", "velocity", "fix", "thermo", "thermo_style", "thermo_modify"]
                   + ["variable"] * 5 + ["fix", "dump", "dump_modify", "restart", "run"])
PLUMED_ACTIONS = ["UNITS", "FLUSH", "FIXEDATOM", "COORDINATION", "COORDINATION", "UPPER_WALLS", "RESTRAINT", "METAD",
                  "PRINT"]


def commands_of(text: str) -> list[str]:
    return [line.split()[0] for line in text.split("\n") if line.strip() and not line.lstrip().startswith("#")]


def test_full_legitimate_spec_renders_exactly_the_expected_commands(system, tmp_path):
    run = render_run(RunSpec.from_dict(full_spec(system)), tmp_path / "run")
    lammps = (run.path / "in.lammps").read_text()
    assert commands_of(lammps) == LAMMPS_COMMANDS
    assert "pair_style      zero 5.0\npair_coeff      * *\n" in lammps
    assert "velocity        all create 250 99 dist gaussian mom yes" in lammps
    assert '# nucleate' in lammps and 'run "toy-run.1"' in lammps
    plumed = (run.path / "plumed.dat").read_text()
    assert [line.action for line in logical_lines(plumed)] == PLUMED_ACTIONS
    assert "\n# Toy run: Ag-S coordination\n" in plumed
    assert "PRINT STRIDE=5 FILE=colvar.dat FMT=%.8f ARG=" in plumed
    assert "mtd: METAD ..." in plumed and "FILE=HILLS.mtd" in plumed
    assert "w_cn: UPPER_WALLS" in plumed and "hold: RESTRAINT" in plumed
    for text in (lammps, plumed):
        assert text.splitlines() == text.split("\n")[:-1]  # "\n" is the only line break


def test_deepmd_fields_render(system, tmp_path):
    spec = RunSpec.from_dict(deepmd_spec(system))
    text = lammps_input(spec, mode="hpc", has_plumed=False)
    assert "pair_style      deepmd model.pb model_1.pb out_freq 10 out_file model_devi.out atomic\n" in text
    assert "pair_coeff      * * Ag S N C H O\n" in text


# ---- injection payloads in every string field: refused, naming the key ----------------------
ENGINE_FIELDS = ["name", "system.type_map[0]", "potential.pair_style", "potential.pair_coeff[0]", "md.velocity_seed",
                 "md.thermostat", "system.data", "plumed.title", "plumed.print_format", "plumed.colvar",
                 "plumed.bias.name", "plumed.bias.file", "plumed.walls[0].name", "plumed.restraints[0].name",
                 "plumed.cvs[1].comment", "plumed.cvs[1].a"]
PLUMED_FIELDS = ["title", "print_format", "colvar", "bias.name", "bias.file", "walls[0].name", "restraints[0].name",
                 "cvs[1].name", "cvs[1].comment", "cvs[1].b"]


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("field", ENGINE_FIELDS)
def test_spec_field_with_control_character_is_refused(system, field, payload):
    value = f"x{payload}shell touch INJECTED"
    refused(lambda: RunSpec.from_dict(set_at(full_spec(system), field, value)), field)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_model_deviation_out_file_with_control_character_is_refused(system, payload):
    field = "potential.model_deviation.out_file"
    refused(lambda: RunSpec.from_dict(set_at(deepmd_spec(system), field, f"md{payload}shell touch X")), field)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("field", PLUMED_FIELDS + ["bias.walkers.dir"])
def test_plumed_field_with_control_character_is_refused_by_the_cv_library(system, field, payload):
    """The `plumed:` boundary itself (used by `nucleate cvs show` too), not only the run spec."""
    config = plumed_block()
    config["bias"]["walkers"] = {"n": 2, "id": 0, "dir": "../walkers"}
    config = set_at(config, field, f"x{payload}LOAD FILE=x.so")
    refused(lambda: render_plumed(config, system["group_set"], system["data_file"], temperature_K=300),
            f"plumed.{field}")


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_group_name_with_control_character_is_refused(system, tmp_path, payload):
    document = json.loads(system["groups"].read_text())
    document["groups"][f"g{payload}LOAD FILE=x.so"] = [1]
    system["groups"].write_text(json.dumps(document))
    spec = RunSpec.from_dict(full_spec(system))
    refused(lambda: render_run(spec, tmp_path / "run"), "group")
    assert not (tmp_path / "run").exists()


def test_messages_name_the_character(system):
    message = refused(lambda: RunSpec.from_dict(set_at(full_spec(system), "name", "a\u2028b")), "name")
    assert "U+2028" in message and "LINE SEPARATOR" in message
    message = refused(lambda: RunSpec.from_dict(set_at(full_spec(system), "plumed.title", "a\x85b")), "plumed.title")
    assert "U+0085" in message


@pytest.mark.parametrize("field", ["plumed.colvar", "plumed.bias.file", "potential.model_deviation.out_file"])
@pytest.mark.parametrize("value", ["../../x", "/tmp/abs", "sub/x", "..", ".", "a b", "x=y", ""])
def test_output_files_stay_in_the_run_directory(system, tmp_path, field, value):
    spec = set_at(deepmd_spec(system), field, value)
    if field.startswith("plumed"):
        spec["potential"] = {"pair_style": "zero 5.0", "pair_coeff": ["* *"]}
    refused(lambda: render_run(RunSpec.from_dict(spec), tmp_path / "run"), field.split(".", 1)[1]
            if field.startswith("plumed") else field)
    assert not (tmp_path / "run").exists()


def test_opes_state_file_stays_in_the_run_directory(system):
    config = plumed_block()
    config["bias"] = {"protocol": "opes", "args": ["cn"], "pace": 10, "barrier": 5, "sigma": [0.1],
                      "state_file": "/tmp/STATE"}
    refused(lambda: render_plumed(config, system["group_set"], system["data_file"], temperature_K=300),
            "plumed.bias.state_file")


# ---- shared walker hills: the one path allowed outside the run directory -----------------------
def walkers_config(**walkers) -> dict:
    config = plumed_block()
    config["bias"]["walkers"] = {"n": 2, "id": 1, **walkers}
    return config


@pytest.mark.parametrize("walkers, expected", [
    ({}, "WALKERS_DIR=../walkers"),
    ({"dir": "../shared"}, "WALKERS_DIR=../shared"),
    ({"dir": "../../study/hills"}, "WALKERS_DIR=../../study/hills"),
    ({"dir": "/scratch/me/hills", "shared": True}, "WALKERS_DIR=/scratch/me/hills"),
])
def test_walkers_dir_rule_allows(system, walkers, expected):
    text = render_plumed(walkers_config(**walkers), system["group_set"], system["data_file"], temperature_K=300)
    assert expected in text


@pytest.mark.parametrize("walkers, pattern", [
    ({"dir": "/scratch/me/hills"}, r"absolute path.*walkers.shared is true"),
    ({"dir": "/scratch/me/hills", "shared": False}, r"absolute path"),
    ({"dir": "/scratch/me/hills", "shared": "yes"}, r"walkers.shared must be true or false"),
    ({"dir": "a/../../x"}, r"'\.\.' only at the start"),
    ({"dir": "../a b"}, r"not allowed"),
    ({"dir": ""}, r"names no directory"),
    ({"dir": "/"}, r"names no directory"),
])
def test_walkers_dir_rule_refuses(system, walkers, pattern):
    message = refused(lambda: render_plumed(walkers_config(**walkers), system["group_set"], system["data_file"],
                                            temperature_K=300), "plumed.bias.walkers")
    assert re.search(pattern, message), message


# ---- the CLI: one line, exit 2, nothing written outside the target ------------------------------
def _write_spec(path: Path, spec: dict) -> Path:
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize("field, value", [
    ("name", "toy\nshell touch {marker}"),
    ("potential.pair_coeff[0]", "* *\u2028shell touch {marker}"),
    ("md.velocity_seed", "12\rshell touch {marker}"),
    ("plumed.title", "t\x85LOAD FILE={marker}"),
    ("plumed.colvar", "../../{marker}"),
    ("plumed.bias.name", "m\x0cLOAD FILE={marker}"),
])
def test_cli_render_refuses_injection_in_one_line(system, tmp_path, capsys, field, value):
    marker = tmp_path / "INJECTED"
    spec_path = _write_spec(tmp_path / "spec.yaml", set_at(full_spec(system), field, value.format(marker=marker)))
    code = cli.main(["render", str(spec_path), "-o", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("nucleate render: error: ") and "Traceback" not in err
    assert field.split("[")[0] in err
    assert not marker.exists() and not (tmp_path / "run").exists()


def test_cli_subprocess_group_name_injection(system, tmp_path):
    marker = tmp_path / "INJECTED"
    document = json.loads(system["groups"].read_text())
    document["groups"][f"g\nLOAD FILE={marker}"] = [1]
    system["groups"].write_text(json.dumps(document))
    spec_path = _write_spec(tmp_path / "spec.yaml", full_spec(system))
    result = subprocess.run([sys.executable, "-m", "nucleate.cli", "render", str(spec_path), "-o",
                             str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr and "groups" in result.stderr
    assert not marker.exists() and not (tmp_path / "run").exists()


def test_spec_file_name_is_sanitised_in_the_lammps_comment(system, tmp_path, capsys):
    odd = tmp_path / "spec\nshell touch INJECTED\u2028.yaml"
    _write_spec(odd, full_spec(system))
    spec = load_spec(odd)
    assert "\n" not in spec.source and "\u2028" not in spec.source
    run = render_run(spec, tmp_path / "run")
    lammps = (run.path / "in.lammps").read_text()
    assert commands_of(lammps) == LAMMPS_COMMANDS
    assert "spec?shell touch INJECTED?.yaml" in lammps
    assert not (tmp_path / "INJECTED").exists()
    capsys.readouterr()  # what render_run logged (its start is outside the toy's wall)
    code = cli.main(["render", str(tmp_path / "missing\nshell x.yaml"), "-o", str(tmp_path / "r2")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "does not exist" in err


# ---- silently wrong values -------------------------------------------------------------------
@pytest.mark.parametrize("field, value, pattern", [
    ("md.steps", True, r"md.steps must be an integer, got True"),
    ("md.initial_temperature_K", -5, r"md.initial_temperature_K must be >= 0, got -5"),
    ("md.temperature_K", float("nan"), r"md.temperature_K must be a positive number, got nan"),
    ("md.temperature_K", float("inf"), r"md.temperature_K must be a positive number, got inf"),
    ("md.initial_temperature_K", float("nan"), r"md.initial_temperature_K must be a finite number"),
    ("md.velocity_seed", "12 x", r"md.velocity_seed must be an integer .* got '12 x'"),
    ("md.velocity_seed", "12", r"md.velocity_seed must be an integer"),
    ("md.seed", True, r"md.seed must be an integer"),
])
def test_silently_wrong_values_are_refused(system, field, value, pattern):
    message = refused(lambda: RunSpec.from_dict(set_at(full_spec(system), field, value)), field)
    assert re.search(pattern, message), message


def test_initial_temperature_zero_is_still_allowed(system):
    spec = RunSpec.from_dict(set_at(full_spec(system), "md.initial_temperature_K", 0))
    assert spec.md.initial_temperature_K == 0


def test_yaml_nan_temperature_from_a_file_is_refused(system, tmp_path):
    text = yaml.safe_dump(full_spec(system)).replace("temperature_K: 300", "temperature_K: .nan")
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    refused(lambda: load_spec(path), "md.temperature_K")


@pytest.mark.parametrize("text, line, key", [
    ("name: a\nname: b\n", 2, "name"),
    ("md:\n  steps: 10\n  seed: 3\n  steps: 20\n", 4, "steps"),
    ("plumed:\n  cvs:\n    - {name: a, type: coordination, name: b}\n", 3, "name"),
])
def test_duplicate_yaml_keys_are_refused_naming_file_line_and_key(tmp_path, text, line, key):
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    message = refused(lambda: load_spec(path), f"line {line}")
    assert str(path) in message and f"duplicate key {key!r}" in message


def test_duplicate_keys_refused_in_every_yaml_reader(tmp_path, capsys):
    from nucleate.systems.spec import read_spec

    dup = tmp_path / "system.yaml"
    dup.write_text("box: 20\nseed: 1\nseed: 2\n")
    refused(lambda: read_spec(dup), "line 3")
    plumed_spec = tmp_path / "cvs.yaml"
    plumed_spec.write_text("plumed:\n  colvar: A\n  colvar: B\n")
    code = cli.main(["cvs", "show", str(plumed_spec), "--data", str(tmp_path / "none.data")])
    err = capsys.readouterr().err
    assert code == 2 and "duplicate key 'colvar'" in err and "line 3" in err
    assert load_yaml("a: {<<: {b: 1}, b: 2}\n", "merge") == {"a": {"b": 2}}  # YAML merge keys still work


def test_shipped_presets_and_example_still_load(system):
    from nucleate.plumed_cvs import list_presets
    from nucleate.systems.spec import presets

    assert "ag6/monomer_dimer" in list_presets() and "ag6/monomer_dimer" in presets()
    example = Path(__file__).parents[1] / "plumed_cvs" / "presets" / "example.yaml"
    assert "cvs" in load_yaml(example.read_text(), str(example))["plumed"]


# ---- defence in depth: the renderers refuse what validation might miss ------------------------
def test_templates_refuse_a_value_with_a_line_break():
    for payload in PAYLOADS.values():
        if payload in ("\t", "\x00", "\u202e"):
            continue
        with pytest.raises(NucleateError, match="line break"):
            render("plumed/print.j2", comment="c", stride=1, file=f"COLVAR{payload}LOAD FILE=x.so", fmt="%g",
                   args=["a"])


def test_rendered_inputs_are_checked_command_by_command():
    check_lammps_commands("units metal\n# a comment\n\nrun 10\n")
    with pytest.raises(NucleateError, match="not one expected command"):
        check_lammps_commands("units metal\nshell touch x\n")
    with pytest.raises(NucleateError, match="continuation"):
        check_lammps_commands("# comment &\nshell touch x\n")
    check_plumed_actions("UNITS LENGTH=A\nm: METAD ...\n   ARG=a\n...\nPRINT ARG=a\n")
    with pytest.raises(NucleateError, match="not an expected action"):
        check_plumed_actions("UNITS LENGTH=A\nLOAD FILE=x.so\n")


# ---- a battery of other bad inputs: each one NucleateError, never another exception -----------
def _engine(field, value):
    return lambda system: set_at(full_spec(system), field, value)


def _deepmd(field, value):
    return lambda system: set_at(deepmd_spec(system), field, value)


BATTERY = {
    "empty name": _engine("name", ""),
    "very long name": _engine("name", "a" * 10_000),
    "name with space": _engine("name", "toy run"),
    "name starting with dash": _engine("name", "-rf"),
    "name not text": _engine("name", 12),
    "name null": _engine("name", None),
    "name zero-width joiner": _engine("name", "to\u200dy"),
    "type_map as one string": _engine("system.type_map", "AgSNCHO"),
    "type_map lower case": _engine("system.type_map[0]", "ag"),
    "type_map number": _engine("system.type_map[0]", 47),
    "type_map duplicate": _engine("system.type_map", ["Ag", "Ag", "N", "C", "H", "O"]),
    "type_map empty": _engine("system.type_map", []),
    "pair_coeff $ variable": _engine("potential.pair_coeff[0]", "* * ${x}"),
    "pair_coeff $ short variable": _engine("potential.pair_coeff[0]", "* * $x"),
    "pair_coeff quotes": _engine("potential.pair_coeff[0]", '* * "a b"'),
    "pair_coeff comment": _engine("potential.pair_coeff[0]", "* * # x"),
    "pair_coeff continuation": _engine("potential.pair_coeff[0]", "* * &"),
    "pair_coeff semicolon": _engine("potential.pair_coeff[0]", "* *; shell ls"),
    "pair_coeff tab separated": _engine("potential.pair_coeff[0]", "*\t*"),
    "pair_coeff empty": _engine("potential.pair_coeff[0]", "  "),
    "pair_coeff number": _engine("potential.pair_coeff[0]", 5),
    "pair_style with &": _engine("potential.pair_style", "zero 5.0 &"),
    "pair_style not text": _engine("potential.pair_style", ["zero", "5.0"]),
    "steps float": _engine("md.steps", 1.5),
    "steps string": _engine("md.steps", "10"),
    "steps null": _engine("md.steps", None),
    "temperature bool": _engine("md.temperature_K", True),
    "temperature string": _engine("md.temperature_K", "300"),
    "timestep inf": _engine("md.timestep_fs", float("inf")),
    "tdamp nan": _engine("md.tdamp_fs", float("nan")),
    "initial temperature bool": _engine("md.initial_temperature_K", True),
    "initial temperature inf": _engine("md.initial_temperature_K", float("inf")),
    "seed too large": _engine("md.seed", 900_000_000),
    "seed float": _engine("md.seed", 12.0),
    "velocity seed bool": _engine("md.velocity_seed", False),
    "velocity seed zero": _engine("md.velocity_seed", 0),
    "minimize string": _engine("md.minimize", "yes please"),
    "minimize number": _engine("md.minimize", 1),
    "minimize force nan": _engine("md.minimize_force_eV_per_A", float("nan")),
    "minimize iterations bool": _engine("md.minimize_max_iterations", True),
    "thermostat list": _engine("md.thermostat", ["nve"]),
    "thermo bool": _engine("output.thermo", True),
    "dump zero": _engine("output.dump", 0),
    "progress bool": _engine("output.progress", True),
    "progress zero": _engine("output.progress", 0),
    "out_freq bool": _deepmd("potential.model_deviation.out_freq", True),
    "out_freq string": _deepmd("potential.model_deviation.out_freq", "10 x"),
    "atomic string": _deepmd("potential.model_deviation.atomic", "yes"),
    "model_deviation list": _deepmd("potential.model_deviation", ["out_freq"]),
    "data path not text": _engine("system.data", 5),
    "section key not text": lambda system: {**full_spec(system), 1: "x"},
    "plumed key not text": lambda system: set_at(full_spec(system), "plumed", {**plumed_block(), 5: 1}),
    "print_stride bool": _engine("plumed.print_stride", True),
    "print_stride float": _engine("plumed.print_stride", 1.5),
    "print_format with keyword": _engine("plumed.print_format", "%.10g FILE=x"),
    "print_format string conversion": _engine("plumed.print_format", "%s"),
    "title not text": _engine("plumed.title", 12),
    "title too long": _engine("plumed.title", "t" * 1000),
    "title null byte": _engine("plumed.title", "a\x00b"),
    "comment not text": _engine("plumed.cvs[1].comment", 12),
    "cv name with dot": _engine("plumed.cvs[1].name", "c.d"),
    "cv name too long": _engine("plumed.cvs[1].name", "c" * 100),
    "bias name starting with digit": _engine("plumed.bias.name", "1mtd"),
    "bias name empty": _engine("plumed.bias.name", ""),
    "wall name with space": _engine("plumed.walls[0].name", "w cn"),
    "restraint name with =": _engine("plumed.restraints[0].name", "hold=1"),
    "colvar empty": _engine("plumed.colvar", ""),
    "colvar not text": _engine("plumed.colvar", ["COLVAR"]),
    "colvar backslash": _engine("plumed.colvar", "..\\x"),
    "bias file in subdir": _engine("plumed.bias.file", "a/HILLS"),
    "bias as list": _engine("plumed.bias", ["wtmetad"]),
    "pbc as string": _engine("plumed.cvs[1].pbc", "false"),
    "print as number": _engine("plumed.cvs[1].print", 0),
    "calc_rct as string": _engine("plumed.bias.calc_rct", "no"),
    "r0 bool": _engine("plumed.cvs[1].r0", True),
    "r0 nan string": _engine("plumed.cvs[1].r0", "nan"),
    "r0 underscore string": _engine("plumed.cvs[1].r0", "3_0"),
    "nn nan": _engine("plumed.cvs[1].nn", float("nan")),
    "nn inf": _engine("plumed.cvs[1].nn", float("inf")),
    "kappa inf": _engine("plumed.walls[0].kappa", float("inf")),
    "height bool": _engine("plumed.bias.height", True),
    "sigma nan": _engine("plumed.bias.sigma", [float("nan"), 0.1]),
    "walkers dir absolute": _engine("plumed.bias.walkers", {"n": 2, "dir": "/tmp/w"}),
}


@pytest.mark.parametrize("case", BATTERY.values(), ids=BATTERY.keys())
def test_battery_of_bad_inputs_gives_one_clear_error(system, tmp_path, case):
    spec = case(system)
    with pytest.raises(NucleateError) as caught:
        render_run(RunSpec.from_dict(spec), tmp_path / "run")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "run").exists()


GROUPS_BATTERY = {
    "group name with space": lambda d: d["groups"].update({"a b": [1]}),
    "group name empty": lambda d: d["groups"].update({"": [1]}),
    "group name starting with digit": lambda d: d["groups"].update({"1abc": [1]}),
    "group name with parenthesis": lambda d: d["groups"].update({"nearest(Ag)": [1]}),
    "ids as strings": lambda d: d["groups"].update({"x": ["1"]}),
    "ids as bools": lambda d: d["groups"].update({"x": [True]}),
    "ids as floats": lambda d: d["groups"].update({"x": [1.5]}),
    "ids not a list": lambda d: d["groups"].update({"x": 3}),
    "natoms bool": lambda d: d.update({"natoms": True}),
    "natoms missing": lambda d: d.pop("natoms"),
    "groups a list": lambda d: d.update({"groups": [1, 2]}),
    "molecule not a mapping": lambda d: d.update({"molecules": ["AgL"]}),
    "molecule name with newline": lambda d: d["molecules"][0].update({"name": "AgL\nLOAD FILE=x"}),
}


@pytest.mark.parametrize("change", GROUPS_BATTERY.values(), ids=GROUPS_BATTERY.keys())
def test_groups_file_battery(system, tmp_path, change):
    document = json.loads(system["groups"].read_text())
    change(document)
    system["groups"].write_text(json.dumps(document))
    with pytest.raises(NucleateError) as caught:
        Groups.read(system["groups"])
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text, pattern", [
    ('{"format": "nucleate-groups/1", "natoms": 1, "groups": {"a": [1]}, "groups": {"b": [1]}}', "twice"),
    ('{"format": "nucleate-groups/1", "natoms": 1, "groups": {"a": [NaN]}}', "NaN"),
    ("[1, 2]", "not a nucleate groups file"),
])
def test_groups_file_json_oddities(tmp_path, text, pattern):
    path = tmp_path / "groups.json"
    path.write_text(text)
    with pytest.raises(NucleateError, match=pattern):
        Groups.read(path)


def test_numbers_in_plumed_may_still_be_yaml_strings(system):
    """YAML 1.1 reads 1e-3 as text; such plain numbers keep working in the plumed: section."""
    config = set_at(plumed_block(), "cvs[1].r0", "3e0")
    text = render_plumed(config, system["group_set"], system["data_file"], temperature_K=300)
    assert "R_0=3 " in text
