"""The transcode FTP server: one login per transcode account, /in and /out.

Built on pyftpdlib through its seams: an authorizer that reads logins from
the database, a filesystem that writes uploads to a staging file, and a
handler that moves a finished upload into /in (so a half-sent file is never
visible) and starts its retention clock.

Every path a command names is checked like the API's paths (no `..`,
control characters or over-long names) and may not lead through a symbolic
link; listings leave symbolic links out. Uploads count against the
account's upload quota while they arrive, so an upload that would exceed it
stops with 552 and leaves nothing behind.
"""

from __future__ import annotations

import errno
import hmac
import logging
import os
import shutil
import sys
import threading
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from pyftpdlib.authorizers import AuthenticationFailed
from pyftpdlib.filesystems import AbstractedFS, FilesystemError
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import ThreadedFTPServer
from sqlmodel import Session, select

from emulator.backend import Backend
from emulator.jobs import record_file
from emulator.models import StoredFile, TranscodeAccount
from emulator.storage import IN_DIR, _CONTROL, InvalidPath, checked_names

log = logging.getLogger("emulator.ftp")

READ_PERMS = "elr"
WRITE_PERMS = "adfw"  # append, delete, rename-from, store
# Commands whose argument is a path; their paths are checked before use.
PATH_COMMANDS = {
    "APPE", "CWD", "DELE", "LIST", "MDTM", "MKD", "MLSD", "MLST", "NLST", "RETR",
    "RMD", "RNFR", "RNTO", "SIZE", "STAT", "STOR", "STOU", "XCWD", "XMKD", "XRMD",
}
LIST_FLAGS = {"-a", "-l", "-al", "-la"}


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


class UploadQuotaExceeded(OSError):
    """An upload would take the account past its upload quota."""

    def __init__(self, quota: int) -> None:
        super().__init__(errno.EDQUOT, f"Upload quota of {quota} bytes exceeded")
        self.quota = quota


class UploadQuota:
    """The upload quota of every account: the bytes in its /in and those arriving.

    Uploads in progress are counted too, so parallel sessions of one account
    cannot together exceed the quota.
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.lock = threading.Lock()
        self.arriving: dict[int, set["QuotaFile"]] = defaultdict(set)

    @property
    def limit(self) -> int:
        return self.backend.settings.upload_quota_bytes

    def used(self, account_id: int, replaced: str, ignore: "QuotaFile | None" = None) -> int:
        """Bytes the account holds, leaving out the file an upload replaces."""
        in_dir = self.backend.storage.home(account_id) / IN_DIR
        replaced_name = os.path.basename(replaced)
        stored = 0
        with os.scandir(in_dir) as entries:
            for entry in entries:
                if entry.name != replaced_name and entry.is_file(follow_symlinks=False):
                    stored += entry.stat(follow_symlinks=False).st_size
        with self.lock:
            arriving = sum(f.size for f in self.arriving[account_id] if f is not ignore)
        return stored + arriving

    def charge(self, upload: "QuotaFile", size: int) -> None:
        """Refuse growing `upload` to `size` bytes if that exceeds the quota."""
        if size <= upload.size:
            return
        if self.used(upload.account_id, upload.target, upload) + size > self.limit:
            raise UploadQuotaExceeded(self.limit)

    def track(self, upload: "QuotaFile") -> None:
        with self.lock:
            self.arriving[upload.account_id].add(upload)

    def forget(self, upload: "QuotaFile") -> None:
        with self.lock:
            self.arriving[upload.account_id].discard(upload)


class QuotaFile:
    """A staged upload whose every write is charged against the upload quota."""

    def __init__(self, raw: Any, quota: UploadQuota, account_id: int, target: str) -> None:
        self.raw = raw
        self.quota = quota
        self.account_id = account_id
        self.target = target
        self.size = os.fstat(raw.fileno()).st_size
        quota.track(self)

    def write(self, data: bytes) -> int:
        end = self.raw.tell() + len(data)
        self.quota.charge(self, end)
        written = self.raw.write(data)
        self.size = max(self.size, end)
        return written

    def close(self) -> None:
        self.quota.forget(self)
        self.raw.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class StagingFS(AbstractedFS):
    """Writes go to a staging file; the handler renames it into place when done."""

    def validpath(self, path: str) -> bool:
        if _CONTROL.search(path):
            return False
        if not super().validpath(path):
            return False
        return not _through_symlink(self.root, path)

    def listdir(self, path: str) -> list[str]:
        # A symbolic link in a home (planted in the data directory) is never
        # shown: its target may lie in another account's home.
        return [
            name for name in super().listdir(path)
            if not os.path.islink(os.path.join(path, name)) and not _CONTROL.search(name)
        ]

    listdirinfo = listdir

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
        quota: UploadQuota = self.cmd_channel.upload_quota
        if quota.limit <= 0:
            return upload
        return QuotaFile(upload, quota, self.cmd_channel.transcode_account_id, filename)

    def chdir(self, path: str) -> None:
        # pyftpdlib changes the process's working directory here; in a
        # threaded server that would move every other thread's relative paths.
        if not os.path.isdir(path):
            raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
        self.cwd = self.fs2ftp(path)

    def mkstemp(self, suffix="", prefix="", dir=None, mode="wb"):
        raise FilesystemError("Unique names (STOU) are not offered; upload with STOR into /in")

    def mkdir(self, path: str) -> None:
        raise FilesystemError("Folders cannot be created; upload into /in.")

    def chmod(self, path: str, mode) -> None:
        raise FilesystemError("Permissions cannot be changed.")


def _through_symlink(root: str, path: str) -> bool:
    """True if `path` (inside `root`) or `root` itself is or passes a symbolic link."""
    if os.path.islink(root):
        return True
    relative = os.path.relpath(path, root)
    current = root
    for name in relative.split(os.sep):
        if name in ("", "."):
            continue
        current = os.path.join(current, name)
        if os.path.islink(current):
            return True
    return False


class TranscodeDTPHandler(DTPHandler):
    """The data channel; a full quota or disk aborts an upload with its own reply."""

    def close(self) -> None:
        # pyftpdlib replies "226" before it calls on_file_received; publish a
        # finished upload first, so a client that reads the reply finds the
        # file in /in (the later call finds nothing left to publish).
        finished_upload = (
            not self._closed and self.receive and self.transfer_finished
            and self.file_obj is not None
        )
        if finished_upload:
            self.file_obj.close()
            self.cmd_channel.on_file_received(self.file_obj.name)
        super().close()

    def handle_error(self) -> None:
        error = sys.exc_info()[1]
        cause = error.__cause__ if isinstance(error, OSError) else None
        if isinstance(cause, UploadQuotaExceeded):
            reply = f"552 {cause.strerror}; the upload was discarded."
        elif isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
            reply = "452 Insufficient storage space; the upload was discarded."
        else:
            super().handle_error()
            return
        self._resp = (reply, log.warning)
        self.close()


class TranscodeFTPHandler(FTPHandler):
    backend: Backend
    authorizer: TranscodeAuthorizer
    upload_quota: UploadQuota
    abstracted_fs = StagingFS
    dtp_handler = TranscodeDTPHandler
    permit_foreign_addresses = False
    auth_failed_timeout = 1.0
    max_login_attempts = 3

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.staged_uploads: dict[str, str] = {}
        self.transcode_account_id: int | None = None
        self.counted_login: str | None = None

    def pre_process_command(self, line: str, cmd: str, arg: str) -> None:
        problem = self._path_problem(cmd, arg) if self.authenticated else None
        if problem:
            self.respond(f"553 {problem}")
            self.log_cmd(cmd, arg[:120], 553, problem)
            return
        super().pre_process_command(line, cmd, arg)

    def _path_problem(self, cmd: str, arg: str) -> str | None:
        if cmd not in PATH_COMMANDS or not arg:
            return None
        if cmd == "LIST" and arg.lower() in LIST_FLAGS:
            return None
        try:
            checked_names(arg)
        except InvalidPath as error:
            return error.message
        if _through_symlink(self.fs.root, self.fs.ftp2fs(arg)):
            return "The path leads through a symbolic link."
        return None

    def ftp_STOR(self, file: str, mode: str = "w"):
        quota = self.upload_quota
        if quota.limit > 0 and quota.used(self.transcode_account_id, file) >= quota.limit:
            self.respond(f"552 Upload quota of {quota.limit} bytes is used up.")
            return None
        return super().ftp_STOR(file, mode)

    def on_login(self, username: str) -> None:
        self.counted_login = username
        log.info("ftp login=%s account=%s", username, self.transcode_account_id)

    def on_logout(self, username: str) -> None:
        self._release_login()

    def ftp_QUIT(self, line: str) -> None:
        # Free the session before the reply, so a client that reconnects as
        # soon as it reads "221" finds its session available.
        self._release_login()
        super().ftp_QUIT(line)

    def on_login_failed(self, username: str, password: str) -> None:
        log.warning("ftp login failed user=%r", username[:64])

    def close(self) -> None:
        self._release_login()
        for staged in list(self.staged_uploads):
            Path(staged).unlink(missing_ok=True)
        self.staged_uploads.clear()
        super().close()

    def _release_login(self) -> None:
        if self.counted_login:
            self.authorizer.release(self.counted_login)
            self.counted_login = None

    def ftp_RNTO(self, path: str):
        renamed = super().ftp_RNTO(path)
        if renamed:
            self._keep_retention_clock(*renamed)
        return renamed

    def _keep_retention_clock(self, source: str, target: str) -> None:
        """A renamed file keeps its creation time: renaming never extends retention."""
        old = "/" + IN_DIR + "/" + os.path.basename(source)
        new = "/" + IN_DIR + "/" + os.path.basename(target)
        account_id = self.transcode_account_id
        with Session(self.backend.engine, expire_on_commit=False) as session:
            records = session.exec(
                select(StoredFile)
                .where(StoredFile.transcode_account_id == account_id)
                .where(StoredFile.path.in_((old, new)))
            ).all()
            for record in records:
                if record.path == new:
                    session.delete(record)  # the file the rename replaced
            session.flush()
            for record in records:
                if record.path == old:
                    record.path = new
                    session.add(record)
            session.commit()
        log.info("ftp rename account=%s file=%s to=%s", account_id, old, new)

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


class OwnFTPServer(ThreadedFTPServer):
    """A threaded FTP server that shares no state with others in the process.

    pyftpdlib keeps the IOLoop, the stop event and the task lock process-wide,
    so stopping one emulator's FTP server would stop every other one.
    """

    def __init__(self, address: tuple[str, int], handler: type[FTPHandler]) -> None:
        self._lock = threading.Lock()
        self._exit = threading.Event()
        super().__init__(address, handler, ioloop=IOLoop())


class FTPService:
    """The FTP server of one emulator, serving in a background thread."""

    def __init__(self, backend: Backend, host: str, port: int) -> None:
        settings = backend.settings
        handler = type("BoundFTPHandler", (TranscodeFTPHandler,), {})
        handler.backend = backend
        handler.authorizer = TranscodeAuthorizer(backend)
        handler.upload_quota = UploadQuota(backend)
        handler.passive_ports = list(settings.passive_range())
        handler.banner = "SoftLayer transcode FTP (emulator) ready."
        if settings.ftp_public_host:
            handler.masquerade_address = settings.ftp_public_host
        self.server = OwnFTPServer((host, port), handler)
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
