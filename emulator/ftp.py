"""The transcode FTP server: one login per transcode account, /in and /out.

Built on pyftpdlib through its seams: an authorizer that reads logins from
the database, a filesystem that writes uploads to a staging file, and a
handler that moves a finished upload into /in (so a half-sent file is never
visible) and starts its retention clock.
"""

from __future__ import annotations

import hmac
import logging
import os
import shutil
import threading
from collections import Counter
from pathlib import Path

from pyftpdlib.authorizers import AuthenticationFailed
from pyftpdlib.filesystems import AbstractedFS, FilesystemError
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import ThreadedFTPServer
from sqlmodel import Session, select

from emulator.backend import Backend
from emulator.jobs import record_file
from emulator.models import TranscodeAccount
from emulator.storage import IN_DIR, _CONTROL

log = logging.getLogger("emulator.ftp")

READ_PERMS = "elr"
WRITE_PERMS = "adfw"  # append, delete, rename-from, store


class TranscodeAuthorizer:
    """Logins are the transcode accounts' FTP credentials, read from the database."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.sessions: Counter[str] = Counter()
        self.lock = threading.Lock()

    def validate_authentication(self, username: str, password: str, handler) -> None:
        account = self._account(username)
        expected = account.ftp_password if account else "\0" * 16
        if not hmac.compare_digest(expected.encode(), password.encode()) or account is None:
            raise AuthenticationFailed("Authentication failed.")
        with self.lock:
            if self.sessions[username] >= self.backend.settings.ftp_max_sessions_per_login:
                raise AuthenticationFailed("Too many sessions for this login.")
            self.sessions[username] += 1
        handler.transcode_account_id = account.id

    def release(self, username: str) -> None:
        with self.lock:
            if self.sessions[username] > 0:
                self.sessions[username] -= 1

    def get_home_dir(self, username: str) -> str:
        account = self._account(username)
        return str(self.backend.storage.create_home(account.id))

    def has_user(self, username: str) -> bool:
        return self._account(username) is not None

    def has_perm(self, username: str, perm: str, path: str | None = None) -> bool:
        if perm in READ_PERMS:
            return True
        if perm not in WRITE_PERMS or path is None:
            return False
        # Writes only inside /in, and never /in itself.
        account = self._account(username)
        in_dir = os.path.realpath(self.backend.storage.home(account.id) / IN_DIR)
        real = os.path.realpath(path)
        return os.path.dirname(real) == in_dir

    def get_perms(self, username: str) -> str:
        return READ_PERMS + WRITE_PERMS

    def get_msg_login(self, username: str) -> str:
        return "Welcome to the SoftLayer transcode FTP server (emulated)."

    def get_msg_quit(self, username: str) -> str:
        return "Goodbye."

    def impersonate_user(self, username: str, password: str) -> None:
        pass

    def terminate_impersonation(self, username: str) -> None:
        pass

    def _account(self, username: str) -> TranscodeAccount | None:
        if not username or len(username) > 64:
            return None
        with Session(self.backend.engine, expire_on_commit=False) as session:
            return session.exec(
                select(TranscodeAccount).where(TranscodeAccount.ftp_username == username)
            ).first()


class StagingFS(AbstractedFS):
    """Writes go to a staging file; the handler renames it into place when done."""

    def validpath(self, path: str) -> bool:
        if _CONTROL.search(path):
            return False
        return super().validpath(path)

    def open(self, filename: str, mode: str):
        if not any(flag in mode for flag in "wa+"):
            return super().open(filename, mode)

        staged = self.cmd_channel.backend.storage.staging_file(".upload")
        if "a" in mode or "+" in mode:
            # Resumed or appended uploads continue from the current content.
            if os.path.isfile(filename):
                shutil.copyfile(filename, staged)
            else:
                staged.touch()
        upload = open(staged, mode)
        self.cmd_channel.staged_uploads[str(staged)] = filename
        return upload

    def mkdir(self, path: str) -> None:
        raise FilesystemError("Folders cannot be created; upload into /in.")

    def chmod(self, path: str, mode) -> None:
        raise FilesystemError("Permissions cannot be changed.")


class TranscodeFTPHandler(FTPHandler):
    backend: Backend
    authorizer: TranscodeAuthorizer
    abstracted_fs = StagingFS
    permit_foreign_addresses = False
    auth_failed_timeout = 1.0
    max_login_attempts = 3

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.staged_uploads: dict[str, str] = {}
        self.transcode_account_id: int | None = None
        self.counted_login: str | None = None

    def on_login(self, username: str) -> None:
        self.counted_login = username
        log.info("ftp login=%s account=%s", username, self.transcode_account_id)

    def on_login_failed(self, username: str, password: str) -> None:
        log.warning("ftp login failed user=%r", username[:64])

    def close(self) -> None:
        if self.counted_login:
            self.authorizer.release(self.counted_login)
            self.counted_login = None
        for staged in list(self.staged_uploads):
            Path(staged).unlink(missing_ok=True)
        self.staged_uploads.clear()
        super().close()

    def on_file_received(self, file: str) -> None:
        final = self.staged_uploads.pop(file, None)
        if final is None:
            return
        os.replace(file, final)
        size = os.path.getsize(final)
        virtual = "/" + IN_DIR + "/" + os.path.basename(final)
        with Session(self.backend.engine, expire_on_commit=False) as session:
            record_file(session, self.backend, self.transcode_account_id, virtual, size)
            session.commit()
        log.info("ftp upload account=%s file=%s bytes=%s", self.transcode_account_id, virtual, size)

    def on_incomplete_file_received(self, file: str) -> None:
        self.staged_uploads.pop(file, None)
        Path(file).unlink(missing_ok=True)
        log.info("ftp upload incomplete account=%s, discarded", self.transcode_account_id)


class FTPService:
    """The FTP server of one emulator, serving in a background thread."""

    def __init__(self, backend: Backend, host: str, port: int) -> None:
        settings = backend.settings
        handler = type("BoundFTPHandler", (TranscodeFTPHandler,), {})
        handler.backend = backend
        handler.authorizer = TranscodeAuthorizer(backend)
        handler.passive_ports = list(settings.passive_range())
        handler.banner = "SoftLayer transcode FTP (emulator) ready."
        if settings.ftp_public_host:
            handler.masquerade_address = settings.ftp_public_host
        self.server = ThreadedFTPServer((host, port), handler)
        self.server.max_cons = 256
        self.thread = threading.Thread(target=self._serve, name="ftp", daemon=True)

    @property
    def port(self) -> int:
        return self.server.address[1]

    def start(self) -> None:
        self.thread.start()

    def _serve(self) -> None:
        self.server.serve_forever(timeout=0.2, blocking=True, handle_exit=False)

    def stop(self) -> None:
        self.server.close_all()
        self.thread.join(timeout=5)
