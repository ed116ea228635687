"""The pytest plugin as a user's project meets it: registered by installing
the package, one emulator per session, a clean state for every test."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from SoftLayer.transports.xmlrpc import XmlRpcTransport

from emulator.server import Emulator
from tests.job_flow import wait_for_job
from tests.media import make_clip

ROOT = Path(__file__).resolve().parent.parent
JOB = "SoftLayer_Network_Media_Transcode_Job"
ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
MP4 = "MP4 H.264 640x360 1Mbps 30fps AAC"


def test_the_readme_shows_the_fixture_example_verbatim():
    readme = (ROOT / "README.md").read_text()
    shown = re.search(
        r"it is `tests/test_fixture_example.py`.*?```python\n(.*?)```", readme, re.S
    ).group(1)

    assert shown == (ROOT / "tests" / "test_fixture_example.py").read_text()


def test_the_plugin_is_registered_through_the_pytest11_entry_point():
    plugins = {entry.name: entry.value for entry in entry_points(group="pytest11")}

    assert plugins["transcode_emulator"] == "emulator.pytest_plugin"


USER_PROJECT_CONFTEST = """
import pytest

@pytest.fixture(scope="session")
def transcode_emulator_options():
    return {"retention_seconds": 3600, "workers": 1}
"""

USER_PROJECT_TESTS = """
import io

SERVERS = []

def test_first_leaves_state_behind(transcode_emulator, softlayer_client, transcode_ftp):
    SERVERS.append(transcode_emulator.api_url)
    transcode_ftp.storbinary("STOR /in/left.txt", io.BytesIO(b"left over"))
    transcode_emulator.hold_jobs()
    transcode_emulator.advance_clock(30)
    assert len(softlayer_client.call("SoftLayer_Account", "getTranscodeAccounts")) == 1

def test_second_starts_clean_on_the_same_servers(transcode_emulator, softlayer_client):
    assert SERVERS == [transcode_emulator.api_url]
    assert softlayer_client.call("SoftLayer_Account", "getTranscodeAccounts") == []
    assert transcode_emulator.rules() == []
    assert transcode_emulator.backend.clock.offset() == 0

def test_options_reach_the_emulator(transcode_emulator, transcode_account):
    transcode_emulator.seed({"users": [{
        "username": transcode_emulator.username, "apiKey": transcode_emulator.api_key,
        "files": {"/in/short.txt": {"text": "short-lived"}},
    }]})
    # Minutes of margin on each side: the reaper also runs on its own.
    assert transcode_emulator.advance_clock(3000)["deletedFiles"] == []
    deleted = transcode_emulator.advance_clock(700)["deletedFiles"]
    assert deleted == [f"{transcode_account['id']}:/in/short.txt"]
"""


def test_a_projects_tests_each_start_clean_on_one_emulator(tmp_path):
    (tmp_path / "conftest.py").write_text(USER_PROJECT_CONFTEST)
    (tmp_path / "test_uses_transcoding.py").write_text(textwrap.dedent(USER_PROJECT_TESTS))

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
         str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


@pytest.mark.parametrize("softlayer_transport", ["xmlrpc"])
def test_the_xmlrpc_transport_is_chosen_by_parametrizing(softlayer_client, transcode_account):
    assert isinstance(softlayer_client.transport, XmlRpcTransport)
    assert softlayer_client.transport.endpoint_url.endswith("/xmlrpc/v3.1")
    assert softlayer_client.call(ACCOUNT, "getObject", id=transcode_account["id"])["id"] == (
        transcode_account["id"]
    )


def start_job(client, output: str) -> int:
    account_id = client.call("SoftLayer_Account", "getTranscodeAccounts")[0]["id"]
    presets = client.call(ACCOUNT, "getPresets", id=account_id)
    guid = next(p["GUID"] for p in presets if p["name"] == MP4)
    return client.call(JOB, "createObject", {
        "transcodePresetName": MP4, "transcodePresetGuid": guid,
        "inputFile": "/in/clip.wmv", "outputFile": output,
    })["id"]


def put_clip(emulator: Emulator, clip: bytes) -> None:
    emulator.seed({"users": [{
        "username": emulator.username, "apiKey": emulator.api_key,
        "files": {"/in/clip.wmv": {"base64": base64.b64encode(clip).decode()}},
    }]})


def test_a_job_still_running_at_reset_cannot_finish_into_the_next_state(
    transcode_emulator, softlayer_client, tmp_path
):
    clip = make_clip(tmp_path / "clip.wmv", seconds=0.5, size="160x120", rate=15).read_bytes()
    put_clip(transcode_emulator, clip)
    transcode_emulator.delay_jobs(30)
    old = start_job(softlayer_client, "/out/old")
    running = wait_for_job(softlayer_client, old, {"Processing"}, 60)
    assert running["transcodeStatusName"] == "Processing"

    transcode_emulator.reset()
    put_clip(transcode_emulator, clip)
    new = start_job(softlayer_client, "/out/new")
    job = wait_for_job(softlayer_client, new, {"Complete", "Error"})

    assert job["transcodeStatusName"] == "Complete"
    assert job["outputFile"] == "/out/new.mp4"
    started = [h for h in job["history"] if h["publicNotes"].startswith("Transcoding started")]
    assert len(started) == 1
    listing = softlayer_client.call(ACCOUNT, "getDirectoryInformation", "/out", "",
                                    id=softlayer_client.call("SoftLayer_Account",
                                                             "getTranscodeAccounts")[0]["id"])
    assert [entry["name"] for entry in listing] == ["new.mp4"]


def test_an_upload_is_in_in_as_soon_as_stor_returns(
    transcode_emulator, softlayer_client, transcode_account, transcode_ftp
):
    in_dir = transcode_emulator.backend.storage.home(transcode_account["id"]) / "in"

    missing = []
    for number in range(50):
        transcode_ftp.storbinary(f"STOR /in/part{number}.txt", io.BytesIO(b"part"))
        if not (in_dir / f"part{number}.txt").is_file():
            missing.append(number)

    assert missing == []
    listing = softlayer_client.call(ACCOUNT, "getDirectoryInformation", "/in", "",
                                    id=transcode_account["id"])
    assert len(listing) == 50
