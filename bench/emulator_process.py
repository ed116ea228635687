"""`transcode-emulator serve` in a process of its own, on free loopback ports."""

from __future__ import annotations

import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

HOST = "127.0.0.1"
READY_TIMEOUT = 90.0
HEALTH_PATH = "/_emulator/health"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def passive_range() -> str:
    low = random.randrange(40000, 60000, 100)
    return f"{low}-{low + 99}"


def serve_command() -> list[str]:
    """The installed `transcode-emulator` script, as a user runs it."""
    script = shutil.which("transcode-emulator")
    if script:
        return [script, "serve"]
    return [sys.executable, "-m", "emulator.cli", "serve"]


@dataclass
class EmulatorProcess:
    process: subprocess.Popen
    data_dir: Path
    log_path: Path
    api_url: str
    ftp_port: int
    users: list[tuple[str, str]]

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def rest_url(self) -> str:
        return self.api_url + "/rest/v3.1/"

    @property
    def xmlrpc_url(self) -> str:
        return self.api_url + "/xmlrpc/v3.1/"

    def rss_mb(self) -> float:
        return process_rss_mb(self.pid)

    def log_events(self) -> list[dict]:
        """The JSON log lines written so far, each with `at` in epoch seconds."""
        events = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            event["at"] = datetime.fromisoformat(event["time"]).timestamp()
            events.append(event)
        return events

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_emulator(
    data_dir: Path,
    users: list[tuple[str, str]],
    extra_arguments: tuple[str, ...] = (),
) -> EmulatorProcess:
    """Start `serve` with JSON logs in `data_dir`/serve.log and wait until healthy."""
    data_dir.mkdir(parents=True, exist_ok=True)
    api_port, ftp_port = free_port(), free_port()
    command = [
        *serve_command(),
        "--host", HOST,
        "--api-port", str(api_port),
        "--ftp-port", str(ftp_port),
        "--ftp-passive-ports", passive_range(),
        "--data-dir", str(data_dir),
        "--log-format", "json",
        *[f"--user={name}:{key}" for name, key in users],
        *extra_arguments,
    ]
    log_path = data_dir / "serve.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    emulator = EmulatorProcess(
        process, data_dir, log_path, f"http://{HOST}:{api_port}", ftp_port, users
    )
    try:
        wait_until_healthy(emulator.api_url, process)
    except RuntimeError:
        emulator.stop()
        raise RuntimeError(
            "serve did not become healthy:\n" + log_path.read_text(errors="replace")[-4000:]
        ) from None
    return emulator


def wait_until_healthy(
    api_url: str, process: subprocess.Popen, timeout: float = READY_TIMEOUT
) -> None:
    """Poll /_emulator/health every 5 ms until it answers 200."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"serve exited with {process.returncode}")
            try:
                if client.get(api_url + HEALTH_PATH).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.005)
    raise RuntimeError("serve was not healthy in time")


def process_rss_mb(pid: int) -> float:
    return _status_kib(pid, "VmRSS") / 1024


def process_peak_rss_mb(pid: int) -> float:
    return _status_kib(pid, "VmHWM") / 1024


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {key}")
