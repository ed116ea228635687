"""The `getTranscodeJobs` row, from bench/filter_scale.py's measurement.

filter_scale.measure() times the same filtered, limited call against an
emulator holding 100 k jobs and one holding 100, alternating, for a status
most jobs have (`Complete`) and a rare one (`Error`). The row meets its goal
only if both stay within it.
"""

from __future__ import annotations

from bench import filter_scale
from bench.rows import Row
from bench.scale import Scale

STATUSES = ("Complete", "Error")


def measure_listing(scale: Scale) -> Row:
    figures = filter_scale.measure(
        jobs=scale.listing_jobs,
        small_jobs=scale.listing_small_jobs,
        requests=scale.listing_requests,
    )
    by_status = {status: figures[status] for status in STATUSES}
    page = filter_scale.PAGE
    return Row(
        what=f"`getTranscodeJobs` filtered and limited to {page}, at {scale.listing_jobs:,} jobs",
        ours=", ".join(
            f"p50 {f['big_median_ms']:.1f} ms ({status})" for status, f in by_status.items()
        ),
        baseline=", ".join(
            f"p50 {f['small_median_ms']:.1f} ms ({status})" for status, f in by_status.items()
        ) + f" at {scale.listing_small_jobs} jobs",
        comparison=", ".join(f"{f['ratio']:.2f}x ({status})" for status, f in by_status.items()),
        goal=f"at most {filter_scale.GOAL:g}x",
        met=all(f["met"] for f in by_status.values()),
        note=(
            f"REST, one status newest first, `resultLimit=0,{page}`; {scale.listing_requests} "
            "alternating requests per size and status; in-process emulators without "
            "workers (bench/filter_scale.py)"
        ),
        figures=by_status,
    )
