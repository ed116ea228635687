"""The benchmarks keep working: `python -m bench --smoke` end to end, tiny counts.

Nothing here asserts speed (the machine is shared); only that every
benchmark runs against its baseline and yields sane, finite figures.
"""

from __future__ import annotations

import math
import shutil

import pytest

from bench.api_load import start_baseline
from bench.load import HttpLoad, run_load
from bench.report import BEGIN, END, write_report
from bench.runner import run
from bench.scale import SMOKE

EXPECTED_ROWS = [
    "start-up",
    "REST `getObject`",
    "XML-RPC `getObject`",
    "memory: idle",
    "memory: under the REST load",
    "job pick-up",
    "job overhead",
    "throughput",
    "FTP upload",
    "FTP download",
    "`getTranscodeJobs`",
]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    output = tmp_path_factory.mktemp("bench") / "performance.md"
    return run(SMOKE, output), output


def row(smoke, prefix: str):
    rows, _ = smoke
    (found,) = [r for r in rows if r.what.startswith(prefix)]
    return found


def positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


def test_every_benchmark_of_the_table_runs_in_order(smoke):
    rows, _ = smoke
    assert len(rows) == len(EXPECTED_ROWS)
    for found, prefix in zip(rows, EXPECTED_ROWS):
        assert found.what.startswith(prefix)


def test_rows_with_a_goal_say_whether_they_meet_it_and_memory_rows_only_report(smoke):
    rows, _ = smoke
    for found in rows:
        if found.what.startswith("memory"):
            assert found.met is None and found.goal == "report"
        else:
            assert isinstance(found.met, bool)
            assert found.verdict in ("yes", "**no**")


def test_start_up_is_timed_for_serve_and_the_bare_imports(smoke):
    figures = row(smoke, "start-up").figures
    assert positive(figures["ours_s"]) and positive(figures["baseline_s"])
    assert figures["ours_s"] < 120
    assert positive(figures["ours_cpu_s"]) and positive(figures["baseline_cpu_s"])
    assert figures["extra_s"] == pytest.approx(figures["ours_s"] - figures["baseline_s"])


@pytest.mark.parametrize("prefix", ["REST `getObject`", "XML-RPC `getObject`"])
def test_api_loads_answer_every_request_and_give_latencies(smoke, prefix):
    figures = row(smoke, prefix).figures
    assert figures["errors"] == 0
    assert positive(figures["ours_rps"]) and positive(figures["baseline_rps"])
    assert 0 < figures["ours_p50_ms"] <= figures["ours_p99_ms"]
    assert 0 < figures["baseline_p50_ms"] <= figures["baseline_p99_ms"]


def test_memory_is_read_from_the_running_processes(smoke):
    for prefix in ("memory: idle", "memory: under the REST load"):
        figures = row(smoke, prefix).figures
        # A Python process with FastAPI loaded holds tens of MB, not bytes or GBs.
        assert 20 < figures["ours_mb"] < 4096
        assert 10 < figures["baseline_mb"] < 4096


def test_job_pick_up_is_measured_from_create_to_processing(smoke):
    figures = row(smoke, "job pick-up").figures
    assert figures["samples"] == SMOKE.pickup_jobs
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] < 120_000


@pytest.mark.parametrize("prefix", ["job overhead", "throughput"])
def test_jobs_and_direct_ffmpeg_runs_both_finish(smoke, prefix):
    figures = row(smoke, prefix).figures
    assert all(positive(value) for value in figures.values())


@pytest.mark.parametrize("prefix", ["FTP upload", "FTP download"])
def test_ftp_transfers_are_timed_against_stock_pyftpdlib(smoke, prefix):
    figures = row(smoke, prefix).figures
    assert positive(figures["ours_mb_s"]) and positive(figures["baseline_mb_s"])


def test_job_listing_is_timed_at_both_table_sizes_for_a_common_and_a_rare_status(smoke):
    figures = row(smoke, "`getTranscodeJobs`").figures
    assert set(figures) == {"Complete", "Error"}
    for status in figures.values():
        assert positive(status["big_median_ms"]) and positive(status["small_median_ms"])
        ratio = status["big_median_ms"] / status["small_median_ms"]
        assert status["ratio"] == pytest.approx(ratio)


def test_the_report_holds_the_table_and_the_machine(smoke):
    rows, output = smoke
    text = output.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert "| what | ours | baseline | ours vs baseline | goal | meets goal |" in text
    for found in rows:
        assert f"| {found.what} | {found.ours} |" in text
    for fact in ("- cores:", "- memory:", "- cpu:", "- python:", "- ffmpeg:", "- date:"):
        assert fact in text


def test_writing_the_report_keeps_the_prose_around_the_table(tmp_path):
    document = tmp_path / "performance.md"
    document.write_text(
        f"# Performance\n\nintro\n\n{BEGIN}\nold table\n{END}\n\n## Findings\n\nwhy\n"
    )

    write_report(document, f"{BEGIN}\nnew table\n{END}")

    assert document.read_text() == (
        f"# Performance\n\nintro\n\n{BEGIN}\nnew table\n{END}\n\n## Findings\n\nwhy\n"
    )


@pytest.mark.parametrize("tool", ["python", "wrk"])
def test_each_load_generator_measures_the_bare_endpoint(tmp_path, tool):
    if tool == "wrk" and not shutil.which("wrk"):
        pytest.skip("wrk is not installed (apt-get install wrk)")
    job = {"id": 7, "name": "bench"}
    process, port = start_baseline(job, tmp_path)
    try:
        url = (
            f"http://127.0.0.1:{port}/rest/v3.1/"
            "SoftLayer_Network_Media_Transcode_Job/7/getObject.json"
        )
        result = run_load(HttpLoad(url), seconds=1, connections=4, tool=tool)
        missing = run_load(HttpLoad(url.replace("getObject", "nothing")), 1, 2, tool=tool)
    finally:
        process.terminate()
        process.wait(timeout=30)

    assert result.requests > 0 and result.errors == 0
    assert 0 < result.p50_ms <= result.p99_ms
    assert result.requests_per_second > 0
    # Answers that are not 200 count as errors, so a broken target cannot pass.
    assert missing.errors == missing.requests > 0
