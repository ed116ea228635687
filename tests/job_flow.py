"""Driving transcode jobs as a client does: SoftLayer calls, FTP, the control API."""

from __future__ import annotations

import ftplib
import io
import random
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest

from emulator.server import Credentials, Emulator
from tests.media import make_clip

JOB = "SoftLayer_Network_Media_Transcode_Job"
ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
F4V = ("{87E01268-C3E3-4A85-9701-052C9AC42BD4}", "F4V 896kbps 640x352 16x9 29.97fps")
FLV_NAME = "FLV 400kbps 320x240 4x3 15fps"
MP3_NAME = "MP3 128kbps 44.1kHz Stereo"
FINISHED = {"Complete", "Error"}
JOB_MASK = "mask[id,transcodeStatusName,outputFile,history]"
USERS = {
    "alice": "alice-api-key-0123456789abcdef0123456789",
    "bob": "bob-api-key-0123456789abcdef0123456789ab",
    "carol": "carol-api-key-0123456789abcdef012345678",
}


def start_emulator(data_dir: Path, **options: Any) -> Emulator:
    """An in-process emulator on free ports with the users in USERS."""
    low = random.randrange(40000, 60000, 100)
    settings = {
        "host": "127.0.0.1",
        "api_port": 0,
        "ftp_port": 0,
        "ftp_passive_ports": f"{low}-{low + 99}",
        "data_dir": data_dir,
        "users": [f"{name}:{key}" for name, key in USERS.items()],
        **options,
    }
    return Emulator(**settings).start()


def client_for(emulator: Emulator, username: str, transport: str = "rest"):
    return emulator.softlayer_client(transport, Credentials(username, USERS[username]))


def wait_until(check: Callable[[], Any], timeout: float = 90, interval: float = 0.1) -> Any:
    """The first truthy result of `check`; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout} s: last result {result!r}")
        time.sleep(interval)


def transcode_account_id(client) -> int:
    """The caller's transcode account, created when it has none."""
    accounts = client.call("SoftLayer_Account", "getTranscodeAccounts")
    if not accounts:
        client.call(ACCOUNT, "createTranscodeAccount")
        accounts = client.call("SoftLayer_Account", "getTranscodeAccounts")
    return accounts[0]["id"]


def preset(client, transcode_id: int, name: str) -> tuple[str, str]:
    """(GUID, name) of the preset called `name`."""
    presets = client.call(ACCOUNT, "getPresets", id=transcode_id)
    match = next(p for p in presets if p["name"] == name)
    return match["GUID"], match["name"]


def create_job(
    client, input_file: str, output_file: str, chosen: tuple[str, str] = F4V, **extra: Any
) -> dict:
    template = {
        "transcodePresetGuid": chosen[0],
        "transcodePresetName": chosen[1],
        "inputFile": input_file,
        "outputFile": output_file,
        **extra,
    }
    return client.call(JOB, "createObject", template)


def job(client, job_id: int) -> dict:
    return client.call(JOB, "getObject", id=job_id, mask=JOB_MASK)


def wait_for_job(client, job_id: int, statuses=FINISHED, timeout: float = 120) -> dict:
    return wait_until(
        lambda: (found := job(client, job_id))["transcodeStatusName"] in statuses and found,
        timeout,
        interval=0.2,
    )


def history(client, job_id: int) -> list[tuple[str, str]]:
    entries = client.call(JOB, "getHistory", id=job_id)
    return [(entry["transcodeStatusName"], entry["publicNotes"]) for entry in entries]


def listing(client, transcode_id: int, folder: str) -> list[str]:
    entries = client.call(ACCOUNT, "getDirectoryInformation", folder, "", id=transcode_id)
    return sorted(entry["name"] for entry in entries)


@contextmanager
def ftp_session(client, transcode_id: int) -> Iterator[ftplib.FTP]:
    attributes = client.call(ACCOUNT, "getFtpAttributes", id=transcode_id)
    ftp = ftplib.FTP()
    ftp.connect(attributes["host"], attributes["port"], timeout=30)
    ftp.login(attributes["username"], attributes["password"])
    try:
        yield ftp
    finally:
        try:
            ftp.quit()
        except (OSError, EOFError, ftplib.Error):
            ftp.close()


def upload(client, transcode_id: int, source: Path | bytes, name: str) -> None:
    """Store `source` (a file or bytes) as /in/<name> over FTP."""
    content = source if isinstance(source, bytes) else source.read_bytes()
    with ftp_session(client, transcode_id) as ftp:
        ftp.storbinary(f"STOR /in/{name}", io.BytesIO(content))


def download(client, transcode_id: int, path: str) -> bytes:
    received = io.BytesIO()
    with ftp_session(client, transcode_id) as ftp:
        ftp.retrbinary(f"RETR {path}", received.write)
    return received.getvalue()


def control(api_url: str, method: str, path: str, body: Any = None) -> Any:
    """Call the control API, `path` relative to /_emulator/."""
    response = httpx.request(method, f"{api_url}/_emulator/{path}", json=body, timeout=60)
    response.raise_for_status()
    return response.json()


# Fixtures shared by the job-flow test modules, which import them by name.


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Iterator[Emulator]:
    running = start_emulator(tmp_path_factory.mktemp("job-flow"), workers=2)
    yield running
    running.stop(grace=0)


@pytest.fixture(autouse=True)
def clean_state(emulator: Emulator) -> None:
    emulator.reset()


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("media") / "clip.wmv", seconds=1, size="160x120")


@pytest.fixture
def alice(emulator: Emulator):
    return client_for(emulator, "alice")
