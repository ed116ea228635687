"""Job status changes read from the emulator's JSON log, to the microsecond.

Workers log one line per status change (`job=42 status=Processing ...`), so
the moment a job changed status is known without polling the API (which
would load the server being measured).
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path

STATUS_CHANGE = re.compile(r"\bjob=(\d+) status=(\w+)")
POLL_SECONDS = 0.02


class JobFailed(RuntimeError):
    pass


class JobLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.changes: dict[tuple[int, str], float] = {}
        self.messages: dict[int, str] = {}

    def read_new_lines(self) -> None:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            chunk = log.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.decode(errors="replace").splitlines():
            if "status=" not in line or not line.startswith("{"):
                continue
            event = json.loads(line)
            match = STATUS_CHANGE.search(event.get("message", ""))
            if match is None:
                continue
            key = (int(match.group(1)), match.group(2))
            if key not in self.changes:
                self.changes[key] = datetime.fromisoformat(event["time"]).timestamp()
                self.messages[key[0]] = event["message"]

    def wait_for(self, job_id: int, status: str, timeout: float = 300.0) -> float:
        """Epoch seconds at which the job reached `status`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read_new_lines()
            if (job_id, status) in self.changes:
                return self.changes[(job_id, status)]
            if (job_id, "Error") in self.changes:
                raise JobFailed(f"job {job_id} failed: {self.messages.get(job_id)}")
            time.sleep(POLL_SECONDS)
        raise TimeoutError(f"job {job_id} did not reach {status} in {timeout:g} s")
