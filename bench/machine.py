"""What the benchmarks ran on, for the report."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from emulator.transcode import find_ffmpeg

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def describe_machine() -> dict[str, str]:
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": str(os.cpu_count()),
        "memory": _memory(),
        "cpu": _cpu_model(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "ffmpeg": _ffmpeg_version(),
        "load generator": _wrk_version() or "Python asyncio client (bench/load_client.py)",
        "load average at start": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "commit": _commit(),
    }


def _memory() -> str:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            kib = int(line.split()[1])
            return f"{kib / 1024 / 1024:.1f} GiB"
    return "unknown"


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def _ffmpeg_version() -> str:
    try:
        output = subprocess.run(
            [find_ffmpeg(), "-version"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    first = output.splitlines()[0] if output else "unknown"
    return first.split(" Copyright")[0]


def _wrk_version() -> str:
    wrk = shutil.which("wrk")
    if not wrk:
        return ""
    result = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10)
    first = (result.stdout or result.stderr).splitlines()[0]
    return first.split(" Copyright")[0].split(" [")[0]


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10,
    ).stdout.strip()
    return f"{head} with uncommitted changes" if head and dirty else head or "unknown"


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""
