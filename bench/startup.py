"""Start-up: `serve` until /_emulator/health is 200, against importing the stack."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.emulator_process import free_port, passive_range, serve_command, wait_until_healthy
from bench.rows import Row
from bench.scale import Scale
from bench.stats import median, paired_difference

BASELINE_COMMAND = [sys.executable, "-c", "import fastapi, sqlmodel, pyftpdlib"]
GOAL_SECONDS = 1.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Start:
    """Wall-clock seconds to ready, and the CPU seconds the process used by then."""

    seconds: float
    cpu_seconds: float


def time_serve(data_dir: Path) -> Start:
    """From starting `serve` on an empty data directory to a healthy API."""
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
        return Start(time.perf_counter() - started, _cpu_seconds(process.pid))
    finally:
        process.terminate()
        process.wait(timeout=30)


def time_imports() -> Start:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(BASELINE_COMMAND, check=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Start(elapsed, cpu)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    user_ticks, system_ticks = int(fields[11]), int(fields[12])
    return (user_ticks + system_ticks) / CLOCK_TICKS


def measure_startup(scale: Scale, work_dir: Path) -> Row:
    data_dir = work_dir / "startup"
    if scale.warm_up:
        time_serve(data_dir)
        time_imports()

    ours, baseline = [], []
    for _ in range(scale.startup_repetitions):
        baseline.append(time_imports())
        ours.append(time_serve(data_dir))

    ours_s = median([s.seconds for s in ours])
    baseline_s = median([s.seconds for s in baseline])
    extra = paired_difference([s.seconds for s in ours], [s.seconds for s in baseline])
    ours_cpu = median([s.cpu_seconds for s in ours])
    baseline_cpu = median([s.cpu_seconds for s in baseline])
    return Row(
        what="start-up: `serve` until `/_emulator/health` is 200",
        ours=f"{ours_s:.2f} s",
        baseline=f"{baseline_s:.2f} s (`import fastapi, sqlmodel, pyftpdlib`)",
        comparison=f"+{extra:.2f} s",
        goal=f"under {GOAL_SECONDS:g} s more than the baseline",
        met=extra < GOAL_SECONDS,
        note=(
            f"{len(ours)} interleaved rounds, empty data directory each time; medians, "
            "and the median of the per-round differences; CPU time used by then "
            f"(noise-free): ours {ours_cpu:.2f} s, baseline {baseline_cpu:.2f} s"
        ),
        figures={
            "ours_s": ours_s, "baseline_s": baseline_s, "extra_s": extra,
            "ours_cpu_s": ours_cpu, "baseline_cpu_s": baseline_cpu, "rounds": len(ours),
        },
    )
