"""Start-up: `serve` until /_emulator/health is 200, against importing the stack."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.emulator_process import free_port, passive_range, serve_command, wait_until_healthy
from bench.rows import Row
from bench.scale import Scale
from bench.stats import median, paired_difference

BASELINE_COMMAND = [sys.executable, "-c", "import fastapi, sqlmodel, pyftpdlib"]
GOAL_SECONDS = 1.0


def time_serve(data_dir: Path) -> float:
    """Seconds from starting `serve` on an empty data directory to a healthy API."""
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    api_port = free_port()
    command = [
        *serve_command(),
        "--host", "127.0.0.1", "--api-port", str(api_port), "--ftp-port", str(free_port()),
        "--ftp-passive-ports", passive_range(), "--data-dir", str(data_dir),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_healthy(f"http://127.0.0.1:{api_port}", process)
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=30)


def time_imports() -> float:
    started = time.perf_counter()
    subprocess.run(BASELINE_COMMAND, check=True)
    return time.perf_counter() - started


def measure_startup(scale: Scale, work_dir: Path) -> Row:
    data_dir = work_dir / "startup"
    if scale.warm_up:
        time_serve(data_dir)
        time_imports()

    ours, baseline = [], []
    for _ in range(scale.startup_repetitions):
        baseline.append(time_imports())
        ours.append(time_serve(data_dir))

    ours_s, baseline_s = median(ours), median(baseline)
    extra = paired_difference(ours, baseline)
    return Row(
        what="start-up: `serve` until `/_emulator/health` is 200",
        ours=f"{ours_s:.2f} s",
        baseline=f"{baseline_s:.2f} s (`import fastapi, sqlmodel, pyftpdlib`)",
        comparison=f"+{extra:.2f} s",
        goal=f"under {GOAL_SECONDS:g} s more than the baseline",
        met=extra < GOAL_SECONDS,
        note=(
            f"{len(ours)} interleaved rounds, empty data directory each time; medians, "
            "and the median of the per-round differences"
        ),
        figures={"ours_s": ours_s, "baseline_s": baseline_s, "extra_s": extra,
                 "rounds": len(ours)},
    )
