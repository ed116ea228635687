"""Emulators the hardening tests start themselves, on loopback and free ports."""

from __future__ import annotations

import random
from pathlib import Path

from emulator.server import Emulator


def passive_ports() -> str:
    low = random.randrange(40000, 60000, 100)
    return f"{low}-{low + 99}"


def start_in_process(data_dir: Path, **overrides) -> Emulator:
    """An emulator on free loopback ports; no transcoders unless `workers` says so."""
    settings = {
        "host": "127.0.0.1",
        "api_port": 0,
        "ftp_port": 0,
        "ftp_passive_ports": passive_ports(),
        "data_dir": data_dir,
        "workers": 0,
        **overrides,
    }
    return Emulator(**settings).start()
