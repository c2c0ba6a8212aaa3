"""Campaigns: machine profiles, job scripts, walltime-chained multiple-walker WT-MetaD run through
dpdispatcher on this machine's shell and on a real Slurm cluster (tests/slurm_support.py; CI
starts one with .ci/slurm-up.sh), jobs cancelled or killed, a driver killed and picked up again.

Every chained run is checked row by row: each step's COLVAR row once, each hill once, thermo rows
and dump frames at their strides, and each walker's bias made of both walkers' hills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from nucleate.analysis.fes_grid import FES, read_grid
from nucleate.analysis.hills import read_hills, sum_hills
from nucleate.errors import NucleateError
from nucleate.launch.campaign import Campaign, job_script
from nucleate.launch.profile import PROFILES, load_profile

from conftest import read_table
from slurm_support import slurm_cluster  # noqa: F401 - a fixture
from test_analysis_sum_hills import plumed_sum_hills
from test_engine_continue import _frame_steps, _spec

DT_FS = 2.0
PACE = 5


def _cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "nucleate.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, PYTHONUNBUFFERED="1"))


def _write_spec(tmp_path, steps) -> Path:
    spec = _spec(tmp_path, steps)
    spec["name"] = "argon"
    spec["output"] = {"thermo": 10, "dump": 100, "checkpoint": 100}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _profile(tmp_path, scheduler, walltime_s, margin_s=2, retries=3, **resources) -> Path:
    data = {"scheduler": scheduler, "margin": margin_s, "poll_seconds": 1, "retries": retries,
            "resources": {"walltime": walltime_s, "tasks_per_job": 1, **resources}}
    path = tmp_path / f"{scheduler}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _assert_walkers_complete(campaign_dir: Path, steps: int, walkers: int = 2):
    campaign = Campaign(campaign_dir)
    assert campaign.state == "done"
    hills_dir = Path(campaign.runs[0]["hills"])
    tables = [read_table(hills_dir / f"HILLS.{k}") for k in range(walkers)]
    for k in range(walkers):
        rundir = campaign_dir / "runs" / f"argon.w{k}"
        colvar = read_table(rundir / "COLVAR")
        np.testing.assert_allclose(colvar[:, 0], np.arange(steps + 1) * DT_FS)  # no lost, no duplicated row
        np.testing.assert_array_equal(read_table(rundir / "thermo.csv")[:, 0], np.arange(0, steps + 1, 10))
        assert [int(s) for s in _frame_steps(rundir / "traj.lammpstrj")] == list(range(0, steps + 1, 100))
        _assert_hills_complete(tables[k][:, 0], np.arange(PACE, steps + 1, PACE) * DT_FS)
        _assert_bias_uses_every_walker(colvar, tables[k], np.vstack([t for j, t in enumerate(tables) if j != k]))


def _assert_hills_complete(times: np.ndarray, expected: np.ndarray):
    """Every deposit time once, in order; a walker killed after a checkpoint keeps the hills it had already
    shared (the other walkers have felt them), so after the kill its file goes on from its checkpoint: each
    stretch in time order, and the file holds every expected time, the rerun stretch twice."""
    restarts = np.flatnonzero(np.diff(times) <= 0) + 1
    stretches = np.split(times, restarts)
    for stretch in stretches:
        assert np.all(np.diff(stretch) > 0)
    np.testing.assert_allclose(np.unique(np.round(times, 6)), expected)
    np.testing.assert_allclose(stretches[-1][-1], expected[-1])
    if not len(restarts):
        np.testing.assert_allclose(times, expected)


def _assert_bias_uses_every_walker(colvar, own_hills, others):
    """The bias a walker printed holds the other walker's hills.  Walkers are not synchronised and PLUMED
    buffers their files, so the test bounds it: at every 100th row the printed bias is at most all own
    hills so far plus the other's hills deposited (HILLS `clock` column) up to 5 s later, and at some rows
    it exceeds what the walker's own hills alone can give by more than 10 %."""
    def bias(s, table):
        # a well-tempered HILLS file holds height * biasf / (biasf - 1) (so that the hills sum to -F)
        centres, sigmas, biasf = table[:, 1:3], table[:, 3:5], table[:, 6]
        heights = table[:, 5] * (biasf - 1) / biasf
        return float(np.sum(heights * np.exp(-0.5 * np.sum(((s - centres) / sigmas) ** 2, axis=1))))

    excess = []
    for row in colvar[200::100]:
        t, s, printed = row[0], row[1:3], row[3]
        # the walker's own hill of time t, the last in file order (after a kill the file goes on from the
        # checkpoint): the bias at t is every own hill before it in the file
        latest = np.flatnonzero(own_hills[:, 0] <= t)[-1]
        clock = own_hills[latest, -1]
        own = bias(s, own_hills[:latest] if own_hills[latest, 0] == t else own_hills[:latest + 1])
        high = own + bias(s, others[others[:, -1] <= clock + 5])
        assert printed <= high + 1e-3 * max(printed, 1.0), (t, printed, high)
        excess.append((printed - own) / max(printed, 1e-12))
    assert max(excess) > 0.1, excess  # only the other walker's hills can give this


# ---------------------------------------------------------------------------------------------- profiles
@pytest.mark.parametrize("name, expected", [
    ("slurm-gpu", ["#SBATCH --partition gpu", "#SBATCH --gres=gpu:1", "#SBATCH --time=24:00:00",
                   "module load cuda/12.4", "source $HOME/nucleate/.venv/bin/activate", "--time-limit 85800"]),
    ("slurm-cpu", ["#SBATCH --partition compute", "#SBATCH --ntasks-per-node 2", "#SBATCH --time=12:00:00",
                   "--time-limit 42900"]),
    ("pbs", ["#PBS -q gpu", "#PBS -l walltime=24:00:00", "module load cuda", "--time-limit 85800"]),
    ("local", ["--time-limit 43080"]),
    ("slurm-lammps", ["#SBATCH --partition gpu", "#SBATCH --gres=gpu:1", "module load cuda/12.4 lammps/deepmd-plumed",
                      "--time-limit 85800 --lammps 'srun lmp'"]),
])
def test_shipped_profiles_render_job_scripts_with_their_settings(tmp_path, name, expected):
    profile = load_profile(name)
    script = job_script(profile, tmp_path / "run", target_step=1000, workdir=tmp_path)
    for line in expected:
        assert line in script, (line, script)


@pytest.mark.parametrize("content, message", [
    ({"scheduler": "sge"}, "scheduler 'sge' is not one of"),
    ({"resources": {"walltime": "1 day"}}, "resources.walltime: '1 day' is not a duration"),
    ({"resources": {"partition": "gpu; rm -rf ~"}}, "resources.partition"),
    ({"resources": {"extra": ["--qos=a b c"]}}, "resources.extra"),
    ({"resources": {"gpus": 1}}, "unknown key(s) gpus"),
    ({"resources": {"nodes": True}}, "resources.nodes"),
    ({"setup": ["module load x\nrm -rf /"]}, "U+000A"),
    ({"margin": "2:00:00", "resources": {"walltime": "1:00:00"}}, "leaves no time"),
    ({"context": "ssh"}, "context 'ssh' needs an ssh: mapping"),
    ({"engine": "native"}, "engine 'native' is not one of nucleate, lammps"),
    ({"lammps": "lmp"}, "lammps: is given but engine is 'nucleate'"),
    ({"engine": "lammps", "lammps": "srun lmp; rm -rf ~"}, "must be plain words"),
    ({"engine": "lammps", "lammps": "lmp -in in.lammps"}, "leave out -in and -log"),
    ({"retries": -1}, "retries"),
])
def test_bad_profiles_are_refused_naming_file_and_key(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(content))
    with pytest.raises(NucleateError) as error:
        load_profile(path)
    assert str(path) in str(error.value) and message in str(error.value)
    result = _cli("submit", tmp_path / "spec.yaml", "--machine", path, "-o", tmp_path / "c")
    assert result.returncode == 2 and "Traceback" not in result.stderr and message in result.stderr


def test_the_shipped_profiles_are_the_six_documented():
    assert sorted(p.stem for p in PROFILES.glob("*.yaml")) == ["local", "pbs", "slurm-cpu", "slurm-gpu", "slurm-gpu-ssh",
                                                                "slurm-lammps"]


def test_opes_walkers_are_refused(tmp_path):
    spec = _spec(tmp_path, 100)
    Path(spec["plumed"]["file"]).write_text(
        "d: DISTANCE ATOMS=1,2\nopes: OPES_METAD ARG=d PACE=5 BARRIER=10 TEMP=120\n")
    path = tmp_path / "opes.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = _cli("submit", path, "--machine", "local", "--walkers", "2", "-o", tmp_path / "c")
    assert result.returncode == 2 and "OPES walkers share their bias only through MPI" in result.stderr


# ---------------------------------------------------------------------------------------------- local shell
@pytest.mark.slow
def test_two_walkers_chained_through_jobs_on_this_machine(tmp_path):
    steps = 12_000
    spec = _write_spec(tmp_path, steps)
    profile = _profile(tmp_path, "shell", walltime_s=600)
    result = _cli("submit", spec, "--machine", profile, "--walkers", "2", "-o", tmp_path / "c", "--wait",
                  "--steps-per-job", 4000)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((tmp_path / "c" / "campaign.json").read_text())
    assert [r["runs"]["argon.w0"]["steps"] for r in record["rounds"]] == [[0, 4000], [4000, 8000], [8000, 12000]]
    _assert_walkers_complete(tmp_path / "c", steps)

    status = json.loads(_cli("status", tmp_path / "c", "--json").stdout)
    assert status["state"] == "done"
    assert [(r["name"], r["state"], r["steps"]) for r in status["runs"]] == [
        ("argon.w0", "done", steps), ("argon.w1", "done", steps)]
    assert all(r["ns_per_day"] > 0 for r in status["runs"])

    # the campaign ends with one FES reweighted from both walkers' COLVARs: the same surface as
    # `nucleate reweight --walkers` on those files, in the runs' units
    assert "argon: F(d, cn) from" in result.stdout and "2 walkers" in result.stdout
    summary = json.loads((tmp_path / "c" / "results" / "results.json").read_text())["argon"]
    assert summary["walkers"] == 2 and summary["bias"] == ["metad.bias"] and summary["energy_unit"] == "kcal/mol"
    assert summary["samples"] == 2 * (steps + 1) and Path(summary["png"]).stat().st_size > 10_000
    colvars = [tmp_path / "c" / "runs" / f"argon.w{k}" / "COLVAR" for k in range(2)]
    by_cli = _cli("reweight", *colvars, "--walkers", "--cv", "d,cn", "--bias", "metad.bias", "--temp", "120",
                  "--bandwidth", "auto", "--blocks", "5", "-o", tmp_path / "cli_fes.dat")
    assert by_cli.returncode == 0, by_cli.stderr
    ours, cli = FES.read(summary["fes"]), FES.read(tmp_path / "cli_fes.dat")
    assert ours.energy_unit == "kcal/mol" and ours.kt == pytest.approx(0.0019872 * 120, rel=1e-4)
    np.testing.assert_allclose(ours.free, cli.free, rtol=0, atol=1e-9)

    # the campaign's FES: both walkers' hills summed, as `plumed sum_hills` does with both files
    hills = [tmp_path / "c" / "hills" / "argon" / f"HILLS.{k}" for k in range(2)]
    reference = plumed_sum_hills(",".join(map(str, hills)), tmp_path)
    grid, values = read_grid(reference)
    ours = sum_hills(read_hills(hills))[-1]
    assert grid.shape == ours.grid.shape and np.abs(values["file.free"]).max() > 1.0
    np.testing.assert_allclose(ours.free, values["file.free"], rtol=0, atol=1e-6)


# ---------------------------------------------------------------------------------------------- Slurm
def _job_of(campaign_dir: Path, name: str) -> str | None:
    current = json.loads((campaign_dir / "campaign.json").read_text()).get("current") or {}
    return current.get("jobs", {}).get(name, {}).get("job_id")


def _wait_for(predicate, timeout=240, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.slow
def test_slurm_campaign_survives_scancel_kill_minus_9_and_a_killed_driver(tmp_path, slurm_cluster):
    steps = 12_000
    spec = _write_spec(tmp_path, steps)
    profile = _profile(tmp_path, "slurm", walltime_s=600)  # the cluster's default partition
    campaign = tmp_path / "c"
    driver = subprocess.Popen([sys.executable, "-m", "nucleate.cli", "submit", str(spec), "--machine", str(profile),
                               "--walkers", "2", "-o", str(campaign), "--wait", "--steps-per-job", "4000"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    w0, w1 = campaign / "runs" / "argon.w0", campaign / "runs" / "argon.w1"

    def checkpointed(rundir):
        state = rundir / "checkpoint.json"
        return state.exists() and json.loads(state.read_text())["step"] >= 200

    _wait_for(lambda: checkpointed(w0) and checkpointed(w1) and _job_of(campaign, "argon.w0"), what="both walkers")
    job = _job_of(campaign, "argon.w0")
    subprocess.run(["scancel", job], check=True)  # a cancelled job mid-segment
    holder = (w1 / ".nucleate.lock").read_text().split()[1]  # "process PID on host ..."
    os.kill(int(holder), signal.SIGKILL)  # the engine of the other walker killed mid-segment
    time.sleep(1)
    driver.send_signal(signal.SIGKILL)  # and the submitting process with them
    driver.wait()

    picked_up = _cli("campaign", campaign, "--wait", timeout=900)
    assert picked_up.returncode == 0, picked_up.stderr[-3000:] + picked_up.stdout[-2000:]
    record = json.loads((campaign / "campaign.json").read_text())
    assert len(record["rounds"]) >= 3
    resubmitted = {name: sum(r["runs"].get(name, {}).get("resubmitted", 0) for r in record["rounds"])
                   for name in ("argon.w0", "argon.w1")}
    assert resubmitted["argon.w0"] >= 1 and resubmitted["argon.w1"] >= 1, record["rounds"]
    _assert_walkers_complete(campaign, steps)


@pytest.mark.slow
def test_reproduce_ag6_runs_as_a_slurm_campaign_and_reports(tmp_path, slurm_cluster):
    profile = _profile(tmp_path, "slurm", walltime_s=900)
    out = tmp_path / "ag6"
    result = _cli("reproduce", "ag6", "--scale", "smoke", "--only", "monomer_dimer", "--machine", profile, "-o", out,
                  timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((out / "campaign" / "campaign.json").read_text())
    assert [r["name"] for r in record["runs"]] == ["monomer_dimer"]
    assert record["rounds"][0]["runs"]["monomer_dimer"]["job_id"]  # it went through the scheduler
    results = json.loads((out / "report" / "results.json").read_text())
    assert results["statuses"]["monomer_dimer"]["state"] == "done"
    assert results["statuses"]["monomer_dimer"]["end_step"] == 200
    assert len(read_table(out / "runs" / "monomer_dimer" / "COLVAR")) > 0


@pytest.mark.slow
def test_reproduce_ag6_with_two_walkers_on_this_machine(tmp_path):
    """`reproduce ag6 --machine local --walkers 2`: the WT-MetaD simulation runs as two walkers sharing hills,
    the unbiased one as one run, and the report's FES is reweighted from both walkers' samples."""
    out = tmp_path / "ag6"
    refused = _cli("reproduce", "ag6", "--scale", "smoke", "--walkers", "2", "-o", out)
    assert refused.returncode == 2 and "--machine local" in refused.stderr

    profile = _profile(tmp_path, "shell", walltime_s=900)
    result = _cli("reproduce", "ag6", "--scale", "smoke", "--only", "monomer_dimer", "--only", "ag6l6",
                  "--machine", profile, "--walkers", "2", "-o", out, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((out / "campaign" / "campaign.json").read_text())
    assert sorted((r["name"], r["walker"] if r["walker"] is not None else -1) for r in record["runs"]) == [
        ("ag6l6", -1), ("monomer_dimer.w0", 0), ("monomer_dimer.w1", 1)]
    hills = [out / "campaign" / "hills" / "monomer_dimer" / f"HILLS.{k}" for k in range(2)]
    steps = [read_table(h)[:, 0] for h in hills]
    assert all(len(s) == 2 for s in steps)  # 200 smoke steps, a hill every 100 (0.5 fs: at 50 and 100 fs)
    seeds = {json.loads((out / "campaign" / "runs" / f"monomer_dimer.w{k}" / "manifest.json").read_text())
             ["spec"]["md"]["seed"] for k in range(2)}
    assert len(seeds) == 2

    results = json.loads((out / "report" / "results.json").read_text())
    status = results["statuses"]["monomer_dimer"]
    assert status["state"] == "done" and status["end_step"] == 200 and len(status["walkers"]) == 2
    numbers = results["results"]["monomer_dimer"]["numbers"]
    rows = [len(read_table(Path(d) / "COLVAR")) for d in status["walkers"]]
    assert numbers["walkers"] == 2 and numbers["samples"] == sum(rows) and rows[0] > 0
    assert numbers["methanol"]["frames"] == 2 * (200 // 10 + 1)
    assert results["statuses"]["ag6l6"]["state"] == "done"
    assert "2 walkers sharing their hills" in (out / "report" / "REPORT.md").read_text()
