"""How much work each benchmark does: the full run, or the smoke run of CI."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    # Untimed first rounds that warm caches before the timed ones.
    warm_up: bool
    # Start-up: serve and the bare import, each this many times, interleaved.
    startup_repetitions: int
    # REST and XML-RPC: rounds of (baseline, REST, XML-RPC) loads.
    api_repetitions: int
    api_seconds: float
    api_connections: int
    # Job pick-up: jobs created one after another on idle workers.
    pickup_jobs: int
    # Job overhead and throughput: 640x360 clips of this length, through the
    # emulator and through the same ffmpeg command run directly.
    clip_seconds: float
    overhead_repetitions: int
    throughput_repetitions: int
    throughput_jobs: int
    # getTranscodeJobs: the large and the small job table.
    listing_jobs: int
    listing_small_jobs: int
    listing_requests: int
    # FTP: a file of this size, uploaded and downloaded.
    ftp_megabytes: int
    ftp_repetitions: int


FULL = Scale(
    name="full",
    warm_up=True,
    startup_repetitions=5,
    api_repetitions=5,
    api_seconds=4.0,
    api_connections=32,
    pickup_jobs=30,
    clip_seconds=10,
    overhead_repetitions=7,
    throughput_repetitions=3,
    throughput_jobs=12,
    listing_jobs=100_000,
    listing_small_jobs=100,
    listing_requests=60,
    ftp_megabytes=200,
    ftp_repetitions=15,
)

SMOKE = Scale(
    name="smoke",
    warm_up=False,
    startup_repetitions=1,
    api_repetitions=1,
    api_seconds=1.0,
    api_connections=4,
    pickup_jobs=2,
    clip_seconds=1,
    overhead_repetitions=1,
    throughput_repetitions=1,
    throughput_jobs=2,
    listing_jobs=500,
    listing_small_jobs=40,
    listing_requests=5,
    ftp_megabytes=2,
    ftp_repetitions=1,
)
