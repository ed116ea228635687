"""Seed documents: users, accounts, transcode accounts and files to create.

```yaml
accounts:                        # an account shared by several users
  - companyName: Example Media
    email: ops@example.com
    users:
      - {username: alice, apiKey: alice-key}
      - {username: bob, apiKey: bob-key}
    transcodeAccount: {ftpPassword: secret}   # or true
    files:
      /in/clip.wmv: media/clip.wmv            # a path, relative to the seed file
      /in/notes.txt: {text: hello}
      /in/old.wmv: {base64: "...", ageSeconds: 259000}
users:                           # shorthand: each user with an account of its own
  - username: carol
    apiKey: carol-key
    transcodeAccount: true
```

Seeding is idempotent for users (an existing user keeps its account and gets
the given API key) and transcode accounts (one per account).
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from emulator.backend import Backend
from emulator.control.state import ControlError, ensure_user
from emulator.jobs import record_file
from emulator.models import Account, TranscodeAccount
from emulator.storage import IN_DIR, OUT_DIR, InvalidPath

log = logging.getLogger("emulator.control")

SEED_KEYS = {"accounts", "users"}


def seed(
    backend: Backend,
    document: Any,
    base_dir: Path | None = None,
    read_local_files: bool = True,
) -> dict[str, Any]:
    """Apply a seed document; the result lists what exists, with ids and API keys.

    `read_local_files` lets file entries name files on this machine; the HTTP
    route turns it off, so a request cannot copy the server's files.
    """
    if not isinstance(document, dict) or set(document) - SEED_KEYS:
        raise ControlError("a seed document is an object with 'accounts' and/or 'users' lists")
    for key in SEED_KEYS:
        if not isinstance(document.get(key, []), list):
            raise ControlError(f"'{key}' must be a list")

    source = FileSource(base_dir, read_local_files)
    result: dict[str, Any] = {"accounts": [], "users": []}
    with Session(backend.engine, expire_on_commit=False) as session:
        for entry in document.get("accounts", []):
            result["accounts"].append(_seed_account(session, backend, entry, source))
        for entry in document.get("users", []):
            result["users"].append(_seed_lone_user(session, backend, entry, source))
        session.commit()
    log.info(
        "seeded accounts=%d users=%d", len(result["accounts"]), len(result["users"])
    )
    return result


def _seed_account(session: Session, backend: Backend, entry: Any, source: FileSource) -> dict:
    if not isinstance(entry, dict) or not isinstance(entry.get("users", []), list):
        raise ControlError("each account is an object with a 'users' list")
    users = entry.get("users") or []
    if not users:
        raise ControlError("each account needs at least one user")

    account = Account(
        company_name=str(entry.get("companyName") or "Emulated account"),
        email=str(entry.get("email") or ""),
        create_date=backend.clock.now(),
    )
    session.add(account)
    session.flush()
    result: dict[str, Any] = {"accountId": account.id, "users": []}
    for user_entry in users:
        user = _user(session, backend, user_entry, account)
        result["users"].append(user)
        if not account.email:
            account.email = user["email"]

    result.update(_seed_files_of(session, backend, account.id, entry, source))
    return result


def _seed_lone_user(session: Session, backend: Backend, entry: Any, source: FileSource) -> dict:
    result = _user(session, backend, entry, None)
    result.update(_seed_files_of(session, backend, result["accountId"], entry, source))
    return result


def _user(session: Session, backend: Backend, entry: Any, account: Account | None) -> dict:
    if not isinstance(entry, dict) or not entry.get("username"):
        raise ControlError("each user needs a 'username'")
    username = str(entry["username"])
    api_key = str(entry.get("apiKey") or secrets.token_hex(32))
    user = ensure_user(session, backend, username, api_key, str(entry.get("email") or ""), account)
    return {
        "username": username,
        "apiKey": api_key,
        "email": user.email,
        "accountId": user.account_id,
    }


def _seed_files_of(
    session: Session, backend: Backend, account_id: int, entry: dict, source: FileSource
) -> dict:
    """The transcode account and files an account or user entry asks for."""
    wanted = entry.get("transcodeAccount")
    files = entry.get("files") or {}
    if not wanted and not files:
        return {}
    if not isinstance(files, dict):
        raise ControlError("'files' maps /in or /out paths to a path, {text}, or {base64}")

    transcode_account = _transcode_account(session, backend, account_id, wanted)
    for virtual, content in files.items():
        _seed_file(session, backend, transcode_account.id, virtual, content, source)
    return {
        "transcodeAccountId": transcode_account.id,
        "ftpUsername": transcode_account.ftp_username,
        "files": sorted(str(name) for name in files),
    }


def _transcode_account(
    session: Session, backend: Backend, account_id: int, wanted: Any
) -> TranscodeAccount:
    from emulator.services.transcode_account import new_transcode_account

    existing = session.exec(
        select(TranscodeAccount).where(TranscodeAccount.account_id == account_id)
    ).first()
    transcode_account = existing or new_transcode_account(session, backend, account_id)
    if isinstance(wanted, dict) and wanted.get("ftpPassword"):
        transcode_account.ftp_password = str(wanted["ftpPassword"])
        session.add(transcode_account)
    session.flush()
    return transcode_account


def _seed_file(
    session: Session,
    backend: Backend,
    transcode_account_id: int,
    virtual: Any,
    given: Any,
    source: FileSource,
) -> None:
    try:
        path = backend.storage.resolve(
            transcode_account_id, virtual, (IN_DIR, OUT_DIR), "seed file"
        )
    except InvalidPath as error:
        raise ControlError(error.message) from None
    if path.virtual.count("/") != 2:
        raise ControlError(f"{path.virtual}: seed files go directly into /in or /out")
    if isinstance(given, str):
        given = {"path": given}
    if not isinstance(given, dict):
        raise ControlError(f"{path.virtual}: give a path, {{text}} or {{base64}}")

    content = source.content(path.virtual, given)
    backend.storage.create_home(transcode_account_id)
    staged = backend.storage.staging_file()
    staged.write_bytes(content)
    staged.replace(path.real)
    stored = record_file(session, backend, transcode_account_id, path.virtual, len(content))

    age = given.get("ageSeconds")
    if isinstance(age, (int, float)) and not isinstance(age, bool) and age > 0:
        stored.created_at -= age
        session.add(stored)


class FileSource:
    """Reads the content of a seed file entry: `{path}`, `{text}` or `{base64}`."""

    def __init__(self, base_dir: Path | None, read_local_files: bool) -> None:
        self.base_dir = base_dir
        self.read_local_files = read_local_files

    def content(self, virtual: str, given: dict) -> bytes:
        if "path" in given:
            return self._read(virtual, Path(str(given["path"])))
        if "base64" in given:
            try:
                return base64.b64decode(str(given["base64"]), validate=True)
            except binascii.Error:
                raise ControlError(f"{virtual}: the base64 content is not valid") from None
        if "text" in given:
            return str(given["text"]).encode()
        raise ControlError(f"{virtual}: give a path, {{text}} or {{base64}}")

    def _read(self, virtual: str, origin: Path) -> bytes:
        if not self.read_local_files:
            raise ControlError(
                f"{virtual}: a seed sent over HTTP gives content as {{text}} or {{base64}}; "
                "paths are read only from a seed file (--seed FILE)"
            )
        if not origin.is_absolute() and self.base_dir is not None:
            origin = self.base_dir / origin
        try:
            return origin.read_bytes()
        except OSError as error:
            raise ControlError(f"{virtual}: cannot read {origin}: {error.strerror}") from None
