"""E-mail the real service sent on every job status change.

Each notification is recorded (listed at /_emulator/notifications) and,
when an SMTP server is configured, delivered by a background thread.
"""

from __future__ import annotations

import logging
import smtplib
import threading
import time
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import update
from sqlmodel import Session, select

from emulator.backend import Backend
from emulator.models import Account, Notification, TranscodeAccount, TranscodeJob, User

log = logging.getLogger("emulator.notifications")

BATCH = 50
SMTP_TIMEOUT = 10


def record_status_notification(
    session: Session, backend: Backend, job: TranscodeJob, status_name: str, note: str
) -> Notification:
    transcode_account = session.get(TranscodeAccount, job.transcode_account_id)
    user = session.get(User, job.user_id)
    account = session.get(Account, transcode_account.account_id)
    recipient = (user.email if user and user.email else "") or account.email
    label = job.name or job.job_guid
    notification = Notification(
        account_id=account.id,
        transcode_account_id=transcode_account.id,
        job_id=job.id,
        recipient=recipient,
        subject=f"Transcode job {job.id} ({label}) is {status_name}",
        body=(
            f"Your transcode job {job.id} '{label}' changed status to {status_name}.\n"
            f"Input: {job.input_file}\nOutput: {job.output_file}\n"
            f"Preset: {job.preset_name}\n\n{note}\n"
        ),
        create_date=backend.clock.now(),
    )
    session.add(notification)
    return notification


class SmtpDelivery(threading.Thread):
    """Sends recorded notifications that are not yet delivered, each once.

    Every process with an SMTP server configured runs one; a notification is
    claimed with a conditional UPDATE before it is sent, so processes that
    share the database never send it twice. A failed delivery is not retried:
    its error is recorded and listed with the notification.
    """

    def __init__(self, backend: Backend, interval: float = 0.5) -> None:
        super().__init__(name="smtp-delivery", daemon=True)
        self.backend = backend
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.deliver_pending()
            except Exception:
                log.exception("notification delivery failed")

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=15)

    def deliver_pending(self) -> int:
        delivered = 0
        for notification_id in self._waiting():
            notification = self._claim(notification_id)
            if notification is not None:
                self._deliver(notification)
                delivered += 1
        return delivered

    def _waiting(self) -> list[int]:
        with Session(self.backend.engine) as session:
            return list(
                session.exec(
                    select(Notification.id)
                    .where(Notification.delivered == False)  # noqa: E712
                    .where(Notification.delivery_error == "")
                    .where(Notification.sending_since == None)  # noqa: E711
                    .order_by(Notification.id)
                    .limit(BATCH)
                ).all()
            )

    def _claim(self, notification_id: int) -> Notification | None:
        with Session(self.backend.engine, expire_on_commit=False) as session:
            claimed = session.execute(
                update(Notification)
                .where(Notification.id == notification_id)
                .where(Notification.sending_since == None)  # noqa: E711
                .values(sending_since=time.time())
            ).rowcount
            session.commit()
            return session.get(Notification, notification_id) if claimed == 1 else None

    def _deliver(self, notification: Notification) -> None:
        try:
            self._send(notification)
            notification.delivered = True
            log.info("notification=%s delivered to=%s", notification.id, notification.recipient)
        except (OSError, smtplib.SMTPException) as error:
            notification.delivery_error = str(error)[:500] or type(error).__name__
            log.warning("notification=%s not delivered: %s", notification.id, error)
        with Session(self.backend.engine, expire_on_commit=False) as session:
            session.add(notification)
            session.commit()

    def _send(self, notification: Notification) -> None:
        settings = self.backend.settings
        message = EmailMessage()
        message["From"] = settings.smtp_sender
        message["To"] = notification.recipient
        message["Subject"] = notification.subject
        message["Date"] = format_datetime(notification.create_date.replace(tzinfo=timezone.utc))
        message.set_content(notification.body)
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT) as smtp:
            smtp.send_message(message)


def notification_record(notification: Notification) -> dict:
    return {
        "id": notification.id,
        "accountId": notification.account_id,
        "transcodeAccountId": notification.transcode_account_id,
        "jobId": notification.job_id,
        "recipient": notification.recipient,
        "subject": notification.subject,
        "body": notification.body,
        "createDate": _utc_text(notification.create_date),
        "delivered": notification.delivered,
        "deliveryError": notification.delivery_error,
    }


def _utc_text(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, whether the database kept the zone or not."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat() + "Z"
