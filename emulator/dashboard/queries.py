"""What the dashboard shows, read from the state as plain rows for the templates.

No value here is trusted: names, paths and notes come from clients, and the
templates escape every one of them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlmodel import Session, select

from emulator.backend import Backend
from emulator.models import (
    JOB_STATUSES,
    Account,
    Notification,
    SteeringRule,
    StoredFile,
    TranscodeAccount,
    TranscodeJob,
    TranscodeJobHistory,
    User,
)
from emulator.presets import Preset

MAX_JOBS = 200
MAX_NOTIFICATIONS = 100


@dataclass(frozen=True)
class AccountRow:
    id: int
    company_name: str
    email: str
    usernames: list[str]
    transcode_account_id: int | None
    ftp_username: str
    job_counts: dict[str, int]


@dataclass(frozen=True)
class JobRow:
    id: int
    name: str
    ftp_username: str
    preset_name: str
    input_file: str
    output_file: str
    status: str
    progress: int
    created: str
    last_note: str


@dataclass(frozen=True)
class HistoryRow:
    created: str
    status: str
    note: str


@dataclass(frozen=True)
class FileRow:
    ftp_username: str
    path: str
    size: str
    age: str
    time_left: str
    reason: str


@dataclass(frozen=True)
class NotificationRow:
    id: int
    job_id: int | None
    recipient: str
    subject: str
    created: str
    delivery: str


def accounts(backend: Backend) -> list[AccountRow]:
    with Session(backend.engine) as session:
        users = session.exec(select(User).order_by(User.id)).all()
        transcode_accounts = {
            t.account_id: t for t in session.exec(select(TranscodeAccount)).all()
        }
        counts = _job_counts(session)
        rows = []
        for account in session.exec(select(Account).order_by(Account.id)).all():
            transcode = transcode_accounts.get(account.id)
            rows.append(AccountRow(
                id=account.id,
                company_name=account.company_name,
                email=account.email,
                usernames=[u.username for u in users if u.account_id == account.id],
                transcode_account_id=transcode.id if transcode else None,
                ftp_username=transcode.ftp_username if transcode else "",
                job_counts=counts.get(transcode.id, {}) if transcode else {},
            ))
        return rows


def _job_counts(session: Session) -> dict[int, dict[str, int]]:
    counted: dict[int, Counter] = {}
    for account_id, status_id in session.exec(
        select(TranscodeJob.transcode_account_id, TranscodeJob.status_id)
    ).all():
        counted.setdefault(account_id, Counter())[JOB_STATUSES[status_id][0]] += 1
    return {account_id: dict(counter) for account_id, counter in counted.items()}


def jobs(backend: Backend) -> list[JobRow]:
    with Session(backend.engine) as session:
        logins = _ftp_usernames(session)
        found = session.exec(
            select(TranscodeJob).order_by(TranscodeJob.id.desc()).limit(MAX_JOBS)
        ).all()
        last_notes = _last_notes(session, [job.id for job in found])
        return [_job_row(job, logins, last_notes.get(job.id, "")) for job in found]


def job(backend: Backend, job_id: int) -> tuple[JobRow, list[HistoryRow]] | None:
    with Session(backend.engine) as session:
        found = session.get(TranscodeJob, job_id)
        if found is None:
            return None
        history = session.exec(
            select(TranscodeJobHistory)
            .where(TranscodeJobHistory.job_id == job_id)
            .order_by(TranscodeJobHistory.id)
        ).all()
        rows = [HistoryRow(_shown(h.create_date), h.status_name, h.public_notes) for h in history]
        last_note = rows[-1].note if rows else ""
        return _job_row(found, _ftp_usernames(session), last_note), rows


def _job_row(job: TranscodeJob, logins: dict[int, str], last_note: str) -> JobRow:
    return JobRow(
        id=job.id,
        name=job.name,
        ftp_username=logins.get(job.transcode_account_id, ""),
        preset_name=job.preset_name,
        input_file=job.input_file,
        output_file=job.output_file,
        status=JOB_STATUSES[job.status_id][0],
        progress=max(0, min(100, job.progress)),
        created=_shown(job.create_date),
        last_note=last_note,
    )


def _last_notes(session: Session, job_ids: list[int]) -> dict[int, str]:
    if not job_ids:
        return {}
    notes: dict[int, str] = {}
    for entry in session.exec(
        select(TranscodeJobHistory)
        .where(TranscodeJobHistory.job_id.in_(job_ids))
        .order_by(TranscodeJobHistory.id)
    ).all():
        notes[entry.job_id] = entry.public_notes
    return notes


def _ftp_usernames(session: Session) -> dict[int, str]:
    return {t.id: t.ftp_username for t in session.exec(select(TranscodeAccount)).all()}


def files(backend: Backend) -> list[FileRow]:
    """The files in every /in and /out, with how long each has left."""
    now = backend.clock.time()
    retention = backend.settings.retention_seconds
    with Session(backend.engine) as session:
        logins = _ftp_usernames(session)
        stored = session.exec(
            select(StoredFile).order_by(StoredFile.transcode_account_id, StoredFile.path)
        ).all()
        rows = []
        for entry in stored:
            expires = entry.created_at + retention
            reason = "retention"
            if entry.delete_at is not None and entry.delete_at < expires:
                expires, reason = entry.delete_at, "autoDeleteDuration"
            rows.append(FileRow(
                ftp_username=logins.get(
                    entry.transcode_account_id, str(entry.transcode_account_id)
                ),
                path=entry.path,
                size=describe_size(entry.size),
                age=describe_duration(now - entry.created_at),
                time_left=describe_duration(expires - now),
                reason=reason,
            ))
        return rows


def notifications(backend: Backend) -> list[NotificationRow]:
    with Session(backend.engine) as session:
        found = session.exec(
            select(Notification).order_by(Notification.id.desc()).limit(MAX_NOTIFICATIONS)
        ).all()
        return [
            NotificationRow(
                id=n.id,
                job_id=n.job_id,
                recipient=n.recipient,
                subject=n.subject,
                created=_shown(n.create_date),
                delivery=_delivery(n),
            )
            for n in found
        ]


def _delivery(notification: Notification) -> str:
    if notification.delivered:
        return "delivered"
    if notification.delivery_error:
        return "failed: " + notification.delivery_error
    return "captured"


def rules(backend: Backend) -> list[SteeringRule]:
    with Session(backend.engine, expire_on_commit=False) as session:
        return list(session.exec(select(SteeringRule).order_by(SteeringRule.id)).all())


def matching_presets(presets: list[Preset], query: str) -> list[Preset]:
    """Presets whose name, GUID, category, description or format contain every word."""
    words = query.lower().split()
    if not words:
        return list(presets)
    return [p for p in presets if all(word in search_text(p) for word in words)]


def search_text(preset: Preset) -> str:
    return " ".join(
        (preset.name, preset.guid, preset.category, preset.description, preset.extension)
    ).lower()


def describe_size(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} bytes"


def describe_duration(seconds: float) -> str:
    """`2 d 3 h`, `5 h 12 min`, `3 min 4 s`, `now` for what is due."""
    if seconds <= 0:
        return "due now"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def clock_now(backend: Backend) -> str:
    return backend.clock.now().strftime("%Y-%m-%d %H:%M:%S UTC")


def _shown(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
