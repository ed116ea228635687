"""A throw-away PostgreSQL server from Debian's packages, on a free loopback port.

PostgreSQL refuses to run as root; as root, the server runs as the
`postgres` system user (created by Debian's postgresql package). The server
is this process's own child, so stopping it is a signal to its pid.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

START_TIMEOUT = 60
SERVER_USER = "postgres"


@dataclass
class PostgresServer:
    process: subprocess.Popen
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/transcode"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def log_text(self) -> str:
        return (self.directory / "postgres.log").read_text(errors="replace")


def start_postgres() -> PostgresServer:
    """Initialise and start a server, or skip the test saying what is missing."""
    bin_dir = _server_binaries()
    identity = _server_identity()
    directory = Path(tempfile.mkdtemp(prefix="transcode-pg-"))
    if identity:
        os.chown(directory, identity["user"], identity["group"])

    data = directory / "data"
    subprocess.run(
        [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
         "-A", "trust", "-E", "UTF8", "--no-sync"],
        check=True, capture_output=True, timeout=120, cwd=directory, **identity,
    )
    port = _free_port()
    with open(directory / "postgres.log", "wb") as log:
        process = subprocess.Popen(
            [str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
             "-k", str(directory), "-c", "listen_addresses=127.0.0.1",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200"],
            stdout=log, stderr=subprocess.STDOUT, cwd=directory, **identity,
        )
    server = PostgresServer(process, directory, port)
    try:
        _create_database(server)
    except Exception:
        server.stop()
        raise
    return server


def _server_binaries() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    for candidate in reversed(candidates):
        if os.access(Path(candidate) / "postgres", os.X_OK):
            return Path(candidate)
    pytest.skip(
        "the PostgreSQL server is not installed (Debian package postgresql; "
        "scripts/install-test-deps installs it)"
    )


def _server_identity() -> dict:
    """subprocess options that run the server as a user it accepts."""
    if os.geteuid() != 0:
        return {}
    try:
        account = pwd.getpwnam(SERVER_USER)
    except KeyError:
        pytest.skip(
            "running as root and no 'postgres' system user exists to run PostgreSQL as "
            "(install Debian's postgresql package, which creates it)"
        )
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _create_database(server: PostgresServer) -> None:
    import psycopg

    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if server.process.poll() is not None:
            raise RuntimeError("PostgreSQL did not start:\n" + server.log_text())
        try:
            connection = psycopg.connect(
                host="127.0.0.1", port=server.port, user="postgres", dbname="postgres",
                autocommit=True, connect_timeout=5,
            )
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not accept connections:\n" + server.log_text())
            time.sleep(0.2)
    with connection:
        connection.execute("CREATE DATABASE transcode")
