"""Deletes files when their time is up: 72 hours after creation, or auto-delete.

The reaper also notices files that reached /in or /out by other means than
an FTP upload or a job (a seed, a copy into the data directory) and starts
their retention clock when it first sees them. Every process runs one; a
file's record is deleted with a conditional DELETE before the file is, so
reapers sharing a database never act on one file twice.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Callable

from sqlalchemy import delete
from sqlmodel import Session, select

from emulator.backend import Backend
from emulator.jobs import add_history, record_file
from emulator.models import COMPLETE, DELETED, StoredFile, TranscodeAccount, TranscodeJob
from emulator.storage import IN_DIR, OUT_DIR, is_regular_file

log = logging.getLogger("emulator.reaper")

RETENTION = "retention"
AUTO_DELETE = "autoDeleteDuration"
MISSING = "missing"

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
    """One pass: record new files, delete those whose time is up.

    Returns `"<transcode account id>:<path>"` of each file deleted.
    """
    with backend.reaper_lock:
        return _reap(backend)


def reap_after(backend: Backend, change: Callable[[], None]) -> list[str]:
    """Make `change` (a clock advance), then reap with no pass in between.

    Without the lock around both, the reaper thread could delete the files
    the change made due, and the caller would not hear of them.
    """
    with backend.reaper_lock:
        change()
        return _reap(backend)


def _reap(backend: Backend) -> list[str]:
    _record_unknown_files(backend)
    now = backend.clock.time()
    with Session(backend.engine, expire_on_commit=False) as session:
        records = session.exec(select(StoredFile).order_by(StoredFile.id)).all()

    deleted = []
    for stored in records:
        reason = _reason_to_delete(backend, stored, now)
        if reason and _delete(backend, stored, reason, now):
            if reason != MISSING:
                deleted.append(f"{stored.transcode_account_id}:{stored.path}")
    return deleted


def _reason_to_delete(backend: Backend, stored: StoredFile, now: float) -> str | None:
    if not is_regular_file(_real_path(backend, stored)):
        return MISSING
    if stored.created_at + backend.settings.retention_seconds <= now:
        return RETENTION
    if stored.delete_at is not None and stored.delete_at <= now:
        return AUTO_DELETE
    return None


def _delete(backend: Backend, stored: StoredFile, reason: str, now: float) -> bool:
    with Session(backend.engine, expire_on_commit=False) as session:
        # Only the reaper whose DELETE still finds this very record goes on; a
        # file uploaded again since the pass began has a new created_at.
        claimed = session.execute(
            delete(StoredFile)
            .where(StoredFile.id == stored.id)
            .where(StoredFile.created_at == stored.created_at)
        ).rowcount
        if claimed != 1:
            session.rollback()
            return False

        if reason != MISSING:
            _real_path(backend, stored).unlink(missing_ok=True)
        if stored.path.startswith(f"/{OUT_DIR}/"):
            _mark_output_deleted(session, backend, stored, reason)
        session.commit()

    if reason != MISSING:
        log.info(
            "reaper deleted account=%s file=%s reason=%s age_s=%.0f",
            stored.transcode_account_id, stored.path, reason, now - stored.created_at,
        )
    return True


def _real_path(backend: Backend, stored: StoredFile):
    return backend.storage.home(stored.transcode_account_id) / stored.path.lstrip("/")


def _record_unknown_files(backend: Backend) -> None:
    with Session(backend.engine, expire_on_commit=False) as session:
        known = set(session.exec(select(StoredFile.transcode_account_id, StoredFile.path)).all())
        for account_id in session.exec(select(TranscodeAccount.id)).all():
            home = backend.storage.home(account_id)
            for folder in (IN_DIR, OUT_DIR):
                directory = home / folder
                if not directory.is_dir():
                    continue
                for entry in os.scandir(directory):
                    virtual = f"/{folder}/{entry.name}"
                    if (account_id, virtual) in known or not entry.is_file(follow_symlinks=False):
                        continue
                    record_file(session, backend, account_id, virtual, entry.stat().st_size)
        session.commit()


def _mark_output_deleted(
    session: Session, backend: Backend, stored: StoredFile, reason: str
) -> None:
    jobs = session.exec(
        select(TranscodeJob)
        .where(TranscodeJob.transcode_account_id == stored.transcode_account_id)
        .where(TranscodeJob.output_file == stored.path)
        .where(TranscodeJob.status_id == COMPLETE)
    ).all()
    for job in jobs:
        if reason == RETENTION:
            kept = _duration_text(backend.settings.retention_seconds)
            note = f"The output {stored.path} was deleted after the {kept} retention."
        else:
            note = f"The output {stored.path} is no longer in /out."
        add_history(session, backend, job, DELETED, note)
        log.info("job=%s status=Deleted output=%s reason=%s", job.id, stored.path, reason)


def _duration_text(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600}-hour"
    return f"{seconds}-second"
