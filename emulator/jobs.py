"""Transcode job rules: creation checks, status changes, files and naming."""

from __future__ import annotations

import json
import logging
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from emulator.backend import Backend
from emulator.db import is_postgres
from emulator.errors import SoftLayer_Exception_Network_Media_Transcode, SoftLayer_Exception_Public
from emulator.models import (
    JOB_STATUSES,
    PENDING,
    PROCESSING,
    StoredFile,
    TranscodeAccount,
    TranscodeJob,
    TranscodeJobHistory,
    User,
)
from emulator.notifications import record_status_notification
from emulator.storage import IN_DIR, OUT_DIR, InvalidPath, is_regular_file

log = logging.getLogger("emulator.jobs")

MAX_PENDING_JOBS = 3
MAX_AUTO_DELETE_SECONDS = 259_200
MAX_NAME_LENGTH = 255
MAX_FILE_NAME_BYTES = 255
OUTPUT_NAME_ATTEMPTS = 1000
REQUIRED_PROPERTIES = ("transcodePresetName", "transcodePresetGuid", "inputFile", "outputFile")
TEMPLATE_PROPERTIES = set(REQUIRED_PROPERTIES) | {
    "name", "autoDeleteDuration", "watermark", "transcodeAccountId", "id", "userId",
}
WATERMARK_PROPERTIES = {
    "fileName", "text", "position", "startTime", "endTime", "transparencyPercentage",
}


def refused(message: str) -> SoftLayer_Exception_Network_Media_Transcode:
    return SoftLayer_Exception_Network_Media_Transcode(message)


def create_job(
    session: Session,
    backend: Backend,
    user: User,
    transcode_account: TranscodeAccount,
    template: Any,
) -> TranscodeJob:
    """Check a job template against the service's rules and queue the job."""
    fields = _checked_template(template)
    preset = backend.catalog.get(fields["transcodePresetGuid"])
    if preset is None:
        raise refused(f"Unknown transcode preset GUID '{_short(fields['transcodePresetGuid'])}'.")
    if preset.name != fields["transcodePresetName"]:
        raise refused(
            f"transcodePresetName '{_short(fields['transcodePresetName'])}' does not match "
            f"the preset {preset.guid}, '{preset.name}'."
        )

    storage = backend.storage
    source = storage.resolve(transcode_account.id, fields["inputFile"], (IN_DIR,), "inputFile")
    if not is_regular_file(source.real):
        raise refused(f"The input file '{source.virtual}' does not exist in /in.")
    output = storage.resolve(transcode_account.id, fields["outputFile"], (OUT_DIR,), "outputFile")
    if output.virtual == "/out":
        raise refused("The outputFile must name a file in /out.")
    if len(PurePosixPath(output.virtual).parts) != 3:
        raise refused("The outputFile must name a file directly in /out.")
    _check_output_name_fits(PurePosixPath(output.virtual).name, preset.extension)

    auto_delete = _auto_delete(fields.get("autoDeleteDuration"))
    watermark = _watermark(fields.get("watermark"), storage, transcode_account.id)
    name = fields.get("name") or ""
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH:
        raise refused(f"The job name must be a string of at most {MAX_NAME_LENGTH} characters.")

    with backend.create_lock:
        _lock_account(session, backend, transcode_account.id)
        _check_pending_limit(session, transcode_account.id)
        now = backend.clock.now()
        job = TranscodeJob(
            transcode_account_id=transcode_account.id,
            user_id=user.id,
            name=name,
            input_file=source.virtual,
            output_file=output.virtual,
            preset_guid=preset.guid,
            preset_name=preset.name,
            job_guid="{" + str(uuid.uuid4()).upper() + "}",
            status_id=PENDING,
            byte_in=source.real.stat().st_size,
            auto_delete_duration=auto_delete,
            create_date=now,
            modify_date=now,
            watermark=json.dumps(watermark) if watermark else None,
        )
        session.add(job)
        session.flush()
        add_history(session, backend, job, PENDING, "Job created; waiting for a transcoder.")
        session.commit()

    log.info("job=%s status=Pending preset=%r input=%s", job.id, preset.name, job.input_file)
    backend.job_available.set()
    return job


def _checked_template(template: Any) -> dict[str, Any]:
    if not isinstance(template, dict):
        raise SoftLayer_Exception_Public(
            "The job template must be a SoftLayer_Network_Media_Transcode_Job object."
        )
    for name in REQUIRED_PROPERTIES:
        value = template.get(name)
        if value is None or value == "":
            raise refused(f"Property '{name}' is required to create a transcode job.")
        if not isinstance(value, str):
            raise refused(f"Property '{name}' must be a string.")
    unknown = set(template) - TEMPLATE_PROPERTIES
    if unknown:
        raise SoftLayer_Exception_Public(
            f"Property '{sorted(unknown)[0]}' not valid for "
            "'SoftLayer_Network_Media_Transcode_Job'."
        )
    return template


def _auto_delete(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise refused("autoDeleteDuration must be a whole number of seconds.")
    try:
        seconds = int(value)
    except ValueError:
        raise refused("autoDeleteDuration must be a whole number of seconds.") from None
    if seconds < 0 or seconds > MAX_AUTO_DELETE_SECONDS:
        raise refused(
            f"autoDeleteDuration must be between 0 and {MAX_AUTO_DELETE_SECONDS} seconds."
        )
    return seconds


def _watermark(raw: Any, storage, transcode_account_id: int) -> dict | None:
    if raw is None or raw == {}:
        return None
    if not isinstance(raw, dict):
        raise refused("watermark must be a SoftLayer_Container_Network_Media_Transcode_Job_Watermark.")
    unknown = set(raw) - WATERMARK_PROPERTIES
    if unknown:
        raise refused(f"Property '{sorted(unknown)[0]}' not valid for a watermark.")

    file_name, text = raw.get("fileName"), raw.get("text")
    if bool(file_name) == bool(text):
        raise refused("A watermark needs either fileName (an image in /in) or text.")
    mark: dict[str, Any] = {}
    if file_name:
        image = storage.resolve(transcode_account_id, file_name, (IN_DIR,), "watermark fileName")
        if not is_regular_file(image.real):
            raise refused(f"The watermark image '{image.virtual}' does not exist in /in.")
        mark["fileName"] = image.virtual
    else:
        if not isinstance(text, str) or len(text) > 200 or any(ord(c) < 32 for c in text):
            raise refused("The watermark text must be a line of at most 200 characters.")
        mark["text"] = text

    position = raw.get("position") or {}
    if not isinstance(position, dict):
        raise refused("watermark position must be an object with x and y.")
    mark["position"] = {
        "x": _whole(position.get("x", 0), "position x", 0, 10_000),
        "y": _whole(position.get("y", 0), "position y", 0, 10_000),
    }
    for key in ("startTime", "endTime"):
        if raw.get(key) is not None:
            mark[key] = _whole(raw[key], key, 0, 86_400_000)
    if "startTime" in mark and "endTime" in mark and mark["endTime"] <= mark["startTime"]:
        raise refused("watermark endTime must be after startTime.")
    mark["transparencyPercentage"] = _whole(
        raw.get("transparencyPercentage", 0), "transparencyPercentage", 0, 100
    )
    return mark


def _whole(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise refused(f"watermark {what} must be a whole number.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise refused(f"watermark {what} must be a whole number.") from None
    if not low <= number <= high:
        raise refused(f"watermark {what} must be between {low} and {high}.")
    return number


def _check_output_name_fits(base_name: str, extension: str) -> None:
    # Room for the preset's extension and a `_n` suffix within one file name.
    suffix = f"_{OUTPUT_NAME_ATTEMPTS * 100}.{extension}"
    if len(base_name.encode()) + len(suffix) > MAX_FILE_NAME_BYTES:
        limit = MAX_FILE_NAME_BYTES - len(suffix)
        raise refused(
            f"The outputFile name is too long: at most {limit} bytes before "
            f"the extension .{extension}."
        )


def _lock_account(session: Session, backend: Backend, transcode_account_id: int) -> None:
    # Several API processes may create jobs for one account at once; the row
    # lock makes their pending-limit checks take turns.
    if is_postgres(backend.engine):
        session.exec(
            select(TranscodeAccount.id)
            .where(TranscodeAccount.id == transcode_account_id)
            .with_for_update()
        ).first()


def _check_pending_limit(session: Session, transcode_account_id: int) -> None:
    pending = session.exec(
        select(func.count())
        .select_from(TranscodeJob)
        .where(TranscodeJob.transcode_account_id == transcode_account_id)
        .where(TranscodeJob.status_id == PENDING)
    ).one()
    if pending >= MAX_PENDING_JOBS:
        raise refused(
            f"Only {MAX_PENDING_JOBS} jobs may be Pending at once; "
            "wait for one to start before creating another."
        )


def add_history(
    session: Session, backend: Backend, job: TranscodeJob, status_id: int, note: str
) -> None:
    """Record a status change: job row, history entry and notification."""
    status_name = JOB_STATUSES[status_id][0]
    now = backend.clock.now()
    job.status_id = status_id
    job.modify_date = now
    session.add(job)
    session.add(
        TranscodeJobHistory(
            job_id=job.id, create_date=now, public_notes=note, status_name=status_name
        )
    )
    record_status_notification(session, backend, job, status_name, note)


def add_progress_note(session: Session, backend: Backend, job: TranscodeJob, note: str) -> None:
    """A history entry while Processing that changes nothing but the record."""
    now = backend.clock.now()
    job.modify_date = now
    session.add(job)
    session.add(
        TranscodeJobHistory(
            job_id=job.id, create_date=now, public_notes=note,
            status_name=JOB_STATUSES[job.status_id][0],
        )
    )


def record_file(
    session: Session, backend: Backend, transcode_account_id: int, virtual: str, size: int
) -> StoredFile:
    """Start the retention clock of a file that just appeared in /in or /out."""
    stored = _stored_file(session, transcode_account_id, virtual)
    if stored is None:
        # Another process (an upload, a reaper pass) may record it at the same
        # moment; the unique (account, path) pair keeps one record.
        insert = pg_insert if is_postgres(session.get_bind()) else sqlite_insert
        session.execute(
            insert(StoredFile)
            .values(transcode_account_id=transcode_account_id, path=virtual, created_at=0)
            .on_conflict_do_nothing(index_elements=["transcode_account_id", "path"])
        )
        stored = _stored_file(session, transcode_account_id, virtual)

    _start_clock(session, backend, stored, size)
    return stored


def _stored_file(session: Session, transcode_account_id: int, virtual: str) -> StoredFile | None:
    return session.exec(
        select(StoredFile)
        .where(StoredFile.transcode_account_id == transcode_account_id)
        .where(StoredFile.path == virtual)
    ).first()


def _start_clock(session: Session, backend: Backend, stored: StoredFile, size: int) -> None:
    stored.created_at = backend.clock.time()
    stored.size = size
    stored.delete_at = None
    session.add(stored)
    session.flush()


def schedule_auto_delete(session: Session, backend: Backend, job: TranscodeJob) -> None:
    """Start the input's autoDeleteDuration countdown when its last reader ends.

    The shortest autoDeleteDuration among the finished jobs that read this
    upload of the file applies, whichever of them ended last.
    """
    readers = (
        select(TranscodeJob)
        .where(TranscodeJob.transcode_account_id == job.transcode_account_id)
        .where(TranscodeJob.input_file == job.input_file)
        .where(TranscodeJob.id != job.id)
    )
    still_reading = session.exec(
        readers.where(TranscodeJob.status_id.in_((PENDING, PROCESSING)))
    ).first()
    if still_reading is not None:
        return

    stored = _stored_file(session, job.transcode_account_id, job.input_file)
    if stored is None:
        home = backend.storage.home(job.transcode_account_id)
        source = home / IN_DIR / os.path.basename(job.input_file)
        if not is_regular_file(source):
            return
        stored = record_file(
            session, backend, job.transcode_account_id, job.input_file, source.stat().st_size
        )
    uploaded = datetime.fromtimestamp(stored.created_at, tz=timezone.utc)
    durations = [
        other.auto_delete_duration
        for other in session.exec(readers.where(TranscodeJob.auto_delete_duration.is_not(None)))
        if _as_utc(other.create_date) >= uploaded
    ]
    if job.auto_delete_duration is not None:
        durations.append(job.auto_delete_duration)
    if not durations:
        return

    stored.delete_at = backend.clock.time() + min(durations)
    session.add(stored)
    log.info(
        "job=%s input=%s auto-delete in %ss", job.id, job.input_file, min(durations)
    )
    backend.reaper_wakeup.set()


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def place_output(staged: Path, out_dir: Path, base_name: str, extension: str) -> Path:
    """Move a finished output into /out under a free name, atomically.

    `clip` becomes `clip.mp4`; if that is taken, `clip_n.mp4` where n is the
    number of files already named after `clip` plus one. A hard link never
    replaces an existing file, so two workers cannot take the same name.
    """
    first = out_dir / f"{base_name}.{extension}"
    if _link_if_free(staged, first):
        return first

    taken = _count_named_after(out_dir, base_name, extension)
    for n in range(taken + 1, taken + OUTPUT_NAME_ATTEMPTS):
        candidate = out_dir / f"{base_name}_{n}.{extension}"
        if _link_if_free(staged, candidate):
            return candidate
    raise OSError(f"no free output name for {base_name}.{extension}")


def _link_if_free(staged: Path, target: Path) -> bool:
    try:
        os.link(staged, target)
    except FileExistsError:
        return False
    staged.unlink()
    return True


def _count_named_after(out_dir: Path, base_name: str, extension: str) -> int:
    exact = f"{base_name}.{extension}"
    prefix, suffix = f"{base_name}_", f".{extension}"
    count = 0
    for entry in os.scandir(out_dir):
        name = entry.name
        if name == exact:
            count += 1
        elif name.startswith(prefix) and name.endswith(suffix):
            if name[len(prefix):-len(suffix)].isdigit():
                count += 1
    return count


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:80] + "..."


__all__ = [
    "create_job", "add_history", "record_file", "place_output", "schedule_auto_delete",
    "InvalidPath",
]
