"""The end-to-end flow through every way users reach SoftLayer, with the same answers.

One `serve` process; three customers, each driven by one client: the
official SoftLayer client over XML-RPC, the same client over REST, and
`slcli call-api` (the command line users script against). Each runs the
whole flow (account, FTP upload, presets, file detail, jobs to Complete and
to Error, masks, filters, limits, errors, download), asserting concrete
values as it goes; the transcripts of the three must then be identical.
"""

from __future__ import annotations

import ftplib
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import SoftLayer

from tests.media import make_clip, probe
from tests.served import serve

ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
JOB = "SoftLayer_Network_Media_Transcode_Job"
F4V_GUID = "{87E01268-C3E3-4A85-9701-052C9AC42BD4}"
F4V_NAME = "F4V 896kbps 640x352 16x9 29.97fps"
TRANSPORTS = ("xmlrpc", "rest", "slcli")
USERS = {transport: (f"CONFORMANCE-{transport.upper()}", f"{transport}-key-0123456789abcdef")
         for transport in TRANSPORTS}
# Values that differ between customers or runs; each flow checks them itself.
VOLATILE = {
    "id", "accountId", "transcodeAccountId", "userId", "createDate", "modifyDate",
    "transcodeJobGuid", "username", "password", "companyName", "email",
}
_SLCLI_ERROR = re.compile(r"^SoftLayerAPIError\((?P<code>[^)]*)\): (?P<message>.*)$", re.S)


class ApiError(Exception):
    def __init__(self, code: Any, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


@dataclass
class ClientApi:
    """The official client; its transport follows the endpoint URL."""

    transport: str
    client: Any

    def call(self, service: str, method: str, *params, **options) -> Any:
        options = {k: v for k, v in options.items() if v is not None}
        try:
            return self.client.call(service, method, *params, **options)
        except SoftLayer.SoftLayerAPIError as error:
            raise ApiError(error.faultCode, error.faultString) from None

    def code(self, softlayer_code: str, http_status: int) -> Any:
        # REST clients see the HTTP status; XML-RPC faults carry the class name.
        return http_status if self.transport == "rest" else softlayer_code


@dataclass
class SlcliApi:
    """`slcli call-api` against the XML-RPC endpoint, as a shell script runs it."""

    transport: str
    config: Path
    environment: dict

    def call(self, service, method, *params, id=None, mask=None, filter=None, limit=None) -> Any:
        command = ["slcli", "--config", str(self.config), "--format", "json", "call-api",
                   service, method]
        command += [json.dumps(p) if isinstance(p, (dict, list)) else str(p) for p in params]
        if id is not None:
            command += ["--id", str(id)]
        if mask is not None:
            command += ["--mask", mask]
        if filter is not None:
            command += ["--json-filter", json.dumps(filter, separators=(",", ":"))]
        if limit is not None:
            command += ["--limit", str(limit)]
        finished = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                  env=self.environment)
        output = finished.stdout.strip()
        if finished.returncode != 0:
            failure = _SLCLI_ERROR.match(output.splitlines()[-1] if output else finished.stderr)
            assert failure, f"slcli failed without an API error: {finished.stdout}{finished.stderr}"
            raise ApiError(failure["code"], failure["message"])
        return _json_at_end(output)

    def code(self, softlayer_code: str, http_status: int) -> Any:
        return softlayer_code


def _json_at_end(output: str) -> Any:
    """The JSON slcli printed, after any warning lines it wrote before it."""
    lines = output.splitlines()
    for start in range(len(lines)):
        try:
            return json.loads("\n".join(lines[start:]))
        except ValueError:
            continue
    return output


def normalized(value: Any) -> Any:
    # slcli's table formatting gives every row of a list the same columns,
    # filling absent properties with null; absent and null compare equal here.
    if isinstance(value, dict):
        return {
            k: normalized(v) for k, v in sorted(value.items())
            if k not in VOLATILE and v is not None
        }
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value


# -- fixtures ------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    users = [arg for username, key in USERS.values() for arg in ("--user", f"{username}:{key}")]
    server = serve(tmp_path_factory.mktemp("conformance"), "--workers", "2", *users)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.wmv", seconds=1)


def api_for(transport: str, served, tmp_path: Path):
    username, api_key = USERS[transport]
    if transport in ("xmlrpc", "rest"):
        url = served.xmlrpc_url if transport == "xmlrpc" else served.rest_url
        client = SoftLayer.create_client_from_env(username=username, api_key=api_key, endpoint_url=url)
        return ClientApi(transport, client)

    config = tmp_path / "softlayer.conf"
    config.write_text(
        f"[softlayer]\nusername = {username}\napi_key = {api_key}\nendpoint_url = {served.xmlrpc_url}\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SL_")}
    environment["HOME"] = str(tmp_path)
    return SlcliApi(transport, config, environment)


@pytest.fixture(scope="module")
def transcripts(served, clip, tmp_path_factory) -> dict[str, list]:
    if shutil.which("slcli") is None:
        pytest.fail("slcli is not installed; `pip install SoftLayer` provides it")
    return {
        transport: run_flow(api_for(transport, served, tmp_path_factory.mktemp(transport)),
                            served, clip, tmp_path_factory.mktemp(f"{transport}-files"))
        for transport in TRANSPORTS
    }


# -- the flow ------------------------------------------------------------------


def ftp_session(info: dict) -> ftplib.FTP:
    ftp = ftplib.FTP()
    ftp.connect(info["host"], info["port"], timeout=30)
    ftp.login(info["username"], info["password"])
    return ftp


def wait_until_finished(api, job_id: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = api.call(JOB, "getObject", id=job_id, mask="mask[id,transcodeStatusName]")
        if job["transcodeStatusName"] in ("Complete", "Error") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def run_flow(api, served, clip: Path, workdir: Path) -> list[tuple[str, Any]]:
    transcript: list[tuple[str, Any]] = []

    def record(step: str, value: Any) -> None:
        transcript.append((step, normalized(value)))

    # The caller's account, and one transcode account for it; a second is refused.
    account = api.call("SoftLayer_Account", "getObject", mask="mask[id,companyName]")
    assert set(account) == {"id", "companyName"}
    record("account", account)
    assert api.call(ACCOUNT, "createTranscodeAccount") is True
    with pytest.raises(ApiError) as refused:
        api.call(ACCOUNT, "createTranscodeAccount")
    assert refused.value.code == api.code("SoftLayer_Exception_Public", 500)
    record("second transcode account", refused.value.message)

    (transcode_account,) = api.call("SoftLayer_Account", "getTranscodeAccounts")
    transcode_id = transcode_account["id"]
    assert transcode_account["accountId"] == account["id"]
    record("transcode accounts", [transcode_account])

    # FTP: upload a clip and a file that is no media at all.
    ftp_info = api.call(ACCOUNT, "getFtpAttributes", id=transcode_id)
    assert (ftp_info["host"], ftp_info["port"], ftp_info["type"]) == (
        served.ftp_host, served.ftp_port, "ftp"
    )
    record("ftp attributes", ftp_info)
    with ftp_session(ftp_info) as ftp, clip.open("rb") as source:
        ftp.storbinary("STOR /in/clip.wmv", source)
        (workdir / "broken.wmv").write_bytes(b"this is not a video\n" * 50)
        with (workdir / "broken.wmv").open("rb") as broken:
            ftp.storbinary("STOR /in/broken.wmv", broken)

    # Presets, filtered and masked; a preset's elements.
    presets = api.call(ACCOUNT, "getPresets", id=transcode_id, mask="mask[GUID,name]",
                       filter={"name": {"operation": f"_= {F4V_NAME.lower()}"}})
    assert presets == [{"GUID": F4V_GUID, "name": F4V_NAME}]
    record("presets", presets)
    elements = api.call(ACCOUNT, "getPresetDetail", F4V_GUID, id=transcode_id)
    frame_size = next(e for e in elements if e["name"] == "Frame Size")
    assert frame_size["defaultValue"] == "640x352"
    record("preset detail", elements)

    # What was uploaded.
    listing = api.call(ACCOUNT, "getDirectoryInformation", "/in", "", id=transcode_id)
    assert sorted(entry["name"] for entry in listing) == ["broken.wmv", "clip.wmv"]
    record("listing of /in", sorted(listing, key=lambda entry: entry["name"]))
    detail = api.call(ACCOUNT, "getFileDetail", "/in/clip.wmv", id=transcode_id)
    assert (detail["videoCodec"], detail["sizeX"], detail["sizeY"]) == ("wmv2", 320, 240)
    assert detail["fileSize"] == clip.stat().st_size
    record("file detail", detail)

    # Two jobs: one completes, one fails.
    good = api.call(JOB, "createObject", {
        "name": "My transcoding", "transcodePresetName": F4V_NAME,
        "transcodePresetGuid": F4V_GUID, "inputFile": "/in/clip.wmv",
        "outputFile": "/out/clip_flash",
    })
    assert (good["transcodeStatusId"], good["byteIn"]) == (1, clip.stat().st_size)
    record("created job", good)
    bad = api.call(JOB, "createObject", {
        "name": "Broken input", "transcodePresetName": F4V_NAME,
        "transcodePresetGuid": F4V_GUID, "inputFile": "/in/broken.wmv",
        "outputFile": "/out/broken",
    })
    assert wait_until_finished(api, good["id"])["transcodeStatusName"] == "Complete"
    assert wait_until_finished(api, bad["id"])["transcodeStatusName"] == "Error"

    history = api.call(JOB, "getHistory", id=good["id"])
    statuses = [entry["transcodeStatusName"] for entry in history]
    assert (statuses[0], statuses[-1]) == ("Pending", "Complete")
    record("history statuses", sorted(set(statuses)))
    assert api.call(JOB, "getTranscodeStatusName", id=good["id"]) == "Complete"

    # Masks, both forms of filter, ordering and limits over the account's jobs.
    complete = api.call(
        ACCOUNT, "getTranscodeJobs", id=transcode_id,
        mask="mask[name,outputFile,transcodeStatus[name]]",
        filter={"transcodeJobs": {"transcodeStatusName": {"operation": "Complete"}}},
    )
    assert complete == [{"name": "My transcoding", "outputFile": "/out/clip_flash.f4v",
                         "transcodeStatus": {"name": "Complete"}}]
    record("complete jobs", complete)
    failed = api.call(
        ACCOUNT, "getTranscodeJobs", id=transcode_id, mask="mask[name,transcodeStatusName]",
        filter={"history": {"publicNotes": {"operation": "isNotNull"}},
                "transcodeStatusName": {"operation": "Error"}},
    )
    assert failed == [{"name": "Broken input", "transcodeStatusName": "Error"}]
    record("failed jobs", failed)
    last_by_name = api.call(
        ACCOUNT, "getTranscodeJobs", id=transcode_id, mask="mask[name]", limit=1,
        filter={"transcodeJobs": {"name": {"operation": "orderBy",
                                           "options": [{"name": "sort", "value": ["DESC"]}]}}},
    )
    assert last_by_name == [{"name": "My transcoding"}]
    record("last job by name", last_by_name)

    # The output, listed and downloaded, is what the preset promises.
    out = api.call(ACCOUNT, "getDirectoryInformation", "/out", "", id=transcode_id)
    assert out == [{"name": "clip_flash.f4v", "type": ""}]
    record("listing of /out", out)
    downloaded = workdir / "clip_flash.f4v"
    with ftp_session(ftp_info) as ftp, downloaded.open("wb") as target:
        ftp.retrbinary("RETR /out/clip_flash.f4v", target.write)
    media = probe(downloaded)
    assert (media["video"]["codec"], media["video"]["width"], media["video"]["height"]) == (
        "h264", 640, 352
    )
    record("output video", [media["video"]["codec"], media["audio"]["codec"]])

    # Errors read the same whichever way they travel.
    with pytest.raises(ApiError) as missing:
        api.call(JOB, "getObject", id=987654)
    assert missing.value.code == api.code("SoftLayer_Exception_ObjectNotFound", 404)
    record("missing job", missing.value.message)
    with pytest.raises(ApiError) as unknown:
        api.call(JOB, "getObject", id=good["id"], mask="mask[id,colour]")
    assert unknown.value.code == api.code("SoftLayer_Exception_Public", 500)
    record("unknown mask property", unknown.value.message)
    return transcript


# -- tests ---------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_whole_flow_runs_through(transcripts, transport):
    steps = dict(transcripts[transport])

    assert steps["second transcode account"] == (
        "This account already has a transcode account; only one is allowed."
    )
    assert steps["complete jobs"] == [{"name": "My transcoding", "outputFile": "/out/clip_flash.f4v",
                                       "transcodeStatus": {"name": "Complete"}}]
    assert steps["missing job"] == "Unable to find object with id of '987654'."
    assert steps["output video"] == ["h264", "aac"]


def test_every_transport_gives_the_same_results(transcripts):
    reference = transcripts["xmlrpc"]

    assert len(reference) == 17
    for transport in ("rest", "slcli"):
        assert transcripts[transport] == reference, transport
