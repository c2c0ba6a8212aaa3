"""Campaigns through an SSH context, against a real sshd on localhost (tests/ssh_support.py): the run
directory is uploaded to the profile's remote_root, jobs chained there, and after every job the whole
remote run directory comes back, so the local copy equals the remote one and neither loses or doubles a
row.  The same through Slurm when a cluster answers (tests/slurm_support.py)."""

from __future__ import annotations

import filecmp
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from nucleate.errors import NucleateError
from nucleate.launch.profile import load_profile

from conftest import read_table
from slurm_support import slurm_cluster  # noqa: F401 - a fixture
from ssh_support import ssh_server  # noqa: F401 - a fixture
from test_engine_continue import _frame_steps
from test_launch import DT_FS, PACE, _assert_walkers_complete, _cli, _wait_for, _write_spec

STEPS, PER_JOB = 600, 200


def _ssh_profile(tmp_path: Path, server, scheduler: str) -> Path:
    remote_root = tmp_path / "remote"
    remote_root.mkdir()
    data = {"scheduler": scheduler, "context": "ssh", "margin": 2, "poll_seconds": 1, "retries": 2,
            "command": f"{sys.executable} -m nucleate.cli",  # the remote host is this machine
            "ssh": {"host": server.host, "user": server.user, "port": server.port, "key_file": str(server.key_file),
                    "remote_root": str(remote_root)},
            "resources": {"walltime": 600, "tasks_per_job": 1}}
    path = tmp_path / f"{scheduler}-ssh.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _same_tree(a: Path, b: Path) -> None:
    """Every file of a is in b with the same bytes, and the other way round."""
    files = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    match, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert not mismatch and not errors, (mismatch, errors)


def _campaign_through_ssh(tmp_path, server, scheduler):
    spec = _write_spec(tmp_path, STEPS)
    profile = _ssh_profile(tmp_path, server, scheduler)
    campaign = tmp_path / "c"
    result = _cli("submit", spec, "--machine", profile, "-o", campaign, "--wait", "--steps-per-job", PER_JOB,
                  timeout=900)
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-2000:]

    record = json.loads((campaign / "campaign.json").read_text())
    assert [r["runs"]["argon"]["steps"] for r in record["rounds"]] == [[0, 200], [200, 400], [400, 600]]
    assert all(r["runs"]["argon"]["job_id"] for r in record["rounds"])
    run = record["runs"][0]
    local, remote = Path(run["rundir"]), Path(run["remote_rundir"])
    assert remote.is_relative_to(tmp_path / "remote") and not local.is_relative_to(tmp_path / "remote")

    # the local copy is the remote run directory, file for file and byte for byte
    _same_tree(local, remote)
    # and it holds every step once: no row lost or doubled across the three jobs
    np.testing.assert_allclose(read_table(local / "COLVAR")[:, 0], np.arange(STEPS + 1) * DT_FS)
    np.testing.assert_array_equal(read_table(local / "thermo.csv")[:, 0], np.arange(0, STEPS + 1, 10))
    np.testing.assert_allclose(read_table(local / "HILLS")[:, 0], np.arange(PACE, STEPS + 1, PACE) * DT_FS)
    assert [int(s) for s in _frame_steps(local / "traj.lammpstrj")] == list(range(0, STEPS + 1, 100))
    segments = json.loads((local / "manifest.json").read_text())["segments"]
    assert [(s["start_step"], s["end_step"]) for s in segments] == [(0, 200), (200, 400), (400, 600)]
    assert json.loads((local / "checkpoint.json").read_text())["step"] == STEPS
    # the jobs ran on the remote copy, and their logs came back
    job_logs = [campaign / "jobs" / f"round-{k:03d}" / "argon" / "job.err" for k in (1, 2, 3)]
    assert all(log.is_file() for log in job_logs), job_logs

    # status from the local record alone
    status = _cli("status", campaign, "--json")
    assert status.returncode == 0, status.stderr
    rows = json.loads(status.stdout)
    assert rows["state"] == "done" and rows["remote"]["folder"] == str(remote.parent.parent)
    assert [(r["name"], r["state"], r["steps"]) for r in rows["runs"]] == [("argon", "done", STEPS)]
    text = _cli("status", campaign)
    assert text.returncode == 0 and f"{server.user}@{server.host}:" in text.stdout


@pytest.mark.slow
def test_shell_campaign_through_ssh_chains_jobs_and_brings_every_row_back(tmp_path, ssh_server):
    _campaign_through_ssh(tmp_path, ssh_server, "shell")


@pytest.mark.slow
def test_slurm_campaign_through_ssh_chains_jobs_and_brings_every_row_back(tmp_path, ssh_server, slurm_cluster):
    _campaign_through_ssh(tmp_path, ssh_server, "slurm")


@pytest.mark.slow
def test_two_walkers_through_ssh_share_remote_hills_and_survive_a_killed_job(tmp_path, ssh_server):
    """Walkers through SSH: PLUMED is told the remote hills folder, which is uploaded before any walker starts
    and comes back after every round; one walker's engine killed (-9) on the remote host mid-segment is
    resubmitted from its checkpoint, and every row ends up there once, on both sides."""
    steps = 12_000
    spec = _write_spec(tmp_path, steps)
    profile = _ssh_profile(tmp_path, ssh_server, "shell")
    campaign = tmp_path / "c"
    driver = subprocess.Popen([sys.executable, "-m", "nucleate.cli", "submit", str(spec), "--machine", str(profile),
                               "--walkers", "2", "-o", str(campaign), "--wait", "--steps-per-job", "4000"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        record = _wait_for(lambda: (campaign / "campaign.json").is_file()
                           and json.loads((campaign / "campaign.json").read_text()), what="the campaign record")
        w1 = Path(record["runs"][1]["remote_rundir"])
        assert w1.is_relative_to(tmp_path / "remote")
        _wait_for(lambda: (w1 / "checkpoint.json").is_file()
                  and json.loads((w1 / "checkpoint.json").read_text())["step"] >= 200, what="walker 1 on the host")
        holder = (w1 / ".nucleate.lock").read_text().split()[1]  # "process PID on host ..."
        os.kill(int(holder), signal.SIGKILL)  # its engine dies mid-segment, on the remote host
        out, err = driver.communicate(timeout=900)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, err[-3000:] + out[-2000:]

    record = json.loads((campaign / "campaign.json").read_text())
    remote_hills = record["runs"][0]["remote_hills"]
    assert Path(remote_hills).is_relative_to(tmp_path / "remote")
    for k, run in enumerate(record["runs"]):
        plumed = (Path(run["rundir"]) / "plumed.dat").read_text()
        assert f"WALKERS_DIR={remote_hills}" in plumed and f"WALKERS_ID={k}" in plumed
        _same_tree(Path(run["rundir"]), Path(run["remote_rundir"]))
    _same_tree(campaign / "hills" / "argon", Path(remote_hills))
    assert sum(r["runs"]["argon.w1"]["resubmitted"] for r in record["rounds"]) >= 1, record["rounds"]
    _assert_walkers_complete(campaign, steps)  # on the local copies: every row once, each bias from both walkers


def test_a_missing_remote_root_is_a_one_line_error(tmp_path, ssh_server):
    spec = _write_spec(tmp_path, 100)
    profile = _ssh_profile(tmp_path, ssh_server, "shell")
    data = yaml.safe_load(profile.read_text())
    data["ssh"]["remote_root"] = str(tmp_path / "not-there")
    profile.write_text(yaml.safe_dump(data))
    result = _cli("submit", spec, "--machine", profile, "-o", tmp_path / "c1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"ssh.remote_root {tmp_path / 'not-there'} is not a folder" in result.stderr


@pytest.mark.parametrize("ssh, message", [
    (None, "ssh: context 'ssh' needs an ssh: mapping"),
    ({"user": "a", "remote_root": "/scratch"}, "ssh.host is required"),
    ({"host": "h", "user": "a", "remote_root": "scratch/x"}, "ssh.remote_root: 'scratch/x' must be an absolute path"),
    ({"host": "h", "user": "a", "remote_root": "~/x"}, "must be an absolute path"),
    ({"host": "h", "user": "a", "remote_root": "/x", "port": 70000}, "ssh.port must be <= 65535"),
    ({"host": "h", "user": "a", "remote_root": "/x", "port": "22"}, "ssh.port must be an integer"),
    ({"host": "a@h", "user": "a", "remote_root": "/x"}, "ssh.host: 'a@h' is not a host name"),
    ({"host": "h", "user": "a b", "remote_root": "/x"}, "ssh.user: 'a b' is not a user name"),
    ({"host": "h", "user": "a", "remote_root": "/x", "password": "p"}, "unknown key(s) password"),
])
def test_bad_ssh_profiles_are_refused_naming_file_and_key(tmp_path, ssh, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"context": "ssh", **({"ssh": ssh} if ssh is not None else {})}))
    with pytest.raises(NucleateError) as error:
        load_profile(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_ssh_section_without_ssh_context_and_unknown_context_are_refused(tmp_path):
    for content, message in [({"ssh": {"host": "h"}}, "context is 'local'"),
                             ({"context": "ftp"}, "context 'ftp' is not one of local, ssh")]:
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(content))
        with pytest.raises(NucleateError, match=message):
            load_profile(path)


def test_the_shipped_ssh_profile_loads_and_renders_its_job_script(tmp_path):
    from nucleate.launch.campaign import job_script

    profile = load_profile("slurm-gpu-ssh")
    assert profile.context == "ssh" and profile.ssh.port == 22 and profile.nucleate_command == "nucleate"
    script = job_script(profile, "/scratch/run", target_step=1000, workdir=tmp_path)
    for line in ("#SBATCH --partition gpu", "#SBATCH --gres=gpu:1", "module load cuda/12.4", "--time-limit 85800"):
        assert line in script, (line, script)


def test_a_run_directory_is_uploaded_once_and_comes_back_as_the_remote_copy(tmp_path, ssh_server):
    """The staging rules themselves: a remote copy that exists is never uploaded over (it holds rows the
    local copy lacks), and a download makes the local copy the remote one, files removed there included."""
    from nucleate.launch.campaign import _quiet_dispatcher
    from nucleate.launch.profile import SSHTarget

    with _quiet_dispatcher(tmp_path):  # importing dpdispatcher opens its log in the current folder
        from nucleate.launch.remote import Remote
    local = tmp_path / "local" / "runs" / "run"
    local.mkdir(parents=True)
    (local / "COLVAR").write_text("0\n1\n")
    (local / "set-aside.tmp").write_text("x")
    (tmp_path / "remote").mkdir()
    remote_dir = tmp_path / "remote" / "c" / "runs" / "run"
    remote = Remote(SSHTarget(host=ssh_server.host, user=ssh_server.user, port=ssh_server.port,
                              key_file=str(ssh_server.key_file), remote_root=str(tmp_path / "remote")))
    try:
        assert remote.push(local, str(remote_dir))
        _same_tree(local, remote_dir)
        with open(remote_dir / "COLVAR", "a") as handle:  # a job appends there ...
            handle.write("2\n")
        (remote_dir / "set-aside.tmp").unlink()  # ... and removes a file
        assert not remote.push(local, str(remote_dir))  # a retried job: the older local copy stays here
        assert (remote_dir / "COLVAR").read_text() == "0\n1\n2\n"
        for _ in range(2):  # a repeated download (a driver killed half-way) gives the same copy
            remote.pull(str(remote_dir), local)
            _same_tree(local, remote_dir)
        assert (local / "COLVAR").read_text() == "0\n1\n2\n" and not (local / "set-aside.tmp").exists()
        assert sorted(p.name for p in local.parent.iterdir()) == ["run"]  # no archive or half-swapped folder left
        assert sorted(p.name for p in remote_dir.parent.iterdir()) == ["run"]
    finally:
        remote.close()
