"""Operations on the emulator's state: users, seeding, reset, the clock, steering."""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
from pathlib import Path
from typing import Any

from sqlmodel import Session, delete, select

from emulator.backend import Backend
from emulator.db import drop_state, store_clock_offset
from emulator.jobs import record_file
from emulator.models import Account, SteeringRule, TranscodeAccount, User
from emulator.reaper import reap
from emulator.storage import IN_DIR, OUT_DIR, InvalidPath, normalize

log = logging.getLogger("emulator.control")

STEERING_KINDS = ("hold", "fail", "delay")


class SeedError(ValueError):
    """A seed document that cannot be applied; the message says why."""


def ensure_user(
    session: Session, backend: Backend, username: str, api_key: str, email: str = ""
) -> User:
    """The user (with an account of its own), created if missing."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is not None:
        if user.api_key != api_key:
            user.api_key = api_key
            session.add(user)
        return user

    now = backend.clock.now()
    email = email or f"{username.lower()}@example.com"
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
    """Forget every job, account, file and rule; keep the configured users."""
    drop_state(backend.engine)
    backend.storage.remove_all()
    backend.clock.set_offset(0.0)
    store_clock_offset(backend.engine, 0.0)
    ensure_configured_users(backend)
    log.info("state reset")


def advance_clock(backend: Backend, seconds: float) -> dict[str, Any]:
    offset = backend.clock.offset() + seconds
    store_clock_offset(backend.engine, offset)
    backend.clock.set_offset(offset)
    # Apply what became due right away, so the caller sees its effect.
    deleted = reap(backend)
    backend.reaper_wakeup.set()
    log.info("clock advanced by %ss offset=%ss", seconds, offset)
    return {"offsetSeconds": offset, "now": backend.clock.now().isoformat(), "deletedFiles": deleted}


def add_rule(backend: Backend, kind: str, body: dict[str, Any]) -> SteeringRule:
    if kind not in STEERING_KINDS:
        raise SeedError(f"unknown steering rule '{kind}'")
    count = body.get("count")
    if count is not None and (not isinstance(count, int) or count < 1):
        raise SeedError("count must be a positive whole number")
    seconds = body.get("seconds", 0)
    if not isinstance(seconds, (int, float)) or seconds < 0 or seconds > 86_400:
        raise SeedError("seconds must be between 0 and 86400")
    rule = SteeringRule(
        kind=kind,
        preset=str(body.get("preset", "")),
        file_pattern=str(body.get("fileName", "")),
        message=str(body.get("message", ""))[:500],
        remaining=count if kind == "fail" else None,
        delay_seconds=float(seconds),
    )
    if kind == "fail" and count is None and not (rule.preset or rule.file_pattern):
        rule.remaining = 1  # "make the next job fail"
    with Session(backend.engine, expire_on_commit=False) as session:
        session.add(rule)
        session.commit()
    log.info("steering rule=%s kind=%s preset=%r file=%r", rule.id, kind, rule.preset, rule.file_pattern)
    return rule


def remove_rules(backend: Backend, kind: str | None = None) -> int:
    with Session(backend.engine, expire_on_commit=False) as session:
        statement = delete(SteeringRule)
        if kind:
            statement = statement.where(SteeringRule.kind == kind)
        removed = session.execute(statement).rowcount
        session.commit()
    backend.job_available.set()
    return removed


def list_rules(backend: Backend) -> list[dict[str, Any]]:
    with Session(backend.engine, expire_on_commit=False) as session:
        return [rule.model_dump() for rule in session.exec(select(SteeringRule)).all()]


def seed(backend: Backend, document: Any, base_dir: Path | None = None) -> dict[str, Any]:
    """Create the users, transcode accounts and files a seed document lists.

    ```yaml
    users:
      - username: alice
        apiKey: alice-key
        email: alice@example.com
        transcodeAccount:            # true, or {ftpPassword: ...}
          ftpPassword: secret
        files:
          /in/clip.wmv: {path: media/clip.wmv}   # or {base64: ...} or {text: ...}
    ```
    """
    if not isinstance(document, dict) or not isinstance(document.get("users", []), list):
        raise SeedError("a seed document is an object with a 'users' list")

    created = []
    with Session(backend.engine, expire_on_commit=False) as session:
        for entry in document.get("users", []):
            created.append(_seed_user(session, backend, entry, base_dir))
        session.commit()
    return {"users": created}


def _seed_user(session: Session, backend: Backend, entry: Any, base_dir: Path | None) -> dict:
    if not isinstance(entry, dict) or not entry.get("username"):
        raise SeedError("each user needs a 'username'")
    username = str(entry["username"])
    api_key = str(entry.get("apiKey") or secrets.token_hex(32))
    user = ensure_user(session, backend, username, api_key, str(entry.get("email", "")))
    result: dict[str, Any] = {"username": username, "apiKey": api_key, "accountId": user.account_id}

    wanted = entry.get("transcodeAccount")
    if not wanted and not entry.get("files"):
        return result
    transcode_account = _seed_transcode_account(session, backend, user, wanted)
    result["transcodeAccountId"] = transcode_account.id
    result["ftpUsername"] = transcode_account.ftp_username

    files = entry.get("files") or {}
    if not isinstance(files, dict):
        raise SeedError("'files' maps /in or /out paths to {path|base64|text}")
    for virtual, source in files.items():
        _seed_file(session, backend, transcode_account.id, virtual, source, base_dir)
    return result


def _seed_transcode_account(session, backend, user: User, wanted: Any) -> TranscodeAccount:
    from emulator.services.transcode_account import new_transcode_account

    existing = session.exec(
        select(TranscodeAccount).where(TranscodeAccount.account_id == user.account_id)
    ).first()
    account = existing or new_transcode_account(session, backend, user.account_id)
    if isinstance(wanted, dict) and wanted.get("ftpPassword"):
        account.ftp_password = str(wanted["ftpPassword"])
        session.add(account)
    session.flush()
    return account


def _seed_file(session, backend, account_id: int, virtual: Any, source: Any, base_dir: Path | None) -> None:
    try:
        path = backend.storage.resolve(account_id, virtual, (IN_DIR, OUT_DIR), "seed file")
    except InvalidPath as error:
        raise SeedError(error.message) from None
    if isinstance(source, str):
        source = {"path": source}
    if not isinstance(source, dict):
        raise SeedError(f"{path.virtual}: give {{path}}, {{base64}} or {{text}}")

    if "path" in source:
        origin = Path(str(source["path"]))
        if not origin.is_absolute() and base_dir is not None:
            origin = base_dir / origin
        try:
            content = origin.read_bytes()
        except OSError as error:
            raise SeedError(f"{path.virtual}: cannot read {origin}: {error.strerror}") from None
    elif "base64" in source:
        try:
            content = base64.b64decode(str(source["base64"]), validate=True)
        except binascii.Error:
            raise SeedError(f"{path.virtual}: base64 content is not valid") from None
    elif "text" in source:
        content = str(source["text"]).encode()
    else:
        raise SeedError(f"{path.virtual}: give {{path}}, {{base64}} or {{text}}")

    staged = backend.storage.staging_file()
    staged.write_bytes(content)
    staged.replace(path.real)
    stored = record_file(session, backend, account_id, path.virtual, len(content))
    age = source.get("ageSeconds")
    if isinstance(age, (int, float)) and age > 0:
        stored.created_at -= age

