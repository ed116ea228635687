"""REST and XML-RPC `getObject` under 32 concurrent clients, and the memory it takes.

Both protocols are measured against one baseline: a bare FastAPI endpoint
(bench/bare_api.py) that returns the same JSON on the same uvicorn settings.
Rounds of baseline, REST and XML-RPC loads are interleaved so that a noisy
neighbour hurts all three alike.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.emulator_process import EmulatorProcess, free_port, process_rss_mb
from bench.load import HttpLoad, LoadResult, run_load
from bench.memory import sampling_rss
from bench.profiling import Profiler
from bench.rows import Row
from bench.scale import Scale
from bench.softlayer_rest import JOB, TranscodeUser
from bench.stats import median, paired_ratio

REST_GOAL = 0.5
XMLRPC_GOAL = 0.35
WARM_UP_SECONDS = 1.0
SETTLE_SECONDS = 1.0


@dataclass
class Measured:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    rounds: int

    def text(self) -> str:
        return (
            f"{self.requests_per_second:,.0f} req/s, p50 {self.p50_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms"
        )


def rest_load(emulator: EmulatorProcess, user: TranscodeUser, job_id: int) -> HttpLoad:
    token = base64.b64encode(f"{user.username}:{user.api_key}".encode()).decode()
    return HttpLoad(
        url=f"{emulator.rest_url}{JOB}/{job_id}/getObject.json",
        headers=(("Authorization", f"Basic {token}"),),
    )


def xmlrpc_load(emulator: EmulatorProcess, user: TranscodeUser, job_id: int) -> HttpLoad:
    headers = {
        "authenticate": {"username": user.username, "apiKey": user.api_key},
        f"{JOB}InitParameters": {"id": job_id},
    }
    body = xmlrpc.client.dumps(({"headers": headers},), methodname="getObject")
    return HttpLoad(
        url=emulator.xmlrpc_url + JOB,
        method="POST",
        body=body.encode(),
        headers=(("Content-Type", "text/xml"),),
    )


def baseline_load(port: int, job_id: int) -> HttpLoad:
    return HttpLoad(
        url=f"http://127.0.0.1:{port}/rest/v3.1/{JOB}/{job_id}/getObject.json"
    )


def check_answers(rest: HttpLoad, xml: HttpLoad) -> dict:
    """Both protocols answer the job; the JSON is what the baseline will serve."""
    with httpx.Client(timeout=30) as client:
        answer = client.get(rest.url, headers=dict(rest.headers))
        answer.raise_for_status()
        job = answer.json()
        response = client.post(xml.url, content=xml.body, headers=dict(xml.headers))
    (from_xmlrpc,), _ = xmlrpc.client.loads(response.content)
    if from_xmlrpc.get("id") != job.get("id"):
        raise RuntimeError(f"XML-RPC answered {from_xmlrpc!r}, REST {job!r}")
    return job


def start_baseline(job: dict, work_dir: Path) -> tuple[subprocess.Popen, int]:
    job_file = work_dir / "baseline-job.json"
    job_file.write_text(json.dumps(job))
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.bare_api", "--port", str(port), "--json", str(job_file)],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    return process, port
            except httpx.TransportError:
                time.sleep(0.02)
    process.kill()
    raise RuntimeError("the bare FastAPI baseline did not start")


def summarize(results: list[LoadResult]) -> Measured:
    return Measured(
        requests_per_second=median([r.requests_per_second for r in results]),
        p50_ms=median([r.p50_ms for r in results]),
        p99_ms=median([r.p99_ms for r in results]),
        errors=sum(r.errors for r in results),
        rounds=len(results),
    )


def measure_api(
    scale: Scale,
    emulator: EmulatorProcess,
    user: TranscodeUser,
    job_id: int,
    work_dir: Path,
    profiler: Profiler,
) -> list[Row]:
    rest, xml = rest_load(emulator, user, job_id), xmlrpc_load(emulator, user, job_id)
    job = check_answers(rest, xml)
    time.sleep(SETTLE_SECONDS)
    idle_mb = emulator.rss_mb()

    process, port = start_baseline(job, work_dir)
    try:
        baseline = baseline_load(port, job_id)
        baseline_idle_mb = process_rss_mb(process.pid)
        for load in (baseline, rest, xml) if scale.warm_up else ():
            run_load(load, WARM_UP_SECONDS, scale.api_connections)

        results: dict[str, list[LoadResult]] = {"baseline": [], "rest": [], "xmlrpc": []}
        peaks = {"baseline": 0.0, "rest": 0.0}
        for _ in range(scale.api_repetitions):
            with sampling_rss(process.pid) as sampler:
                results["baseline"].append(
                    run_load(baseline, scale.api_seconds, scale.api_connections)
                )
            peaks["baseline"] = max(peaks["baseline"], sampler.peak_mb)
            with sampling_rss(emulator.pid) as sampler, profiler.record("rest", emulator.pid):
                results["rest"].append(run_load(rest, scale.api_seconds, scale.api_connections))
            peaks["rest"] = max(peaks["rest"], sampler.peak_mb)
            with profiler.record("xmlrpc", emulator.pid):
                results["xmlrpc"].append(run_load(xml, scale.api_seconds, scale.api_connections))
    finally:
        process.terminate()
        process.wait(timeout=30)

    measured = {name: summarize(runs) for name, runs in results.items()}
    shares = {
        name: paired_ratio(
            [r.requests_per_second for r in results[name]],
            [r.requests_per_second for r in results["baseline"]],
        )
        for name in ("rest", "xmlrpc")
    }
    return [
        _protocol_row("REST `getObject` on a job", measured["rest"], measured["baseline"],
                      shares["rest"], REST_GOAL, scale),
        _protocol_row("XML-RPC `getObject`, same load", measured["xmlrpc"],
                      measured["baseline"], shares["xmlrpc"], XMLRPC_GOAL, scale),
        Row(
            what="memory: idle",
            ours=f"{idle_mb:.0f} MB RSS",
            baseline=f"{baseline_idle_mb:.0f} MB (bare FastAPI process)",
            comparison=f"{idle_mb / baseline_idle_mb:.2f}x",
            goal="report",
            met=None,
            note="after start-up and account set-up, before any load",
            figures={"ours_mb": idle_mb, "baseline_mb": baseline_idle_mb},
        ),
        Row(
            what="memory: under the REST load",
            ours=f"{peaks['rest']:.0f} MB RSS",
            baseline=f"{peaks['baseline']:.0f} MB (bare FastAPI process)",
            comparison=f"{peaks['rest'] / peaks['baseline']:.2f}x",
            goal="report",
            met=None,
            note="largest RSS sampled every 50 ms during the loads",
            figures={"ours_mb": peaks["rest"], "baseline_mb": peaks["baseline"]},
        ),
    ]


def _protocol_row(
    what: str, ours: Measured, baseline: Measured, share: float, goal: float, scale: Scale
) -> Row:
    errors = ours.errors + baseline.errors
    note = (
        f"{scale.api_connections} connections, {ours.rounds} interleaved rounds of "
        f"{scale.api_seconds:g} s (baseline, REST, XML-RPC); medians, and the median "
        "of the per-round ratios of requests/s"
    )
    if errors:
        note += f"; {errors} failed requests"
    return Row(
        what=f"{what}, {scale.api_connections} concurrent clients",
        ours=ours.text(),
        baseline=baseline.text() + " (bare FastAPI endpoint)",
        comparison=f"{share:.2f}x",
        goal=f"at least {goal:g}x the baseline's requests/s",
        met=share >= goal and errors == 0,
        note=note,
        figures={
            "ours_rps": ours.requests_per_second,
            "baseline_rps": baseline.requests_per_second,
            "ours_p50_ms": ours.p50_ms,
            "ours_p99_ms": ours.p99_ms,
            "baseline_p50_ms": baseline.p50_ms,
            "baseline_p99_ms": baseline.p99_ms,
            "errors": errors,
        },
    )
