"""The e-mail the service sends on every status change: recorded, listed at
/_emulator/notifications, and delivered to a real SMTP server."""

from __future__ import annotations

import email
import socket
from datetime import datetime, timedelta, timezone
from email.message import Message
from pathlib import Path
from typing import Iterator

import pytest
from aiosmtpd.controller import Controller

from tests.job_flow import (
    USERS,
    client_for,
    control,
    create_job,
    history,
    start_emulator,
    transcode_account_id,
    upload,
    wait_for_job,
    wait_until,
)
from tests.media import make_clip

SENDER = "transcode@softlayer.emulator"


class Mailbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


    def about(self, job_id: int, label: str) -> list[tuple[str, list[str], Message]]:
        """Messages about one job (a message of an earlier test may arrive late)."""
        prefix = f"Transcode job {job_id} ({label}) is "
        return [entry for entry in self.messages if entry[2]["Subject"].startswith(prefix)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture(scope="module")
def emulator(tmp_path_factory, mailbox):
    _, port = mailbox
    running = start_emulator(
        tmp_path_factory.mktemp("notifications"),
        workers=1,
        smtp_host="127.0.0.1",
        smtp_port=port,
    )
    yield running
    running.stop(grace=0)


@pytest.fixture(autouse=True)
def clean_state(emulator, mailbox):
    emulator.reset()
    mailbox[0].messages.clear()


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "clip.wmv", seconds=1, size="160x120")


def notifications(emulator, job_id: int) -> list[dict]:
    return control(emulator.api_url, "GET", f"notifications?jobId={job_id}")


def test_every_status_change_is_recorded_with_recipient_subject_body_and_time(emulator, clip):
    alice = client_for(emulator, "alice")
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, clip, "clip.wmv")
    before = datetime.now(timezone.utc) - timedelta(seconds=1)

    job_id = create_job(alice, "/in/clip.wmv", "/out/clip", name="My transcoding")["id"]
    assert wait_for_job(alice, job_id)["transcodeStatusName"] == "Complete"

    recorded = notifications(emulator, job_id)
    status_changes = [
        (status, note)
        for status, note in history(alice, job_id)
        if not note.startswith("Processing: ")
    ]
    assert [n["subject"] for n in recorded] == [
        f"Transcode job {job_id} (My transcoding) is Pending",
        f"Transcode job {job_id} (My transcoding) is Processing",
        f"Transcode job {job_id} (My transcoding) is Complete",
    ]
    assert len(recorded) == len(status_changes)
    for notification, (status, note) in zip(recorded, status_changes):
        assert notification["recipient"] == "alice@example.com"
        assert notification["jobId"] == job_id
        assert notification["transcodeAccountId"] == transcode_id
        assert f"changed status to {status}." in notification["body"]
        assert note in notification["body"]
        assert "Input: /in/clip.wmv\n" in notification["body"]
        sent_at = datetime.fromisoformat(notification["createDate"].replace("Z", "+00:00"))
        assert before <= sent_at <= datetime.now(timezone.utc)
    assert "Output: /out/clip.f4v\n" in recorded[-1]["body"]


def test_notifications_are_delivered_over_smtp_once_each(emulator, mailbox, clip):
    handler, _ = mailbox
    bob = client_for(emulator, "bob")
    transcode_id = transcode_account_id(bob)
    upload(bob, transcode_id, clip, "clip.wmv")

    job_id = create_job(bob, "/in/clip.wmv", "/out/clip", name="Holiday")["id"]
    assert wait_for_job(bob, job_id)["transcodeStatusName"] == "Complete"
    wait_until(lambda: all(n["delivered"] for n in notifications(emulator, job_id)), timeout=60)

    delivered = handler.about(job_id, "Holiday")
    subjects = [message["Subject"] for _, _, message in delivered]
    assert subjects == [
        f"Transcode job {job_id} (Holiday) is Pending",
        f"Transcode job {job_id} (Holiday) is Processing",
        f"Transcode job {job_id} (Holiday) is Complete",
    ]
    for mail_from, recipients, message in delivered:
        assert mail_from == SENDER
        assert recipients == ["bob@example.com"]
        assert message["To"] == "bob@example.com"
    complete_body = delivered[-1][2].get_payload(decode=True).decode()
    assert "changed status to Complete." in complete_body
    assert "Output written to /out/clip.f4v (" in complete_body
    assert [n["deliveryError"] for n in notifications(emulator, job_id)] == ["", "", ""]


def test_an_error_is_notified_with_ffmpegs_reason(emulator, mailbox, clip):
    handler, _ = mailbox
    alice = client_for(emulator, "alice")
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, b"not a video at all\n" * 20, "broken.wmv")

    job_id = create_job(alice, "/in/broken.wmv", "/out/broken", name="Broken upload")["id"]
    assert wait_for_job(alice, job_id)["transcodeStatusName"] == "Error"
    delivered = wait_until(
        lambda: len(found := handler.about(job_id, "Broken upload")) == 3 and found, timeout=60
    )

    error_note = history(alice, job_id)[-1][1]
    message = delivered[-1][2]
    assert message["Subject"] == f"Transcode job {job_id} (Broken upload) is Error"
    assert error_note.startswith("The input file /in/broken.wmv is not readable media: ")
    assert error_note in message.get_payload(decode=True).decode()


def test_an_undeliverable_notification_keeps_its_smtp_error(tmp_path, clip):
    closed_port = free_port()
    emulator = start_emulator(
        tmp_path / "data", workers=1, ftp=False, smtp_host="127.0.0.1", smtp_port=closed_port
    )
    try:
        alice = client_for(emulator, "alice")
        emulator.seed({"users": [{
            "username": "alice",
            "apiKey": USERS["alice"],
            "files": {"/in/clip.wmv": {"path": str(clip)}},
        }]})
        job_id = create_job(alice, "/in/clip.wmv", "/out/clip")["id"]
        assert wait_for_job(alice, job_id)["transcodeStatusName"] == "Complete"
        recorded = wait_until(
            lambda: (found := notifications(emulator, job_id))
            and all(n["deliveryError"] for n in found)
            and found,
            timeout=60,
        )
    finally:
        emulator.stop(grace=0)

    assert [n["delivered"] for n in recorded] == [False, False, False]
    assert all("refused" in n["deliveryError"].lower() for n in recorded), recorded
