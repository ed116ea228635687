"""Timed FTP transfers with the standard library's client."""

from __future__ import annotations

import ftplib
import time
from pathlib import Path

BLOCK_SIZE = 256 * 1024
TIMEOUT = 120


def connect(port: int, username: str, password: str) -> ftplib.FTP:
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", port, timeout=TIMEOUT)
    ftp.login(username, password)
    return ftp


def upload(port: int, username: str, password: str, source: Path, target: str) -> float:
    """Seconds the STOR of `source` took, login excluded."""
    with connect(port, username, password) as ftp:
        with source.open("rb") as stream:
            started = time.perf_counter()
            ftp.storbinary(f"STOR {target}", stream, blocksize=BLOCK_SIZE)
            return time.perf_counter() - started


def download(port: int, username: str, password: str, target: str, expected_bytes: int) -> float:
    """Seconds the RETR of `target` took; the bytes are counted, not kept."""
    received = 0

    def count(block: bytes) -> None:
        nonlocal received
        received += len(block)

    with connect(port, username, password) as ftp:
        started = time.perf_counter()
        ftp.retrbinary(f"RETR {target}", count, blocksize=BLOCK_SIZE)
        elapsed = time.perf_counter() - started
    if received != expected_bytes:
        raise RuntimeError(f"RETR {target} gave {received} bytes, expected {expected_bytes}")
    return elapsed


def delete(port: int, username: str, password: str, target: str) -> None:
    with connect(port, username, password) as ftp:
        ftp.delete(target)
