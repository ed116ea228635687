"""The one place the emulator reads the time, so tests can move it forward.

Service time is the wall clock plus an offset. The offset lives in the
database, so every API and worker process sharing that database agrees on
what time it is after `POST /_emulator/clock/advance`.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

REFRESH_SECONDS = 0.5


class Clock:
    def __init__(self, load_offset: Callable[[], float] | None = None) -> None:
        self._offset = 0.0
        self._load_offset = load_offset
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def time(self) -> float:
        """Seconds since the epoch in service time."""
        return time.time() + self.offset()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), tz=timezone.utc)

    def offset(self) -> float:
        if self._load_offset is None:
            return self._offset

        # Other processes may advance the shared clock; re-read it now and then.
        monotonic = time.monotonic()
        if monotonic - self._loaded_at > REFRESH_SECONDS:
            with self._lock:
                self._offset = self._load_offset()
                self._loaded_at = monotonic
        return self._offset

    def set_offset(self, offset: float) -> None:
        with self._lock:
            self._offset = offset
            self._loaded_at = time.monotonic()

    def advance(self, seconds: float) -> timedelta:
        self.set_offset(self.offset() + seconds)
        return timedelta(seconds=self._offset)
