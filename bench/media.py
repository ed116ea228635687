"""Test-pattern clips for the benchmarks, made with the ffmpeg the emulator runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from emulator.transcode import find_ffmpeg


def make_clip(path: Path, seconds: float, size: str = "640x360", rate: int = 30) -> Path:
    """A moving test pattern with a tone, as WMV8 video and WMA audio in ASF."""
    if path.exists():
        return path
    command = [
        find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}",
        "-c:v", "wmv2", "-b:v", "2M", "-c:a", "wmav2", str(path),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    return path


def make_blob(path: Path, megabytes: int) -> Path:
    """A file of incompressible bytes for transfer benchmarks."""
    if path.exists() and path.stat().st_size == megabytes * 1024 * 1024:
        return path
    chunk = 1024 * 1024
    with path.open("wb") as blob, open("/dev/urandom", "rb") as random_bytes:
        for _ in range(megabytes):
            blob.write(random_bytes.read(chunk))
    return path
