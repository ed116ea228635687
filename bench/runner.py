"""Run the benchmarks in order and write the table.

One emulator serves the API, job and FTP benchmarks, with four users so a
batch of jobs is not held back by the limit of 3 Pending jobs per account;
start-up and the job listing start emulators of their own.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from bench.api_load import measure_api
from bench.emulator_process import EmulatorProcess, start_emulator
from bench.ftp_client import upload
from bench.ftp_transfer import measure_ftp
from bench.job_listing import measure_listing
from bench.job_log import JobLog
from bench.machine import describe_machine
from bench.media import make_clip
from bench.profiling import Profiler
from bench.report import render, write_report
from bench.rows import Row
from bench.scale import Scale
from bench.softlayer_rest import TranscodeUser, open_transcode_account
from bench.startup import measure_startup
from bench.transcoding import (
    QUICK_PRESET,
    JobRunner,
    find_preset,
    measure_overhead,
    measure_pickup,
    measure_throughput,
)

log = logging.getLogger("bench")

GROUPS = ("startup", "api", "jobs", "ftp", "listing")
BENCH_USERS = [(f"bench-{name}", f"bench-{name}-api-key-0123456789abcdef") for name in "abcd"]
QUICK_CLIP = "/in/quick.wmv"
CLIP = "/in/clip.wmv"


def run(
    scale: Scale,
    output: Path | None,
    groups: tuple[str, ...] = GROUPS,
    profile_dir: Path | None = None,
    keep_dir: Path | None = None,
) -> list[Row]:
    """Run the benchmark groups; `keep_dir` keeps the emulators' data and logs."""
    started = time.monotonic()
    machine = describe_machine()
    profiler = Profiler(profile_dir)
    rows: list[Row] = []

    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        work_dir = keep_dir or Path(scratch)
        work_dir.mkdir(parents=True, exist_ok=True)
        if "startup" in groups:
            log.info("start-up")
            rows.append(measure_startup(scale, work_dir))
        if {"api", "jobs", "ftp"} & set(groups):
            rows += _shared_emulator_rows(scale, work_dir, groups, profiler)
        if "listing" in groups:
            log.info("getTranscodeJobs at %s jobs", scale.listing_jobs)
            rows.append(measure_listing(scale))

    minutes = (time.monotonic() - started) / 60
    if output is not None:
        write_report(output, render(rows, machine, scale, minutes))
    return rows


def _shared_emulator_rows(
    scale: Scale, work_dir: Path, groups: tuple[str, ...], profiler: Profiler
) -> list[Row]:
    emulator = start_emulator(work_dir / "emulator", BENCH_USERS)
    rows: list[Row] = []
    try:
        users = [open_transcode_account(emulator.rest_url, *user) for user in BENCH_USERS]
        clip = _upload_clips(scale, emulator, users, work_dir)
        runner = JobRunner(emulator, JobLog(emulator.log_path))

        if "api" in groups:
            log.info("REST and XML-RPC getObject")
            job_id, _ = runner.create(users[0], QUICK_CLIP, "api", find_preset(QUICK_PRESET))
            runner.log.wait_for(job_id, "Complete")
            rows += measure_api(scale, emulator, users[0], job_id, work_dir, profiler)
        if "jobs" in groups:
            log.info("job pick-up, overhead and throughput")
            with profiler.record("pickup", emulator.pid):
                rows.append(measure_pickup(scale, runner, users[0], QUICK_CLIP))
            with profiler.record("overhead", emulator.pid):
                rows.append(measure_overhead(scale, runner, users[0], CLIP, clip, work_dir))
            with profiler.record("throughput", emulator.pid):
                rows.append(measure_throughput(scale, runner, users, CLIP, clip, work_dir))
        if "ftp" in groups:
            log.info("FTP transfers of %s MB", scale.ftp_megabytes)
            with profiler.record("ftp", emulator.pid):
                rows += measure_ftp(scale, emulator, users[0], work_dir)
    finally:
        emulator.stop()
    return rows


def _upload_clips(
    scale: Scale, emulator: EmulatorProcess, users: list[TranscodeUser], work_dir: Path
) -> Path:
    """Put the quick clip and the 640x360 clip in every user's /in; the latter's path."""
    quick = make_clip(work_dir / "quick.wmv", seconds=1, size="320x240", rate=15)
    clip = make_clip(work_dir / "clip.wmv", seconds=scale.clip_seconds)
    for user in users:
        login = (emulator.ftp_port, user.ftp_username, user.ftp_password)
        upload(*login, quick, QUICK_CLIP)
        upload(*login, clip, CLIP)
    return clip
