"""Fixtures of the hardening suite."""

from __future__ import annotations

from typing import Callable, Iterator

import pytest

from emulator.server import Emulator
from tests.hardening.instances import start_in_process


@pytest.fixture
def start_emulator(tmp_path_factory) -> Iterator[Callable[..., Emulator]]:
    """Start emulators for one test; all of them stop after it."""
    started: list[Emulator] = []

    def start(**overrides) -> Emulator:
        data_dir = overrides.pop("data_dir", None) or tmp_path_factory.mktemp("hardening")
        emulator = start_in_process(data_dir, **overrides)
        started.append(emulator)
        return emulator

    yield start
    for emulator in reversed(started):
        emulator.stop(grace=1)
