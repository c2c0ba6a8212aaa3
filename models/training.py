"""Train and freeze a small DeePMD-kit model with the `dp` command (TensorFlow backend).

`dp` runs as a subprocess so TensorFlow's threads and memory never live in the caller's process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from nucleate.errors import NucleateError
from nucleate.models.morse import TYPE_MAP


@dataclass(frozen=True)
class NetworkSize:
    embedding_neurons: tuple[int, ...]
    axis_neurons: int
    fitting_neurons: tuple[int, ...]
    rcut_angstrom: float = 6.0
    rcut_smooth_angstrom: float = 2.0
    ag_neighbours: int = 24  # a 13-atom cluster has at most 12 neighbours; headroom for larger ones


TINY = NetworkSize(embedding_neurons=(8, 16), axis_neurons=4, fitting_neurons=(32, 32))
DEMO = NetworkSize(embedding_neurons=(16, 32), axis_neurons=8, fitting_neurons=(32, 32))


def training_input(train_system: Path, validation_system: Path | None, *, steps: int, seed: int,
                   size: NetworkSize, start_lr: float = 1e-2, stop_lr: float = 5e-5) -> dict:
    """DeePMD-kit input: se_e2_a descriptor, energy+force loss, exponential learning-rate decay."""
    # sel must be positive for every type; absent types get 1 slot, which costs nothing
    sel = [size.ag_neighbours] + [1] * (len(TYPE_MAP) - 1)
    data = {"systems": [str(train_system)], "batch_size": "auto"}
    training = {"training_data": data, "numb_steps": steps, "seed": seed, "disp_file": "lcurve.out",
                "disp_freq": max(1, steps // 20), "save_freq": steps, "save_ckpt": "model.ckpt",
                "disp_training": True, "time_training": True}
    if validation_system is not None:
        training["validation_data"] = {"systems": [str(validation_system)], "batch_size": "auto", "numb_btch": 4}
    return {
        "model": {
            "type_map": list(TYPE_MAP),
            "descriptor": {"type": "se_e2_a", "rcut": size.rcut_angstrom, "rcut_smth": size.rcut_smooth_angstrom,
                           "sel": sel, "neuron": list(size.embedding_neurons), "axis_neuron": size.axis_neurons,
                           "type_one_side": True, "resnet_dt": False, "seed": seed},
            "fitting_net": {"neuron": list(size.fitting_neurons), "resnet_dt": True, "seed": seed},
        },
        "learning_rate": {"type": "exp", "start_lr": start_lr, "stop_lr": stop_lr,
                          "decay_steps": max(1, min(500, steps // 20))},
        # forces dominate early (many labels per frame), energies catch up as the rate decays
        "loss": {"type": "ener", "start_pref_e": 0.02, "limit_pref_e": 2.0, "start_pref_f": 1000.0,
                 "limit_pref_f": 1.0, "start_pref_v": 0.0, "limit_pref_v": 0.0},
        "training": training,
    }


# Runs `dp` sub-commands one after another in one interpreter: identical to calling the `dp`
# script (which is `deepmd.main.main`) twice, but TensorFlow starts once (saves ~6 s per model).
_DP_SCRIPT = """
import json, sys
from deepmd.main import main
for argv in json.loads(sys.argv[1]):
    main(argv)
"""


def _dp_environment() -> dict[str, str]:
    from nucleate.runtime import quiet_environment

    quiet_environment()  # one TensorFlow/OpenMP thread unless the user set otherwise
    return dict(os.environ)


def run_dp(commands: list[list[str]], workdir: Path, log_name: str = "dp.log") -> None:
    """Run `dp --tf <command...>` for each command in `workdir`; output goes to `log_name` there."""
    if importlib.util.find_spec("deepmd") is None:
        raise NucleateError("DeePMD-kit is not installed in this Python; install it with "
                            "`pip install 'deepmd-kit[cpu,lmp]==3.2.0'` or run `make setup`")
    argvs = [["--tf", *command] for command in commands]
    log_path = workdir / log_name
    with open(log_path, "w") as log:
        result = subprocess.run([sys.executable, "-c", _DP_SCRIPT, json.dumps(argvs)], cwd=workdir,
                                env=_dp_environment(), stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text().splitlines()[-15:])
        shown = "; ".join("dp " + " ".join(argv) for argv in argvs)
        raise NucleateError(f"`{shown}` failed in {workdir} (exit {result.returncode}); "
                            f"see {log_path}. Last lines:\n{tail}")


def train_and_freeze(workdir: Path, config: dict, model_name: str = "model.pb") -> Path:
    """Write input.json in `workdir`, `dp --tf train` then `dp --tf freeze`; returns the model's path."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "input.json").write_text(json.dumps(config, indent=1) + "\n")
    # neighbour statistics would only re-check sel, which is fixed by the cluster's size
    run_dp([["train", "input.json", "--skip-neighbor-stat"], ["freeze", "-c", ".", "-o", model_name]], workdir)
    return workdir / model_name
