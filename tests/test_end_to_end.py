"""The whole transcode flow, driven as a user does: `serve`, SoftLayer's
official client over REST, and a stock FTP client."""

from __future__ import annotations

import ftplib
import io

import pytest
import SoftLayer

from emulator.config import DEFAULT_API_KEY, DEFAULT_USERNAME
from tests.job_flow import wait_for_job
from tests.media import make_clip, probe
from tests.served import serve

F4V_GUID = "{87E01268-C3E3-4A85-9701-052C9AC42BD4}"
F4V_NAME = "F4V 896kbps 640x352 16x9 29.97fps"
JOB = "SoftLayer_Network_Media_Transcode_Job"
ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = serve(tmp_path_factory.mktemp("served"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(served):
    return SoftLayer.create_client_from_env(
        username=DEFAULT_USERNAME, api_key=DEFAULT_API_KEY, endpoint_url=served.rest_url
    )


def test_a_user_transcodes_a_wmv_to_f4v_end_to_end(served, client, tmp_path):
    # 1. The caller's account.
    account = client.call("SoftLayer_Account", "getObject")
    assert isinstance(account["id"], int)

    # 2. One transcode account per account; the second is refused.
    assert client.call(ACCOUNT, "createTranscodeAccount") is True
    with pytest.raises(SoftLayer.SoftLayerAPIError) as refused:
        client.call(ACCOUNT, "createTranscodeAccount")
    assert refused.value.faultCode == 500
    assert "already has a transcode account" in refused.value.faultString

    # 3. The account lists it.
    transcode_accounts = client.call("SoftLayer_Account", "getTranscodeAccounts")
    assert len(transcode_accounts) == 1
    transcode_id = transcode_accounts[0]["id"]

    # 4. FTP attributes work with a stock client; /in takes uploads, /out does not.
    ftp_info = client.call(ACCOUNT, "getFtpAttributes", id=transcode_id)
    assert ftp_info["type"] == "ftp"
    assert (ftp_info["host"], ftp_info["port"]) == (served.ftp_host, served.ftp_port)
    clip = make_clip(tmp_path / "clip.wmv", seconds=3)
    with ftplib.FTP() as ftp:
        ftp.connect(ftp_info["host"], ftp_info["port"], timeout=10)
        ftp.login(ftp_info["username"], ftp_info["password"])
        with clip.open("rb") as upload:
            ftp.storbinary("STOR /in/clip.wmv", upload)
        with pytest.raises(ftplib.error_perm) as out_refused:
            ftp.storbinary("STOR /out/sneaky.wmv", io.BytesIO(b"x"))
        assert out_refused.value.args[0].startswith("550")
        with pytest.raises(ftplib.error_perm):
            ftp.storbinary("STOR /outside.wmv", io.BytesIO(b"x"))
        assert sorted(ftp.nlst("/")) == ["in", "out"]

    # 5. Presets and their elements.
    presets = client.call(ACCOUNT, "getPresets", id=transcode_id)
    f4v = next(p for p in presets if p["GUID"] == F4V_GUID)
    assert f4v["name"] == F4V_NAME
    elements = client.call(ACCOUNT, "getPresetDetail", F4V_GUID, id=transcode_id)
    frame_size = next(e for e in elements if e["name"] == "Frame Size")
    assert frame_size["defaultValue"] == "640x352"

    # 6. The uploaded file described.
    detail = client.call(ACCOUNT, "getFileDetail", "/in/clip.wmv", id=transcode_id)
    assert detail["videoCodec"] == "wmv2"
    assert (detail["sizeX"], detail["sizeY"]) == (320, 240)
    assert detail["frameRate"] == pytest.approx(25, abs=0.1)
    assert detail["duration"] == pytest.approx(3, abs=0.2)
    assert detail["audioCodec"] == "wmav2"
    assert detail["audioSampleRate"] == 44100
    assert detail["fileSize"] == clip.stat().st_size

    # 7. A job, created Pending.
    job = client.call(JOB, "createObject", {
        "name": "My transcoding",
        "transcodePresetGuid": F4V_GUID,
        "transcodePresetName": F4V_NAME,
        "inputFile": "/in/clip.wmv",
        "outputFile": "/out/clip_flash",
    })
    assert job["transcodeStatusId"] == 1
    assert job["byteIn"] == clip.stat().st_size

    # 8. Processing, then Complete, with a history entry per change.
    finished = wait_for_job(client, job["id"], {"Complete", "Error"})
    assert finished["transcodeStatusName"] == "Complete", finished["history"]
    history = client.call(JOB, "getHistory", id=job["id"])
    statuses = [entry["transcodeStatusName"] for entry in history]
    assert statuses[0] == "Pending" and statuses[-1] == "Complete"
    assert "Processing" in statuses
    assert all(entry["publicNotes"] for entry in history)

    # 9. The output, listed and downloaded, is what the preset promises.
    listing = client.call(ACCOUNT, "getDirectoryInformation", "/out", "", id=transcode_id)
    assert listing == [{"name": "clip_flash.f4v", "type": ""}]
    downloaded = tmp_path / "clip_flash.f4v"
    with ftplib.FTP() as ftp:
        ftp.connect(ftp_info["host"], ftp_info["port"], timeout=10)
        ftp.login(ftp_info["username"], ftp_info["password"])
        with downloaded.open("wb") as target:
            ftp.retrbinary("RETR /out/clip_flash.f4v", target.write)
    media = probe(downloaded)
    assert media["video"]["codec"] == "h264"
    assert (media["video"]["width"], media["video"]["height"]) == (640, 352)
    assert media["video"]["fps"] == pytest.approx(29.97, abs=0.01)
    assert media["audio"]["codec"] == "aac"
    assert media["duration"] == pytest.approx(3, abs=0.3)

    # 10. The account's jobs include it.
    jobs = client.call(ACCOUNT, "getTranscodeJobs", id=transcode_id)
    assert [j["id"] for j in jobs] == [job["id"]]
    assert jobs[0]["outputFile"] == "/out/clip_flash.f4v"
