"""HTTP load from a separate process on loopback: wrk, or the Python client.

Each load keeps `connections` keep-alive connections busy for `seconds`
(wrk's `-d`; the Python client also stops after `MAX_REQUESTS`), then
reports requests/s and the p50 and p99 latency.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

RESULT_MARKER = "BENCH-JSON "
MAX_REQUESTS = 1_000_000

WRK_SCRIPT = """\
wrk.method = "{method}"
local body_file = io.open("{body_path}", "rb")
wrk.body = body_file:read("*a")
body_file:close()
{headers}
function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "{marker}{{\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, "
    .. "\\"p99_us\\": %d, \\"errors\\": %d}}\\n",
    summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.status + errors.timeout))
end
"""


@dataclass(frozen=True)
class HttpLoad:
    """One kind of request to send over and over."""

    url: str
    method: str = "GET"
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def load_tool() -> str:
    return "wrk" if shutil.which("wrk") else "python"


def run_load(
    load: HttpLoad, seconds: float, connections: int, tool: str | None = None
) -> LoadResult:
    tool = tool or load_tool()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as scratch:
        body_path = Path(scratch) / "body"
        body_path.write_bytes(load.body)
        if tool == "wrk":
            output = _run_wrk(load, body_path, seconds, connections, Path(scratch))
        else:
            output = _run_python_client(load, body_path, seconds, connections)
    return _parse(output)


def _run_wrk(
    load: HttpLoad, body_path: Path, seconds: float, connections: int, scratch: Path
) -> str:
    headers = "\n".join(
        f'wrk.headers["{name}"] = "{value}"' for name, value in load.headers
    )
    script = scratch / "load.lua"
    script.write_text(
        WRK_SCRIPT.format(
            method=load.method, body_path=body_path, headers=headers, marker=RESULT_MARKER
        )
    )
    # wrk takes whole seconds only.
    duration = f"{max(1, round(seconds))}s"
    command = [
        "wrk", "-t1", f"-c{connections}", f"-d{duration}", "--timeout", "10s",
        "-s", str(script), load.url,
    ]
    return _checked_output(command, seconds)


def _run_python_client(load: HttpLoad, body_path: Path, seconds: float, connections: int) -> str:
    command = [
        sys.executable, "-m", "bench.load_client",
        "--url", load.url, "--method", load.method, "--body-file", str(body_path),
        "--seconds", str(seconds), "--connections", str(connections),
        "--max-requests", str(MAX_REQUESTS),
        *[arg for name, value in load.headers for arg in ("--header", f"{name}: {value}")],
    ]
    return _checked_output(command, seconds)


def _checked_output(command: list[str], seconds: float) -> str:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {result.stderr or result.stdout}")
    return result.stdout


def _parse(output: str) -> LoadResult:
    for line in output.splitlines():
        if line.startswith(RESULT_MARKER):
            figures = json.loads(line[len(RESULT_MARKER):])
            return LoadResult(
                requests=figures["requests"],
                seconds=figures["duration_us"] / 1e6,
                errors=figures["errors"],
                p50_ms=figures["p50_us"] / 1000,
                p99_ms=figures["p99_us"] / 1000,
            )
    raise RuntimeError(f"the load generator reported no result:\n{output[-2000:]}")
