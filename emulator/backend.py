"""What every part of one emulator shares: settings, database, clock, files."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from emulator.clock import Clock
from emulator.config import Settings
from emulator.media import Prober
from emulator.presets import PresetCatalog
from emulator.storage import Storage


@dataclass
class Backend:
    settings: Settings
    engine: Engine
    clock: Clock
    storage: Storage
    catalog: PresetCatalog
    prober: Prober
    ffmpeg_path: str
    # Set when a job is created or released, so in-process workers start at
    # once instead of waiting for their next poll.
    job_available: threading.Event = field(default_factory=threading.Event)
    # Set when files may have become due (clock advanced, job finished).
    reaper_wakeup: threading.Event = field(default_factory=threading.Event)
    # One reaper pass at a time in this process: the reaper thread's and a
    # clock advance's.
    reaper_lock: threading.Lock = field(default_factory=threading.Lock)
    # Serialises the pending-job limit check within this process; PostgreSQL
    # deployments also lock the transcode account row.
    create_lock: threading.Lock = field(default_factory=threading.Lock)
