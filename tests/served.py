"""Start `transcode-emulator serve` as a user does, on free ports."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

READY_TIMEOUT = 60


@dataclass
class Served:
    process: subprocess.Popen
    data_dir: Path
    rest_url: str = ""
    xmlrpc_url: str = ""
    api_url: str = ""
    ftp_host: str = ""
    ftp_port: int = 0
    output: list[str] = field(default_factory=list)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def log_text(self) -> str:
        return "".join(self.output)


def passive_range() -> str:
    low = random.randrange(40000, 60000, 100)
    return f"{low}-{low + 99}"


def serve(data_dir: Path, *arguments: str, env: dict | None = None) -> Served:
    """Run `serve` with ports chosen by the OS and wait for its banner."""
    command = [
        sys.executable, "-m", "emulator.cli", "serve",
        "--data-dir", str(data_dir),
        "--api-port", "0", "--ftp-port", "0",
        "--ftp-passive-ports", passive_range(),
        *arguments,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    served = Served(process, data_dir)
    ready = threading.Event()

    def read() -> None:
        for line in process.stdout:
            served.output.append(line)
            if match := re.search(r"REST endpoint:\s+(\S+)", line):
                served.rest_url = match.group(1)
                served.api_url = served.rest_url.removesuffix("/rest/v3.1/")
            elif match := re.search(r"XML-RPC endpoint:\s+(\S+)", line):
                served.xmlrpc_url = match.group(1)
            elif match := re.search(r"FTP:\s+(\S+):(\d+)", line):
                served.ftp_host, served.ftp_port = match.group(1), int(match.group(2))
            elif "Control API:" in line:
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + READY_TIMEOUT
    while not ready.wait(0.1):
        if time.monotonic() > deadline:
            break
    if not served.rest_url:
        served.stop(signal.SIGKILL)
        raise RuntimeError("serve did not start:\n" + served.log_text())
    return served
