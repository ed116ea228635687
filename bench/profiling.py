"""py-spy recordings of the emulator while a benchmark loads it.

`python -m bench --profile DIR` records each load into DIR/<name>.txt
(collapsed stacks) and DIR/<name>-top.txt (the functions holding most
samples, inclusive and self), which is what docs/performance.md quotes.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

TOP = 30
SAMPLE_RATE = 250


class Profiler:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        if directory is not None:
            if not shutil.which("py-spy"):
                raise RuntimeError("--profile needs py-spy: pip install -e '.[bench]'")
            directory.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def record(self, name: str, pid: int) -> Iterator[None]:
        if self.directory is None:
            yield
            return
        raw = self.directory / f"{name}.txt"
        command = [
            "py-spy", "record", "--pid", str(pid), "--format", "raw",
            "--rate", str(SAMPLE_RATE), "--nonblocking", "--output", str(raw),
        ]
        recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            yield
        finally:
            recorder.send_signal(signal.SIGINT)
            recorder.wait(timeout=60)
        if raw.exists():
            (self.directory / f"{name}-top.txt").write_text(summarize(raw))


def summarize(raw: Path, top: int = TOP) -> str:
    """Functions by share of samples: inclusive (anywhere on the stack) and self."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    lines = [f"{total} samples", "", "inclusive:"]
    lines += [f"{n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(top)]
    lines += ["", "self:"]
    lines += [f"{n / total:6.1%}  {frame}" for frame, n in own.most_common(top)]
    return "\n".join(lines) + "\n"
