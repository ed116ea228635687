"""Operations on the emulator's state: users, reset, the clock, job steering.

These are what the /_emulator/ routes and the `Emulator` object call; seeding
lives in `emulator.control.seed`.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session, delete, select

from emulator.backend import Backend
from emulator.db import drop_state, store_clock_offset
from emulator.models import Account, Notification, SteeringRule, User
from emulator.notifications import notification_record
from emulator.reaper import reap_after

log = logging.getLogger("emulator.control")

RULE_FIELDS = {"preset", "fileName", "message", "count", "seconds"}
STEERING_KINDS = ("hold", "fail", "delay")
MAX_DELAY_SECONDS = 86_400
MAX_MESSAGE_LENGTH = 500
DEFAULT_FAILURE = "Failure forced by the emulator's control API."


class ControlError(ValueError):
    """A control request that cannot be carried out; the message says why."""


def ensure_user(
    session: Session,
    backend: Backend,
    username: str,
    api_key: str,
    email: str = "",
    account: Account | None = None,
) -> User:
    """The user, created if missing, in `account` or in an account of its own."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is not None:
        if user.api_key != api_key:
            user.api_key = api_key
            session.add(user)
        return user

    now = backend.clock.now()
    email = email or f"{username.lower()}@example.com"
    if account is None:
        account = Account(company_name=f"{username} (emulated)", email=email, create_date=now)
        session.add(account)
        session.flush()
    user = User(
        username=username, api_key=api_key, account_id=account.id, email=email,
        first_name=username, create_date=now,
    )
    session.add(user)
    session.flush()
    return user


def ensure_configured_users(backend: Backend) -> None:
    with Session(backend.engine, expire_on_commit=False) as session:
        for username, api_key in backend.settings.user_credentials():
            ensure_user(session, backend, username, api_key)
        session.commit()


def reset(backend: Backend) -> None:
    """Forget every job, account, file, rule and notification; keep the configured users."""
    drop_state(backend.engine)
    backend.storage.remove_all()
    backend.clock.set_offset(0.0)
    store_clock_offset(backend.engine, 0.0)
    ensure_configured_users(backend)
    log.info("state reset: jobs, accounts, files, rules and notifications removed")


def clock_report(backend: Backend) -> dict[str, Any]:
    return {"offsetSeconds": backend.clock.offset(), "now": backend.clock.now().isoformat()}


def advance_clock(backend: Backend, seconds: float) -> dict[str, Any]:
    offset = backend.clock.offset() + seconds

    def move_clock() -> None:
        store_clock_offset(backend.engine, offset)
        backend.clock.set_offset(offset)

    # Apply what became due right away, so the caller sees its effect.
    deleted = reap_after(backend, move_clock)
    backend.reaper_wakeup.set()
    log.info("clock advanced by %ss offset=%ss deleted_files=%d", seconds, offset, len(deleted))
    return {**clock_report(backend), "deletedFiles": deleted}


def add_rule(backend: Backend, kind: str, body: dict[str, Any]) -> SteeringRule:
    """A steering rule from a control request's body.

    `hold` keeps matching jobs Pending until released; `fail` makes matching
    jobs end in Error with `message` (without a preset or file name, only the
    next job); `delay` keeps matching jobs Processing `seconds` longer.
    """
    if kind not in STEERING_KINDS:
        raise ControlError(f"unknown steering rule '{kind[:40]}': use hold, fail or delay")
    unknown = set(body) - RULE_FIELDS
    if unknown:
        raise ControlError(
            f"unknown field '{str(sorted(unknown)[0])[:40]}' in a {kind} rule: "
            f"use {', '.join(sorted(RULE_FIELDS))}"
        )
    count = body.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ControlError("count must be a positive whole number")
    seconds = body.get("seconds", 0)
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not 0 <= seconds <= MAX_DELAY_SECONDS
    ):
        raise ControlError(f"seconds must be between 0 and {MAX_DELAY_SECONDS}")
    if kind == "delay" and not seconds:
        raise ControlError("a delay rule needs seconds > 0")

    rule = SteeringRule(
        kind=kind,
        preset=_preset_reference(backend, body.get("preset")),
        file_pattern=str(body.get("fileName") or ""),
        message=str(body.get("message") or "")[:MAX_MESSAGE_LENGTH],
        remaining=count if kind == "fail" else None,
        delay_seconds=float(seconds),
    )
    if kind == "fail" and count is None and not (rule.preset or rule.file_pattern):
        rule.remaining = 1
    if kind == "fail" and not rule.message:
        rule.message = DEFAULT_FAILURE
    with Session(backend.engine, expire_on_commit=False) as session:
        session.add(rule)
        session.commit()
    log.info(
        "steering rule=%s kind=%s preset=%r file=%r",
        rule.id, kind, rule.preset, rule.file_pattern,
    )
    return rule


def _preset_reference(backend: Backend, given: Any) -> str:
    """A preset's GUID (as the catalog spells it) or exact name; refuse unknown ones."""
    if not given:
        return ""
    text = str(given).strip()
    preset = backend.catalog.get(text)
    if preset is not None:
        return preset.guid
    if any(preset.name == text for preset in backend.catalog.presets):
        return text
    raise ControlError(f"no preset has the GUID or name '{text[:120]}'")


def rule_record(rule: SteeringRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "kind": rule.kind,
        "preset": rule.preset,
        "fileName": rule.file_pattern,
        "message": rule.message,
        "remaining": rule.remaining,
        "seconds": rule.delay_seconds,
    }


def remove_rules(backend: Backend, kind: str | None = None) -> int:
    with Session(backend.engine, expire_on_commit=False) as session:
        statement = delete(SteeringRule)
        if kind:
            statement = statement.where(SteeringRule.kind == kind)
        removed = session.execute(statement).rowcount
        session.commit()
    backend.job_available.set()
    log.info("steering rules removed kind=%s count=%d", kind or "all", removed)
    return removed


def remove_rule(backend: Backend, rule_id: int) -> bool:
    with Session(backend.engine, expire_on_commit=False) as session:
        rule = session.get(SteeringRule, rule_id)
        if rule is None:
            return False
        session.delete(rule)
        session.commit()
    backend.job_available.set()
    log.info("steering rule=%s removed", rule_id)
    return True


def list_rules(backend: Backend) -> list[dict[str, Any]]:
    with Session(backend.engine, expire_on_commit=False) as session:
        rules = session.exec(select(SteeringRule).order_by(SteeringRule.id)).all()
        return [rule_record(rule) for rule in rules]


def list_notifications(
    backend: Backend, job_id: int | None = None, account_id: int | None = None
) -> list[dict[str, Any]]:
    with Session(backend.engine, expire_on_commit=False) as session:
        statement = select(Notification).order_by(Notification.id)
        if job_id is not None:
            statement = statement.where(Notification.job_id == job_id)
        if account_id is not None:
            statement = statement.where(Notification.account_id == account_id)
        return [notification_record(n) for n in session.exec(statement).all()]
