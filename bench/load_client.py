"""A small HTTP/1.1 load client on asyncio, for machines without wrk.

`python -m bench.load_client --url URL --seconds 4 --connections 32` keeps
that many keep-alive connections busy and prints one result line in the
format bench.load reads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.load import RESULT_MARKER
from bench.stats import percentile


def build_request(
    url: str, method: str, body: bytes, headers: list[str]
) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", *headers]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    return parts.hostname or "127.0.0.1", parts.port or 80, request


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def connection(host: str, port: int, request: bytes, stop_at: float, budget: list[int],
                     latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at and budget[0] > 0:
            budget[0] -= 1
            started = time.perf_counter()
            writer.write(request)
            status = await read_response(reader)
            latencies.append(time.perf_counter() - started)
            if status >= 400:
                errors[0] += 1
    finally:
        writer.close()


async def main_async(arguments: argparse.Namespace) -> dict:
    body = Path(arguments.body_file).read_bytes() if arguments.body_file else b""
    host, port, request = build_request(arguments.url, arguments.method, body, arguments.header)
    latencies: list[float] = []
    errors, budget = [0], [arguments.max_requests]
    started = time.perf_counter()
    stop_at = started + arguments.seconds
    await asyncio.gather(*(
        connection(host, port, request, stop_at, budget, latencies, errors)
        for _ in range(arguments.connections)
    ))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "p50_us": int(percentile(latencies, 50) * 1e6) if latencies else 0,
        "p99_us": int(percentile(latencies, 99) * 1e6) if latencies else 0,
        "errors": errors[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body-file", default="")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    result = asyncio.run(main_async(parser.parse_args()))
    print(RESULT_MARKER + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
