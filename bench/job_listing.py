"""`getTranscodeJobs` filtered and limited to 25, with 100 k jobs against 100.

Two emulators run side by side, one whose account holds the large job
table and one the small; requests alternate between them. The jobs are
written straight into the emulator's SQLite database (the API refuses more
than 3 Pending jobs at once, and running 100 k transcodes is not the point).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert

from bench.emulator_process import EmulatorProcess, start_emulator
from bench.profiling import Profiler
from bench.rows import Row
from bench.scale import Scale
from bench.softlayer_rest import TRANSCODE_ACCOUNT, SoftLayerRest, open_transcode_account
from bench.stats import median, percentile
from emulator.models import COMPLETE, DELETED, ERROR, TranscodeJob

LISTING_USER = ("bench-listing", "bench-listing-api-key-0123456789")
PAGE = 25
GOAL = 2.0
INSERT_CHUNK = 10_000
# Mostly finished jobs, as an account that has been used for a while has.
STATUS_CYCLE = (COMPLETE,) * 8 + (ERROR, DELETED)
LISTING_FILTER = {
    "transcodeJobs": {
        "transcodeStatusName": {"operation": "Complete"},
        "createDate": {"operation": "orderBy", "options": [{"name": "sort", "value": ["DESC"]}]},
    }
}


def seed_jobs(emulator: EmulatorProcess, count: int) -> int:
    """Write `count` finished jobs for the listing user; its transcode account id."""
    user = open_transcode_account(emulator.rest_url, *LISTING_USER)
    api = SoftLayerRest(emulator.rest_url, *LISTING_USER)
    try:
        user_id = api.call("SoftLayer_Account", "getCurrentUser")["id"]
    finally:
        api.close()

    engine = create_engine(f"sqlite:///{emulator.data_dir / 'emulator.db'}")
    start = datetime.now(timezone.utc) - timedelta(days=30)
    with engine.begin() as connection:
        for first in range(0, count, INSERT_CHUNK):
            rows = [_job_row(user.transcode_account_id, user_id, n, start) for n in
                    range(first, min(count, first + INSERT_CHUNK))]
            connection.execute(insert(TranscodeJob.__table__), rows)
    engine.dispose()
    return user.transcode_account_id


def _job_row(transcode_account_id: int, user_id: int, n: int, start: datetime) -> dict:
    created = start + timedelta(seconds=20 * n)
    return {
        "transcode_account_id": transcode_account_id,
        "user_id": user_id,
        "name": f"nightly build {n}",
        "input_file": f"/in/clip-{n % 50}.wmv",
        "output_file": f"/out/clip-{n}.mp4",
        "preset_guid": "{4865A597-79C5-5237-8013-FB63B14BC118}",
        "preset_name": "MP4 H.264 640x360 1Mbps 30fps AAC",
        "job_guid": "{" + str(uuid.uuid4()).upper() + "}",
        "status_id": STATUS_CYCLE[n % len(STATUS_CYCLE)],
        "byte_in": 1_000_000 + n,
        "create_date": created,
        "modify_date": created + timedelta(seconds=15),
        "progress": 100,
        "attempts": 1,
    }


def listing_url(emulator: EmulatorProcess, transcode_account_id: int) -> str:
    return f"{emulator.rest_url}{TRANSCODE_ACCOUNT}/{transcode_account_id}/getTranscodeJobs.json"


def timed_listing(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(
        url,
        params={"objectFilter": json.dumps(LISTING_FILTER), "resultLimit": f"0,{PAGE}"},
    )
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    jobs = response.json()
    if len(jobs) != PAGE or any(job["transcodeStatusId"] != COMPLETE for job in jobs):
        raise RuntimeError(f"getTranscodeJobs answered an unexpected page: {jobs[:2]!r}")
    return elapsed


def measure_listing(scale: Scale, work_dir: Path, profiler: Profiler) -> Row:
    big = start_emulator(work_dir / "listing-big", [LISTING_USER])
    small = start_emulator(work_dir / "listing-small", [LISTING_USER])
    try:
        big_url = listing_url(big, seed_jobs(big, scale.listing_jobs))
        small_url = listing_url(small, seed_jobs(small, scale.listing_small_jobs))
        big_ms, small_ms = [], []
        with httpx.Client(auth=LISTING_USER, timeout=120) as client:
            for url in (big_url, small_url, big_url, small_url):
                timed_listing(client, url)
            with profiler.record("listing", big.pid):
                for _ in range(scale.listing_requests):
                    small_ms.append(timed_listing(client, small_url) * 1000)
                    big_ms.append(timed_listing(client, big_url) * 1000)
    finally:
        big.stop()
        small.stop()

    big_p50, small_p50 = median(big_ms), median(small_ms)
    share = big_p50 / small_p50
    return Row(
        what=f"`getTranscodeJobs` filtered and limited to {PAGE}, at {scale.listing_jobs:,} jobs",
        ours=f"p50 {big_p50:.1f} ms (p99 {percentile(big_ms, 99):.1f} ms)",
        baseline=(
            f"p50 {small_p50:.1f} ms (p99 {percentile(small_ms, 99):.1f} ms) "
            f"at {scale.listing_small_jobs} jobs"
        ),
        comparison=f"{share:.2f}x",
        goal=f"at most {GOAL:g}x",
        met=share <= GOAL,
        note=(
            "REST, status `Complete` newest first, `resultLimit=0,25`; "
            f"{len(big_ms)} alternating requests; bench/job_listing.py"
        ),
        figures={"big_p50_ms": big_p50, "small_p50_ms": small_p50, "ratio": share},
    )
