"""A private sshd on localhost for tests that go through an SSH context (no mocks).

Use in a test module::

    from ssh_support import ssh_server  # noqa: F401  (a pytest fixture)

    def test_something(ssh_server, tmp_path):
        ssh_server.host, ssh_server.port, ssh_server.user, ssh_server.key_file

The fixture generates a host key and a client key pair in a temporary folder, starts
``sshd -D -f CONFIG`` on a free port of 127.0.0.1 (public keys only, the test's user, sftp
built in) and stops it at the end of the module.  Without ``sshd`` or ``ssh-keygen`` it skips the
test with the reason, unless the environment sets ``NUCLEATE_REQUIRE_SSH=1`` (CI does, in
``.ci/run``): then the test fails instead.  Debian: ``apt-get install openssh-server``.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALL_HINT = "install OpenSSH (Debian: apt-get install -y openssh-server openssh-client)"


@dataclass(frozen=True)
class SSHServer:
    host: str
    port: int
    user: str
    key_file: Path
    folder: Path  # the server's own files (config, keys, log)

    def ssh(self, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run a command on the server with the OpenSSH client (checks independent of paramiko)."""
        return subprocess.run(["ssh", "-p", str(self.port), "-i", str(self.key_file), "-o", "BatchMode=yes",
                               "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                               "-o", "LogLevel=ERROR", f"{self.user}@{self.host}", command],
                              capture_output=True, text=True, timeout=timeout)


def _unavailable(reason: str):
    if os.environ.get("NUCLEATE_REQUIRE_SSH") == "1":
        pytest.fail(f"NUCLEATE_REQUIRE_SSH=1 but no private sshd: {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    """The port greets with an SSH banner (sshd is listening, not just the socket bound)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            return sock.recv(64).startswith(b"SSH-")
    except OSError:
        return False


@pytest.fixture(scope="module")
def ssh_server(tmp_path_factory):
    """A responding sshd for this module's tests, or a skip (a failure when NUCLEATE_REQUIRE_SSH=1)."""
    sshd = shutil.which("sshd") or next((p for p in ("/usr/sbin/sshd", "/usr/local/sbin/sshd") if os.access(p, os.X_OK)),
                                        None)
    keygen = shutil.which("ssh-keygen")
    if sshd is None or keygen is None:
        _unavailable(f"{'sshd' if sshd is None else 'ssh-keygen'} is not installed; {INSTALL_HINT}")
    privsep = Path("/run/sshd")  # sshd refuses to start without its privilege-separation folder
    if not privsep.is_dir():
        try:
            privsep.mkdir(mode=0o755, parents=True)
        except OSError as exc:
            _unavailable(f"sshd needs {privsep} and it cannot be made ({exc.strerror}); make it as root")
    folder = tmp_path_factory.mktemp("sshd")
    folder.chmod(0o700)
    for name in ("host_key", "client_key"):
        result = subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-C", f"nucleate-test-{name}",
                                 "-f", str(folder / name)], capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            _unavailable(f"ssh-keygen failed: {result.stderr.strip()}")
    shutil.copy(folder / "client_key.pub", folder / "authorized_keys")
    port, user = _free_port(), getpass.getuser()
    config = folder / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {folder / 'host_key'}",
        f"AuthorizedKeysFile {folder / 'authorized_keys'}", f"PidFile {folder / 'sshd.pid'}",
        "PubkeyAuthentication yes", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "UsePAM no", "PermitRootLogin yes", "StrictModes no",  # the keys live in a temporary folder
        f"AllowUsers {user}", "Subsystem sftp internal-sftp",  # dpdispatcher stages files through sftp
        "LogLevel ERROR", ""]))
    check = subprocess.run([sshd, "-t", "-f", str(config)], capture_output=True, text=True, timeout=60)
    if check.returncode != 0:
        _unavailable(f"sshd refuses the test configuration: {check.stderr.strip()}")
    log = open(folder / "sshd.log", "w")  # noqa: SIM115 - sshd writes to it until the fixture stops it
    process = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                _unavailable(f"sshd did not start on port {port}: {(folder / 'sshd.log').read_text()[-500:]}")
            time.sleep(0.1)
        server = SSHServer(host="127.0.0.1", port=port, user=user, key_file=folder / "client_key", folder=folder)
        probe = server.ssh("echo ok") if shutil.which("ssh") else None
        if probe is not None and probe.stdout.strip() != "ok":
            _unavailable(f"sshd on port {port} refuses the test key: {probe.stderr.strip()[-500:]}")
        yield server
    finally:
        process.terminate()  # the listener: sessions it started end with their clients
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
