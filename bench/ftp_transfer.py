"""FTP upload and download of one large file, against a stock pyftpdlib server.

The baseline (bench/bare_ftp.py) serves a folder next to the emulator's data
directory, so both write to and read from the same disk.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench import bare_ftp
from bench.emulator_process import EmulatorProcess, free_port, passive_range
from bench.ftp_client import delete, download, upload
from bench.media import make_blob
from bench.rows import Row
from bench.scale import Scale
from bench.softlayer_rest import TranscodeUser
from bench.stats import median, paired_ratio

GOAL = 0.9


def start_bare_ftp(home: Path) -> tuple[subprocess.Popen, int]:
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.bare_ftp", "--port", str(port), "--home", str(home),
         "--passive-ports", passive_range()],
        cwd=Path(__file__).resolve().parent.parent,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the bare pyftpdlib server did not start")


def measure_ftp(
    scale: Scale, emulator: EmulatorProcess, user: TranscodeUser, work_dir: Path
) -> list[Row]:
    blob = make_blob(work_dir / "blob.bin", scale.ftp_megabytes)
    size = blob.stat().st_size
    ours_login = (emulator.ftp_port, user.ftp_username, user.ftp_password)
    process, port = start_bare_ftp(work_dir / "bare-ftp-home")
    bare_login = (port, bare_ftp.USERNAME, bare_ftp.PASSWORD)

    servers = [("bare", bare_login, "blob.bin"), ("ours", ours_login, "/in/blob.bin")]
    times: dict[str, list[float]] = {
        "bare up": [], "ours up": [], "bare down": [], "ours down": [],
    }
    try:
        for round_index in range(scale.ftp_repetitions):
            # Who goes first alternates, and each transfer starts with no dirty
            # pages left by the other's: the kernel's write-back would slow
            # whichever upload came second.
            for name, login, target in servers[:: 1 if round_index % 2 else -1]:
                os.sync()
                times[f"{name} up"].append(upload(*login, blob, target))
                os.sync()
                times[f"{name} down"].append(download(*login, target, size))
                delete(*login, target)
    finally:
        process.terminate()
        process.wait(timeout=30)

    megabytes = size / 1024 / 1024
    rate = {name: megabytes / median(samples) for name, samples in times.items()}
    # Throughput is the inverse of time: the baseline's time over ours.
    share = {
        direction: paired_ratio(times[f"bare {direction}"], times[f"ours {direction}"])
        for direction in ("up", "down")
    }
    return [
        _row("upload", rate["ours up"], rate["bare up"], share["up"], megabytes, scale),
        _row("download", rate["ours down"], rate["bare down"], share["down"], megabytes, scale),
    ]


def _row(
    direction: str, ours: float, baseline: float, share: float, megabytes: float, scale: Scale
) -> Row:
    return Row(
        what=f"FTP {direction} of {megabytes:.0f} MB",
        ours=f"{ours:.0f} MB/s",
        baseline=f"{baseline:.0f} MB/s (stock pyftpdlib, same disk)",
        comparison=f"{share:.2f}x",
        goal=f"at least {GOAL:g}x",
        met=share >= GOAL,
        note=(
            f"passive mode, 256 KiB blocks; {scale.ftp_repetitions} interleaved rounds, "
            "first server alternating, disk synced before each transfer; medians, and the "
            "median of the per-round ratios"
        ),
        figures={"ours_mb_s": ours, "baseline_mb_s": baseline, "ratio": share},
    )
