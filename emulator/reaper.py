"""Deletes files when their time is up: 72 hours after creation, or auto-delete.

The reaper also notices files that reached /in or /out by other means than
an FTP upload or a job (a seed, a copy into the data directory) and starts
their retention clock when it first sees them.
"""

from __future__ import annotations

import logging
import os
import threading

from sqlmodel import Session, select

from emulator.backend import Backend
from emulator.jobs import add_history, record_file
from emulator.models import COMPLETE, DELETED, StoredFile, TranscodeAccount, TranscodeJob
from emulator.storage import IN_DIR, OUT_DIR

log = logging.getLogger("emulator.reaper")


class Reaper(threading.Thread):
    def __init__(self, backend: Backend) -> None:
        super().__init__(name="reaper", daemon=True)
        self.backend = backend
        self.stopping = threading.Event()

    def run(self) -> None:
        wakeup = self.backend.reaper_wakeup
        while not self.stopping.is_set():
            wakeup.wait(self.backend.settings.reaper_interval)
            wakeup.clear()
            if self.stopping.is_set():
                return
            try:
                reap(self.backend)
            except Exception:
                log.exception("reaper pass failed")

    def stop(self) -> None:
        self.stopping.set()
        self.backend.reaper_wakeup.set()
        self.join(timeout=5)


def reap(backend: Backend) -> list[str]:
    """One pass: record new files, delete those whose time is up."""
    deleted: list[str] = []
    now = backend.clock.time()
    retention = backend.settings.retention_seconds
    with Session(backend.engine, expire_on_commit=False) as session:
        _record_unknown_files(session, backend)
        for stored in session.exec(select(StoredFile)).all():
            real = backend.storage.home(stored.transcode_account_id) / stored.path.lstrip("/")
            if not real.is_file():
                session.delete(stored)
                continue

            expired = stored.created_at + retention <= now
            auto_deleted = stored.delete_at is not None and stored.delete_at <= now
            if not (expired or auto_deleted):
                continue
            real.unlink(missing_ok=True)
            session.delete(stored)
            why = "retention" if expired else "autoDeleteDuration"
            log.info(
                "reaper deleted account=%s file=%s reason=%s age_s=%.0f",
                stored.transcode_account_id, stored.path, why, now - stored.created_at,
            )
            deleted.append(f"{stored.transcode_account_id}:{stored.path}")
            if stored.path.startswith(f"/{OUT_DIR}/"):
                _mark_output_deleted(session, backend, stored, why)
        session.commit()
    return deleted


def _record_unknown_files(session: Session, backend: Backend) -> None:
    known = {(f.transcode_account_id, f.path) for f in session.exec(select(StoredFile)).all()}
    for account_id in session.exec(select(TranscodeAccount.id)).all():
        home = backend.storage.home(account_id)
        for folder in (IN_DIR, OUT_DIR):
            directory = home / folder
            if not directory.is_dir():
                continue
            for entry in os.scandir(directory):
                virtual = f"/{folder}/{entry.name}"
                if entry.is_file(follow_symlinks=False) and (account_id, virtual) not in known:
                    record_file(session, backend, account_id, virtual, entry.stat().st_size)
    session.flush()


def _mark_output_deleted(session: Session, backend: Backend, stored: StoredFile, why: str) -> None:
    jobs = session.exec(
        select(TranscodeJob)
        .where(TranscodeJob.transcode_account_id == stored.transcode_account_id)
        .where(TranscodeJob.output_file == stored.path)
        .where(TranscodeJob.status_id == COMPLETE)
    ).all()
    for job in jobs:
        hours = backend.settings.retention_seconds / 3600
        note = (
            f"The output {stored.path} was deleted after the {hours:g}-hour retention."
            if why == "retention"
            else f"The output {stored.path} was deleted."
        )
        add_history(session, backend, job, DELETED, note)
