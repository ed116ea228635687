"""50 API clients at once while jobs transcode and an FTP upload runs, shortened for CI.

`python bench/load_test.py` runs the same code for the full 60 seconds.
"""

from __future__ import annotations

from bench.load_test import JOBS_IN_FLIGHT, run_load_test

CI_SECONDS = 10


def test_fifty_clients_beside_transcodes_and_an_upload_see_no_error_and_lose_nothing(tmp_path):
    report = run_load_test(seconds=CI_SECONDS, clients=50, work_dir=tmp_path)

    assert report.requests > 0
    assert report.failed_requests == 0, report.failures
    assert report.locked_log_lines == 0
    assert report.jobs_created >= JOBS_IN_FLIGHT
    assert report.jobs_complete == report.jobs_created, report.jobs_not_complete
    assert report.uploads >= 1 and report.upload_failures == []
    assert report.files_lost == []
    assert report.passed
