"""A known set of transcode jobs, written straight into the database.

Mask, filter and limit tests need many jobs in every status; transcoding
each one would take minutes, so the rows are inserted directly. `JOBS`
describes them, and tests compute what a query should answer from it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from sqlmodel import Session, select

from emulator.models import TranscodeJob, TranscodeJobHistory, User
from emulator.server import Emulator
from emulator.services.transcode_account import new_transcode_account

OTHER_USER = ("OTHER-CUSTOMER", "other-customer-api-key-0123456789")
F4V = ("{87E01268-C3E3-4A85-9701-052C9AC42BD4}", "F4V 896kbps 640x352 16x9 29.97fps")
WMV = ("{9E3F6B0A-9D3B-4C85-8D7B-3B0C8F1D2E4A}", "Windows Media 9 - Download - 1 Mbps")
STATUS_NAMES = ("Pending", "Processing", "Complete", "Error", "Deleted")
KINDS = ("Birthday", "holiday", "Wedding", "graduation", "BIRTHDAY party", "Concert_50%")
FIRST_CREATED = datetime(2026, 3, 1, 18, 0, tzinfo=timezone.utc)
JOB_COUNT = 60


@dataclass(frozen=True)
class SeededJob:
    index: int
    name: str
    status: str
    input_file: str
    output_file: str
    preset: tuple[str, str]
    byte_in: int
    auto_delete_duration: int | None
    create_date: datetime
    history: tuple[tuple[str, str], ...]  # (status name, public notes)

    @property
    def status_id(self) -> int:
        return STATUS_NAMES.index(self.status) + 1


def _history(status: str, output_file: str) -> tuple[tuple[str, str], ...]:
    steps = [("Pending", "Queued for transcoding.")]
    if status != "Pending":
        steps.append(("Processing", "Transcoding: 40% done."))
    if status in ("Complete", "Deleted"):
        steps.append(("Complete", f"Output written to {output_file}."))
    if status == "Error":
        steps.append(("Error", "ffmpeg: Invalid data found when processing input"))
    if status == "Deleted":
        steps.append(("Deleted", "Output removed 72 hours after it was created."))
    return tuple(steps)


def _job(index: int) -> SeededJob:
    status = STATUS_NAMES[index % 5]
    extension = ("wmv", "mov", "avi")[index % 3]
    output_file = f"/out/clip{index:02d}.f4v"
    return SeededJob(
        index=index,
        name=f"{KINDS[index % len(KINDS)]} {index:02d}",
        status=status,
        input_file=f"/in/clip{index:02d}.{extension}",
        output_file=output_file,
        preset=F4V if index % 2 == 0 else WMV,
        byte_in=1000 * (index + 1),
        auto_delete_duration=None if index % 4 == 0 else 60 * index,
        create_date=FIRST_CREATED + timedelta(hours=index),
        history=_history(status, output_file),
    )


JOBS: tuple[SeededJob, ...] = tuple(_job(i) for i in range(JOB_COUNT))


def names(jobs) -> list[str]:
    return [job.name for job in jobs]


def insert_jobs(session: Session, user: User, transcode_account_id: int, jobs) -> None:
    """Rows for `jobs`, in a shuffled order so that ids do not follow names."""
    order = list(jobs)
    random.Random(7).shuffle(order)
    for job in order:
        row = TranscodeJob(
            transcode_account_id=transcode_account_id,
            user_id=user.id,
            name=job.name,
            input_file=job.input_file,
            output_file=job.output_file,
            preset_guid=job.preset[0],
            preset_name=job.preset[1],
            job_guid=f"{{{transcode_account_id:08d}-0000-4000-8000-{job.index:012d}}}",
            status_id=job.status_id,
            byte_in=job.byte_in,
            auto_delete_duration=job.auto_delete_duration,
            create_date=job.create_date,
            modify_date=job.create_date,
        )
        session.add(row)
        session.flush()
        for minute, (status, notes) in enumerate(job.history):
            session.add(
                TranscodeJobHistory(
                    job_id=row.id,
                    create_date=job.create_date + timedelta(minutes=minute),
                    public_notes=notes,
                    status_name=status,
                )
            )


@dataclass
class SeededEmulator:
    emulator: Emulator
    transcode_account_id: int
    other_transcode_account_id: int
    # Job name -> id, for the caller's account.
    ids: dict[str, int]

    @property
    def auth(self) -> tuple[str, str]:
        return self.emulator.username, self.emulator.api_key


def seed(emulator: Emulator) -> SeededEmulator:
    """JOBS for the default user, and five jobs of another customer."""
    backend = emulator.backend
    with Session(backend.engine, expire_on_commit=False) as session:
        users = {u.username: u for u in session.exec(select(User))}
        owner, other = users[emulator.username], users[OTHER_USER[0]]
        account = new_transcode_account(session, backend, owner.account_id)
        other_account = new_transcode_account(session, backend, other.account_id)
        insert_jobs(session, owner, account.id, JOBS)
        insert_jobs(session, other, other_account.id, JOBS[:5])
        session.commit()
        ids = {
            job.name: job.id
            for job in session.exec(
                select(TranscodeJob).where(TranscodeJob.transcode_account_id == account.id)
            )
        }
    return SeededEmulator(emulator, account.id, other_account.id, ids)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Iterator[SeededEmulator]:
    """An emulator without workers (so seeded jobs keep their status), seeded once."""
    data_dir: Path = tmp_path_factory.mktemp("seeded")
    emulator = Emulator(
        host="127.0.0.1",
        api_port=0,
        ftp_port=0,
        data_dir=data_dir,
        workers=0,
        ftp=False,
        users=[
            "SL-TRANSCODE:transcode-emulator-default-api-key-0123456789abcdef",
            ":".join(OTHER_USER),
        ],
    )
    emulator.start()
    try:
        yield seed(emulator)
    finally:
        emulator.stop(grace=1)


def rest(seeded: SeededEmulator, path: str, **query) -> tuple[int, object, dict]:
    """GET `{rest_url}{path}.json` with SoftLayer's query parameters."""
    import httpx

    if isinstance(query.get("objectFilter"), dict):
        import json

        query["objectFilter"] = json.dumps(query["objectFilter"])
    response = httpx.get(
        seeded.emulator.rest_url + path + ".json",
        params=query,
        auth=seeded.auth,
        timeout=60,
    )
    return response.status_code, response.json(), dict(response.headers)


def softlayer_client(seeded: SeededEmulator, transport: str):
    import SoftLayer

    emulator = seeded.emulator
    url = emulator.xmlrpc_url if transport == "xmlrpc" else emulator.rest_url
    return SoftLayer.create_client_from_env(
        username=emulator.username, api_key=emulator.api_key, endpoint_url=url
    )
