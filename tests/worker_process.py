"""Start `transcode-emulator worker` as an operator does, beside a `serve` process."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

READY_TIMEOUT = 60


class WorkerProcess:
    """Transcoders only, on the data directory (and database) of a `serve` process."""

    def __init__(self, data_dir: Path, database_url: str = "", transcoders: int = 2) -> None:
        command = [
            sys.executable, "-m", "emulator.cli", "worker",
            "--data-dir", str(data_dir), "--workers", str(transcoders),
        ]
        if database_url:
            command += ["--database-url", database_url]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.output: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            if line.strip().startswith("Transcoders:"):
                self.ready.set()
        self.ready.set()

    def wait_ready(self) -> None:
        self.ready.wait(READY_TIMEOUT)
        if self.process.poll() is not None or not self.ready.is_set():
            raise RuntimeError("the worker did not start:\n" + "".join(self.output))

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
