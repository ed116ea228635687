"""The transcode accounts' FTP homes: /in, /out, and the paths that reach them.

Every path a client gives (API or FTP) is checked here: it must stay under
the account's home, name no symlink, and hold no `..`, NUL, control
character or over-long component.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from emulator.errors import SoftLayer_Exception_Public

IN_DIR = "in"
OUT_DIR = "out"
MAX_PATH_LENGTH = 1024
MAX_NAME_LENGTH = 255
OWNER_SEPARATOR = "~"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Lone surrogates: a JSON body may carry them, but no file name can hold them.
_UNENCODABLE = re.compile(r"[\ud800-\udfff]")


class InvalidPath(SoftLayer_Exception_Public):
    """A path that is malformed or leaves the account's home."""


@dataclass(frozen=True)
class AccountPath:
    """A checked path: `virtual` as clients write it, `real` on disk."""

    virtual: str
    real: Path

    @property
    def folder(self) -> str:
        return PurePosixPath(self.virtual).parts[1]


class Storage:
    def __init__(self, data_dir: Path) -> None:
        # Absolute, so no change of the working directory can move the files.
        data_dir = data_dir.resolve()
        self.root = data_dir / "ftp"
        # Uploads and transcodes are written here, then renamed into place,
        # so /in and /out never show half a file. Same filesystem as `root`.
        self.staging = data_dir / "staging"
        # Staged files are named after their process: API and worker
        # processes, on several machines, may share the data directory.
        self.staging_owner = f"{socket.gethostname()}{OWNER_SEPARATOR}{os.getpid()}"

    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.staging.mkdir(parents=True, exist_ok=True)
        # Whatever a process of this host was writing when it died is unfinished.
        for leftover in self.staging.iterdir():
            if _staged_by_live_process(leftover.name):
                continue
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)

    def home(self, transcode_account_id: int) -> Path:
        return self.root / str(transcode_account_id)

    def create_home(self, transcode_account_id: int) -> Path:
        home = self.home(transcode_account_id)
        (home / IN_DIR).mkdir(parents=True, exist_ok=True)
        (home / OUT_DIR).mkdir(parents=True, exist_ok=True)
        return home

    def remove_all(self) -> None:
        for folder in (self.root, self.staging):
            shutil.rmtree(folder, ignore_errors=True)
        self.prepare()

    def staging_file(self, suffix: str = "") -> Path:
        name = f"{self.staging_owner}{OWNER_SEPARATOR}{uuid.uuid4().hex}{suffix}"
        return self.staging / name

    def resolve(
        self,
        transcode_account_id: int,
        path: object,
        folders: tuple[str, ...] = (IN_DIR, OUT_DIR),
        what: str = "path",
    ) -> AccountPath:
        """Check a client's path such as `/in/clip.wmv` and find it on disk."""
        virtual = normalize(path, what)
        parts = PurePosixPath(virtual).parts
        if len(parts) < 2 or parts[1] not in folders:
            allowed = " or ".join(f"/{f}" for f in folders)
            raise InvalidPath(f"The {what} '{_shown(path)}' must be in {allowed}.")

        home = self.home(transcode_account_id)
        real = home.joinpath(*parts[1:])
        _refuse_symlinks(home, parts[1:], what, path)
        return AccountPath(virtual, real)


def _staged_by_live_process(name: str) -> bool:
    """Whether a staged file may still be written: its process runs, or runs elsewhere."""
    host, _, rest = name.partition(OWNER_SEPARATOR)
    pid = rest.partition(OWNER_SEPARATOR)[0]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def normalize(path: object, what: str = "path") -> str:
    """`/in/a.wmv` from a client's path, or InvalidPath saying what is wrong."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidPath(f"The {what} must be a non-empty string.")
    return "/" + "/".join(checked_names(path, what))


def checked_names(path: str, what: str = "path") -> list[str]:
    """The names along a path (absolute or relative), or InvalidPath.

    Shared by the API and the FTP server, so both refuse the same paths.
    """
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidPath(f"The {what} is longer than {MAX_PATH_LENGTH} characters.")
    if _UNENCODABLE.search(path):
        raise InvalidPath(f"The {what} is not valid Unicode text.")
    if _CONTROL.search(path):
        raise InvalidPath(f"The {what} contains a control character.")
    if "\\" in path:
        raise InvalidPath(f"The {what} '{_shown(path)}' contains a backslash.")

    names = [name for name in path.split("/") if name not in ("", ".")]
    if ".." in names:
        raise InvalidPath(f"The {what} '{_shown(path)}' may not contain '..'.")
    for name in names:
        if len(name.encode()) > MAX_NAME_LENGTH:
            raise InvalidPath(f"A name in the {what} is longer than {MAX_NAME_LENGTH} bytes.")
    return names


def _refuse_symlinks(home: Path, names: tuple[str, ...], what: str, path: object) -> None:
    if home.is_symlink():
        raise InvalidPath(f"The {what} '{_shown(path)}' leads through a symbolic link.")
    current = home
    for name in names:
        current = current / name
        if current.is_symlink():
            raise InvalidPath(f"The {what} '{_shown(path)}' leads through a symbolic link.")


def _shown(path: object) -> str:
    text = str(path)
    return text if len(text) <= 120 else text[:120] + "..."


def is_regular_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def list_directory(directory: Path, extension_filter: str) -> list[dict]:
    """SoftLayer_Container_Network_Directory_Listing entries of one folder."""
    extensions = [
        e.strip().lstrip("*").lstrip(".").lower()
        for e in extension_filter.replace(";", ",").split(",")
        if e.strip()
    ]
    entries = []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        if entry.is_symlink():
            continue
        if entry.is_dir():
            file_count = sum(
                1 for child in os.scandir(entry.path) if child.is_file(follow_symlinks=False)
            )
            entries.append({"name": entry.name, "type": "directory", "fileCount": file_count})
            continue
        if extensions and not any(entry.name.lower().endswith("." + e) for e in extensions):
            continue
        entries.append({"name": entry.name, "type": ""})
    return entries
