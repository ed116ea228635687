"""SoftLayer-style errors of the transcode API, over REST with the official client."""

from __future__ import annotations

import subprocess

import pytest
import SoftLayer

from tests.media import make_clip

JOB = "SoftLayer_Network_Media_Transcode_Job"
ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
F4V_GUID = "{87E01268-C3E3-4A85-9701-052C9AC42BD4}"
F4V_NAME = "F4V 896kbps 640x352 16x9 29.97fps"
TRANSCODE_REFUSED = "SoftLayer_Exception_Network_Media_Transcode"


@pytest.fixture
def clip_in(transcode_emulator, transcode_account, tmp_path):
    home = transcode_emulator.backend.storage.home(transcode_account["id"])
    make_clip(home / "in" / "clip.wmv", seconds=1)
    return "/in/clip.wmv"


def template(**changes) -> dict:
    job = {
        "name": "errors",
        "transcodePresetGuid": F4V_GUID,
        "transcodePresetName": F4V_NAME,
        "inputFile": "/in/clip.wmv",
        "outputFile": "/out/clip",
    }
    job.update(changes)
    return {k: v for k, v in job.items() if v is not None}


def rest_error(transcode_emulator, path: str, auth, json_body=None) -> tuple[int, dict]:
    import httpx

    url = transcode_emulator.rest_url + path
    response = httpx.post(url, json=json_body, auth=auth) if json_body is not None else httpx.get(url, auth=auth)
    return response.status_code, response.json()


def credentials(emulator) -> tuple[str, str]:
    return emulator.username, emulator.api_key


def test_unknown_preset_is_refused_with_500(transcode_emulator, clip_in):
    status, body = rest_error(
        transcode_emulator, f"{JOB}/createObject.json", credentials(transcode_emulator),
        {"parameters": [template(transcodePresetGuid="{00000000-0000-0000-0000-000000000000}")]},
    )
    assert status == 500
    assert body["code"] == TRANSCODE_REFUSED
    assert "Unknown transcode preset GUID" in body["error"]


def test_input_file_missing_from_in_is_refused(transcode_emulator, clip_in):
    status, body = rest_error(
        transcode_emulator, f"{JOB}/createObject.json", credentials(transcode_emulator),
        {"parameters": [template(inputFile="/in/nothing.wmv")]},
    )
    assert (status, body["code"]) == (500, TRANSCODE_REFUSED)
    assert body["error"] == "The input file '/in/nothing.wmv' does not exist in /in."


def test_output_outside_out_is_refused(transcode_emulator, clip_in):
    status, body = rest_error(
        transcode_emulator, f"{JOB}/createObject.json", credentials(transcode_emulator),
        {"parameters": [template(outputFile="/in/clip_copy")]},
    )
    assert status == 500
    assert body["code"] == "SoftLayer_Exception_Public"
    assert body["error"] == "The outputFile '/in/clip_copy' must be in /out."


@pytest.mark.parametrize("missing", ["transcodePresetGuid", "transcodePresetName", "inputFile", "outputFile"])
def test_each_required_property_is_required(transcode_emulator, clip_in, missing):
    status, body = rest_error(
        transcode_emulator, f"{JOB}/createObject.json", credentials(transcode_emulator),
        {"parameters": [template(**{missing: None})]},
    )
    assert (status, body["code"]) == (500, TRANSCODE_REFUSED)
    assert body["error"] == f"Property '{missing}' is required to create a transcode job."


def test_another_accounts_job_is_not_found(transcode_emulator, softlayer_client, clip_in):
    job = softlayer_client.call(JOB, "createObject", template())
    transcode_emulator.seed({"users": [{"username": "mallory", "apiKey": "mallory-key"}]})

    status, body = rest_error(transcode_emulator, f"{JOB}/{job['id']}/getObject.json", ("mallory", "mallory-key"))
    assert status == 404
    assert body == {
        "error": f"Unable to find object with id of '{job['id']}'.",
        "code": "SoftLayer_Exception_ObjectNotFound",
    }


def test_a_missing_job_id_is_not_found(transcode_emulator, transcode_account):
    status, body = rest_error(transcode_emulator, f"{JOB}/987654/getObject.json", credentials(transcode_emulator))
    assert status == 404
    assert body["error"] == "Unable to find object with id of '987654'."


def test_a_wrong_api_key_is_401(transcode_emulator):
    status, body = rest_error(transcode_emulator, "SoftLayer_Account.json", (transcode_emulator.username, "wrong"))
    assert status == 401
    assert body["code"] == "SoftLayer_Exception_InvalidLegacyToken"


def test_the_official_client_sees_the_status_and_message(transcode_emulator, softlayer_client, clip_in):
    with pytest.raises(SoftLayer.SoftLayerAPIError) as error:
        softlayer_client.call(JOB, "createObject", template(inputFile="/in/absent.wmv"))
    assert error.value.faultCode == 500
    assert error.value.faultString == "The input file '/in/absent.wmv' does not exist in /in."


def test_curl_uploads_into_in_and_is_refused_in_out(transcode_emulator, softlayer_client, transcode_account, tmp_path):
    ftp = softlayer_client.call(ACCOUNT, "getFtpAttributes", id=transcode_account["id"])
    clip = make_clip(tmp_path / "curl clip.wmv", seconds=1)
    base = f"ftp://{ftp['host']}:{ftp['port']}"
    user = f"{ftp['username']}:{ftp['password']}"

    upload = subprocess.run(
        ["curl", "-sS", "--user", user, "-T", str(clip), f"{base}/in/"],
        capture_output=True, text=True, timeout=60,
    )
    assert upload.returncode == 0, upload.stderr
    listing = softlayer_client.call(ACCOUNT, "getDirectoryInformation", "/in", "", id=transcode_account["id"])
    assert {"name": "curl clip.wmv", "type": ""} in listing

    refused = subprocess.run(
        ["curl", "-sS", "--user", user, "-T", str(clip), f"{base}/out/"],
        capture_output=True, text=True, timeout=60,
    )
    assert refused.returncode == 25  # curl: upload failed (the server said 550)
