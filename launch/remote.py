"""Run directories of an SSH campaign: staged once to the remote host, mirrored back after each job.

The remote run directory is the authority.  Jobs append to COLVAR, HILLS, thermo.csv and the
trajectory there, write checkpoints there, and cut outputs back to a checkpoint there; the local
copy is a mirror that nucleate never writes except by replacing it whole with the remote one.
That is why no row is lost or doubled on either side:

* upload happens once per run, when its remote folder does not exist yet.  The archive is unpacked
  beside the final folder and renamed into place (`mv -T`), so a remote folder that exists is
  complete and is never uploaded over again: a resubmitted, retried or recovered job cannot put an
  older local file over a newer remote one.  (dpdispatcher's forward_files would: it re-uploads
  them before every retry and on recovery whenever their checksums differ, which they do as soon as
  a job has appended a row.  Campaign tasks therefore carry no forward or backward files.)
* download happens after a round's jobs are all over, when nothing writes to the remote folder:
  the whole folder is archived there, unpacked beside the local one and swapped in, so the local
  copy is byte for byte the remote one (files the engine set aside or removed included), never a
  merge of an old local file with new rows.  Repeating a download (a driver killed half-way)
  repeats the same swap.

The connection is dpdispatcher's own SSHSession (paramiko), so jobs and staging authenticate alike.
Import this module inside campaign._quiet_dispatcher: importing dpdispatcher opens its log in the cwd.
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import shlex
import shutil
import tarfile
import uuid
from pathlib import Path

import paramiko
from dpdispatcher.contexts.ssh_context import SSHSession

from nucleate.errors import NucleateError

from .profile import SSHTarget

log = logging.getLogger(__name__)


class Remote:
    """One SSH connection to a profile's host, with the few file operations a campaign needs."""

    def __init__(self, target: SSHTarget):
        self.target = target
        where = f"{target.user}@{target.host}:{target.port}"
        if target.key_file and not Path(target.key_file).expanduser().is_file():
            raise NucleateError(f"ssh.key_file {target.key_file} does not exist (needed to reach {where})")
        try:
            self.session = SSHSession(**target.dispatcher_profile())
        except Exception as exc:  # noqa: BLE001 - paramiko and sockets raise many types
            raise NucleateError(f"cannot reach {where} through SSH: {_first_line(exc)}") from None
        if not self.is_dir(target.remote_root):
            self.close()
            raise NucleateError(f"ssh.remote_root {target.remote_root} is not a folder on {target.host}; create it "
                                "there (nucleate does not, so that a mistyped path is noticed)")

    @contextlib.contextmanager
    def _connection(self, what: str):
        """A dropped connection or a failed transfer as one line: the campaign can simply be picked up again."""
        try:
            yield
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise NucleateError(f"{self.target.host}: {what} failed ({_first_line(exc)}); nothing is lost: pick the "
                                "campaign up again with `nucleate campaign CAMPAIGN`") from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.session.close()

    def run(self, command: str) -> str:
        """Run a shell command on the host; its stdout, or a NucleateError with its stderr."""
        with self._connection(f"`{command}`"):
            _, stdout, stderr = self.session.exec_command(command)
            status = stdout.channel.recv_exit_status()
            out, err = stdout.read().decode(errors="replace"), stderr.read().decode(errors="replace")
        if status != 0:
            raise NucleateError(f"{self.target.host}: `{command}` failed ({status}): {err.strip()[-300:]}")
        return out

    def is_dir(self, path: str) -> bool:
        return self.run(f"test -d {shlex.quote(path)} && echo yes || echo no").strip() == "yes"

    def push(self, local: Path, remote: str) -> bool:
        """Copy the folder `local` to `remote` unless `remote` exists; returns whether it copied."""
        if self.is_dir(remote):
            return False
        parent, token = posixpath.dirname(remote), uuid.uuid4().hex[:12]
        archive = local.parent / f".{local.name}.push-{token}.tgz"
        remote_archive, incoming = f"{parent}/.push-{token}.tgz", f"{parent}/.incoming-{token}"
        try:
            # links are followed: a model linked from elsewhere on this machine must travel as a file
            with tarfile.open(archive, "w:gz", dereference=True) as tar:
                tar.add(local, arcname=posixpath.basename(remote))
            self.run(f"mkdir -p {shlex.quote(parent)}")
            with self._connection(f"uploading {local}"):
                self.session.sftp.put(str(archive), remote_archive)
            q = shlex.quote
            # unpacked beside the target and renamed in: a remote folder that exists is complete
            self.run(f"mkdir {q(incoming)} && tar xzf {q(remote_archive)} -C {q(incoming)} && "
                     f"mv -T {q(incoming + '/' + posixpath.basename(remote))} {q(remote)} && "
                     f"rm -rf {q(incoming)} {q(remote_archive)}")
        finally:
            archive.unlink(missing_ok=True)
        log.info("uploaded %s to %s:%s", local, self.target.host, remote)
        return True

    def pull(self, remote: str, local: Path) -> None:
        """Make the folder `local` a copy of `remote` (call it when no job writes there)."""
        parent, name, token = posixpath.dirname(remote), posixpath.basename(remote), uuid.uuid4().hex[:12]
        remote_archive = f"{parent}/.pull-{token}.tgz"
        archive = local.parent / f".{local.name}.pull-{token}.tgz"
        incoming, old = local.parent / f".{local.name}.incoming-{token}", local.parent / f".{local.name}.old-{token}"
        local.parent.mkdir(parents=True, exist_ok=True)
        q = shlex.quote
        try:
            self.run(f"tar czf {q(remote_archive)} -C {q(parent)} {q(name)}")
            try:
                with self._connection(f"downloading {remote}"):
                    self.session.sftp.get(remote_archive, str(archive))
            finally:
                self.run(f"rm -f {q(remote_archive)}")
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(incoming, filter="data")
            # the swap: the local copy is the remote one as a whole, never old files with new ones mixed in
            if local.exists():
                os.rename(local, old)
            os.rename(incoming / name, local)
        finally:
            archive.unlink(missing_ok=True)
            shutil.rmtree(incoming, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)
        log.info("downloaded %s:%s to %s", self.target.host, remote, local)

    def fetch(self, remote: str, local: Path) -> bool:
        """Copy one file if it exists there (job logs); returns whether it did."""
        with self._connection(f"downloading {remote}"):
            try:
                self.session.sftp.stat(remote)
            except FileNotFoundError:
                return False
            local.parent.mkdir(parents=True, exist_ok=True)
            self.session.sftp.get(remote, str(local))
        return True


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
