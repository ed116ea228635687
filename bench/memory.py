"""The resident memory of a process, sampled while a load runs."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from bench.emulator_process import process_rss_mb

SAMPLE_SECONDS = 0.05


class RssSampler:
    """The largest RSS seen in `pid` while the sampler is open."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_mb = 0.0
        self._stop = threading.Event()

    def run(self) -> None:
        while True:
            try:
                self.peak_mb = max(self.peak_mb, process_rss_mb(self.pid))
            except (OSError, RuntimeError):
                return
            if self._stop.wait(SAMPLE_SECONDS):
                return

    def stop(self) -> None:
        self._stop.set()


@contextmanager
def sampling_rss(pid: int) -> Iterator[RssSampler]:
    sampler = RssSampler(pid)
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    try:
        yield sampler
    finally:
        sampler.stop()
        thread.join()
