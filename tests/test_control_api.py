"""The /_emulator/ control API, driven over HTTP; every effect is read back
through the official SoftLayer client (or a stock FTP client)."""

from __future__ import annotations

import base64
import ftplib
import io
import time
from datetime import datetime

import httpx
import pytest

from emulator.server import Emulator
from tests.job_flow import wait_for_job
from tests.media import make_clip

JOB = "SoftLayer_Network_Media_Transcode_Job"
ACCOUNT = "SoftLayer_Network_Media_Transcode_Account"
MP4 = "MP4 H.264 640x360 1Mbps 30fps AAC"
FLV = "FLV 400kbps 320x240 4x3 15fps"
HOURS = 3600


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("clip") / "clip.wmv"
    return make_clip(path, seconds=0.5, size="160x120", rate=15).read_bytes()


@pytest.fixture
def control(transcode_emulator: Emulator):
    with httpx.Client(base_url=transcode_emulator.control_url, timeout=60) as client:
        yield client


def upload(ftp: ftplib.FTP, name: str, content: bytes) -> None:
    ftp.storbinary(f"STOR /in/{name}", io.BytesIO(content))


def create_job(client, account_id: int, input_file: str, preset_name: str = MP4) -> int:
    presets = client.call(ACCOUNT, "getPresets", id=account_id)
    guid = next(p["GUID"] for p in presets if p["name"] == preset_name)
    job = client.call(JOB, "createObject", {
        "transcodePresetName": preset_name,
        "transcodePresetGuid": guid,
        "inputFile": input_file,
        "outputFile": "/out/" + input_file.rsplit("/", 1)[-1].rsplit(".", 1)[0],
    })
    return job["id"]


def job_state(client, job_id: int) -> dict:
    return client.call(JOB, "getObject", id=job_id,
                       mask="mask[id,transcodeStatusName,outputFile,history]")


def finished(client, job_id: int) -> str:
    """The status a job ends in."""
    return wait_for_job(client, job_id, {"Complete", "Error"})["transcodeStatusName"]


def listing(client, account_id: int, folder: str) -> list[str]:
    entries = client.call(ACCOUNT, "getDirectoryInformation", folder, "", id=account_id)
    return sorted(entry["name"] for entry in entries)


def test_health_reports_every_part_up(control):
    response = control.get("health")

    assert response.status_code == 200
    report = response.json()
    assert (report["status"], report["api"], report["ftp"], report["worker"]) == (
        "ok", "up", "up", "up",
    )
    assert report["presets"] >= 7
    assert report["database"] == "sqlite"


def test_a_held_job_stays_pending_until_released(
    control, softlayer_client, transcode_account, transcode_ftp, clip_bytes
):
    account_id = transcode_account["id"]
    upload(transcode_ftp, "held.wmv", clip_bytes)
    upload(transcode_ftp, "free.wmv", clip_bytes)

    rule = control.post("jobs/hold", json={"fileName": "held*"}).json()
    held = create_job(softlayer_client, account_id, "/in/held.wmv")
    free = create_job(softlayer_client, account_id, "/in/free.wmv")

    # The workers run (the other job completes) while the held one waits.
    assert finished(softlayer_client, free) == "Complete"
    time.sleep(1)
    waiting = job_state(softlayer_client, held)
    assert waiting["transcodeStatusName"] == "Pending"
    assert [h["transcodeStatusName"] for h in waiting["history"]] == ["Pending"]
    assert rule["kind"] == "hold" and rule["fileName"] == "held*"

    assert control.post("jobs/release").json() == {"removed": 1}
    assert finished(softlayer_client, held) == "Complete"


def test_holding_a_preset_keeps_only_its_jobs_pending(
    control, softlayer_client, transcode_account, transcode_ftp, clip_bytes
):
    account_id = transcode_account["id"]
    upload(transcode_ftp, "clip.wmv", clip_bytes)

    assert control.post("jobs/hold", json={"preset": FLV}).status_code == 200
    flv = create_job(softlayer_client, account_id, "/in/clip.wmv", FLV)
    mp4 = create_job(softlayer_client, account_id, "/in/clip.wmv", MP4)

    assert finished(softlayer_client, mp4) == "Complete"
    assert job_state(softlayer_client, flv)["transcodeStatusName"] == "Pending"
    assert control.get("jobs/rules").json()[0]["preset"] == FLV


def test_a_forced_failure_ends_the_next_job_in_error_with_the_note(
    control, softlayer_client, transcode_account, transcode_ftp, clip_bytes
):
    account_id = transcode_account["id"]
    upload(transcode_ftp, "clip.wmv", clip_bytes)

    control.post("jobs/fail", json={"message": "Disk quota exceeded on the transcoder"})
    failed = wait_for_job(softlayer_client, create_job(softlayer_client, account_id, "/in/clip.wmv"),
                          {"Complete", "Error"})
    after = wait_for_job(softlayer_client, create_job(softlayer_client, account_id, "/in/clip.wmv"),
                     {"Complete", "Error"})

    assert failed["transcodeStatusName"] == "Error"
    assert failed["history"][-1]["publicNotes"] == "Disk quota exceeded on the transcoder"
    assert softlayer_client.call(JOB, "getTranscodeStatusName", id=failed["id"]) == "Error"
    # "the next job" only: the rule is used up and the following job completes.
    assert after["transcodeStatusName"] == "Complete"
    assert control.get("jobs/rules").json() == []


def test_failing_by_file_name_lasts_until_the_rule_is_removed(
    control, softlayer_client, transcode_account, transcode_ftp, clip_bytes
):
    account_id = transcode_account["id"]
    upload(transcode_ftp, "broken.wmv", clip_bytes)
    upload(transcode_ftp, "fine.wmv", clip_bytes)
    rule = control.post(
        "jobs/fail", json={"fileName": "broken.wmv", "message": "Bad input."}
    ).json()

    first = wait_for_job(softlayer_client, create_job(softlayer_client, account_id, "/in/broken.wmv"),
                     {"Complete", "Error"})
    second = wait_for_job(softlayer_client, create_job(softlayer_client, account_id, "/in/broken.wmv"),
                      {"Complete", "Error"})
    fine = wait_for_job(softlayer_client, create_job(softlayer_client, account_id, "/in/fine.wmv"),
                    {"Complete", "Error"})

    assert [first["transcodeStatusName"], second["transcodeStatusName"]] == ["Error", "Error"]
    assert second["history"][-1]["publicNotes"] == "Bad input."
    assert fine["transcodeStatusName"] == "Complete"

    assert control.delete(f"jobs/rules/{rule['id']}").json() == {"removed": True}
    again = wait_for_job(softlayer_client, create_job(softlayer_client, account_id, "/in/broken.wmv"),
                     {"Complete", "Error"})
    assert again["transcodeStatusName"] == "Complete"


def test_a_delay_keeps_jobs_processing_for_its_seconds(
    control, softlayer_client, transcode_account, transcode_ftp, clip_bytes
):
    account_id = transcode_account["id"]
    upload(transcode_ftp, "clip.wmv", clip_bytes)

    control.post("jobs/delay", json={"seconds": 4})
    slowed = create_job(softlayer_client, account_id, "/in/clip.wmv")
    seen = wait_for_job(softlayer_client, slowed, {"Processing", "Complete", "Error"})
    done = wait_for_job(softlayer_client, slowed, {"Complete", "Error"})

    assert seen["transcodeStatusName"] == "Processing"
    assert done["transcodeStatusName"] == "Complete"
    started = next(h for h in done["history"] if h["transcodeStatusName"] == "Processing")
    completed = done["history"][-1]
    waited = datetime.fromisoformat(completed["createDate"]) - datetime.fromisoformat(
        started["createDate"]
    )
    assert waited.total_seconds() >= 3


def test_removing_a_delay_speeds_a_waiting_job_up(
    control, softlayer_client, transcode_account, transcode_ftp, clip_bytes
):
    account_id = transcode_account["id"]
    upload(transcode_ftp, "clip.wmv", clip_bytes)
    control.post("jobs/delay", json={"seconds": 3600, "fileName": "*.wmv"})
    job_id = create_job(softlayer_client, account_id, "/in/clip.wmv")
    assert wait_for_job(softlayer_client, job_id, {"Processing"})["transcodeStatusName"] == "Processing"

    assert control.delete("jobs/rules", params={"kind": "delay"}).json() == {"removed": 1}

    # Well within the hour the rule asked for.
    done = wait_for_job(softlayer_client, job_id, {"Complete", "Error"}, timeout=120)
    assert done["transcodeStatusName"] == "Complete"
    assert control.get("jobs/rules").json() == []


def test_a_clock_advance_deletes_a_72_hour_old_file(
    control, softlayer_client, transcode_account, transcode_ftp, clip_bytes
):
    account_id = transcode_account["id"]
    upload(transcode_ftp, "clip.wmv", clip_bytes)
    job = wait_for_job(softlayer_client, create_job(softlayer_client, account_id, "/in/clip.wmv"),
                   {"Complete", "Error"})
    assert job["transcodeStatusName"] == "Complete"

    early = control.post("clock/advance", json={"seconds": 71 * HOURS}).json()
    assert early["deletedFiles"] == []
    assert listing(softlayer_client, account_id, "/in") == ["clip.wmv"]

    late = control.post("clock/advance", json={"seconds": 1 * HOURS}).json()
    assert sorted(late["deletedFiles"]) == [
        f"{account_id}:/in/clip.wmv", f"{account_id}:/out/clip.mp4",
    ]
    assert listing(softlayer_client, account_id, "/in") == []
    assert listing(softlayer_client, account_id, "/out") == []
    assert job_state(softlayer_client, job["id"])["transcodeStatusName"] == "Deleted"
    assert control.get("clock").json()["offsetSeconds"] == 72 * HOURS


def test_reset_wipes_accounts_jobs_files_and_the_clock(
    control, transcode_emulator, softlayer_client, transcode_account, transcode_ftp, clip_bytes
):
    account_id = transcode_account["id"]
    upload(transcode_ftp, "clip.wmv", clip_bytes)
    create_job(softlayer_client, account_id, "/in/clip.wmv")
    control.post("clock/advance", json={"seconds": 60})
    control.post("jobs/hold", json={})
    home = transcode_emulator.backend.storage.home(account_id)
    assert (home / "in" / "clip.wmv").is_file()

    assert control.post("reset").json() == {"reset": True}

    assert softlayer_client.call("SoftLayer_Account", "getTranscodeAccounts") == []
    assert not home.exists()
    assert control.get("jobs/rules").json() == []
    assert control.get("notifications").json() == []
    assert control.get("clock").json()["offsetSeconds"] == 0
    # The configured user survives, so the same client goes on working.
    assert softlayer_client.call(ACCOUNT, "createTranscodeAccount") is True


def test_seed_from_json_creates_users_accounts_and_files(transcode_emulator, control):
    content = b"tiny seeded clip"
    document = {
        "accounts": [{
            "companyName": "Example Media",
            "users": [{"username": "alice", "apiKey": "alice-key"},
                      {"username": "bob", "apiKey": "bob-key"}],
            "transcodeAccount": {"ftpPassword": "s3cret-ftp"},
            "files": {
                "/in/seeded.wmv": {"base64": base64.b64encode(content).decode()},
                "/in/notes.txt": {"text": "hello", "ageSeconds": 72 * HOURS - 30},
            },
        }],
        "users": [{"username": "carol", "apiKey": "carol-key", "transcodeAccount": True}],
    }

    response = control.post("seed", json=document)

    assert response.status_code == 200
    alice = transcode_emulator.softlayer_client(credentials=("alice", "alice-key"))
    bob = transcode_emulator.softlayer_client("xmlrpc", credentials=("bob", "bob-key"))
    carol = transcode_emulator.softlayer_client(credentials=("carol", "carol-key"))
    shared = alice.call("SoftLayer_Account", "getTranscodeAccounts")
    bobs = bob.call("SoftLayer_Account", "getTranscodeAccounts")
    assert [a["id"] for a in bobs] == [shared[0]["id"]]
    assert alice.call("SoftLayer_Account", "getObject")["companyName"] == "Example Media"
    assert len(carol.call("SoftLayer_Account", "getTranscodeAccounts")) == 1
    assert listing(alice, shared[0]["id"], "/in") == ["notes.txt", "seeded.wmv"]

    ftp_info = alice.call(ACCOUNT, "getFtpAttributes", id=shared[0]["id"])
    assert ftp_info["password"] == "s3cret-ftp"
    with ftplib.FTP() as ftp:
        ftp.connect(ftp_info["host"], ftp_info["port"], timeout=30)
        ftp.login(ftp_info["username"], "s3cret-ftp")
        received = io.BytesIO()
        ftp.retrbinary("RETR /in/seeded.wmv", received.write)
    assert received.getvalue() == content

    # ageSeconds back-dates a file: a minute later it reaches its 72 hours.
    control.post("clock/advance", json={"seconds": 60})
    assert listing(alice, shared[0]["id"], "/in") == ["seeded.wmv"]


def test_seed_accepts_a_yaml_body(transcode_emulator, control):
    document = "users:\n  - username: dave\n    apiKey: dave-key\n    transcodeAccount: true\n"

    response = control.post("seed", content=document, headers={"content-type": "application/yaml"})

    assert response.status_code == 200
    assert response.json()["users"][0]["ftpUsername"].startswith("SLT")
    dave = transcode_emulator.softlayer_client(credentials=("dave", "dave-key"))
    assert len(dave.call("SoftLayer_Account", "getTranscodeAccounts")) == 1


def test_seed_over_http_cannot_read_the_servers_files(control):
    response = control.post("seed", json={"users": [{
        "username": "eve", "files": {"/in/stolen.txt": {"path": "/etc/hostname"}},
    }]})

    assert response.status_code == 400
    assert "paths are read only from a seed file" in response.json()["error"]


def test_steering_requests_are_checked(control):
    assert control.post("jobs/pause", json={}).status_code == 400
    unknown = control.post("jobs/hold", json={"preset": "No Such Preset"})
    assert unknown.status_code == 400
    assert "no preset" in unknown.json()["error"]
    assert control.post("jobs/delay", json={"seconds": -1}).status_code == 400
    assert control.post("clock/advance", json={"seconds": "soon"}).status_code == 400


def test_notifications_capture_every_status_change(
    control, softlayer_client, transcode_account, transcode_ftp, clip_bytes
):
    upload(transcode_ftp, "clip.wmv", clip_bytes)
    job_id = create_job(softlayer_client, transcode_account["id"], "/in/clip.wmv")
    wait_for_job(softlayer_client, job_id, {"Complete", "Error"})

    captured = control.get("notifications", params={"jobId": job_id}).json()

    assert [n["subject"].rsplit(" ", 1)[-1] for n in captured] == [
        "Pending", "Processing", "Complete",
    ]
    assert captured[0]["recipient"] == "sl-transcode@example.com"
    assert captured[0]["delivered"] is False


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    with Emulator(
        api_port=0, ftp=False, workers=0, admin_token="let-me-in-7",
        data_dir=tmp_path_factory.mktemp("guarded"),
    ) as emulator:
        yield emulator


@pytest.mark.parametrize("method,path,body", [
    ("POST", "reset", {}), ("POST", "seed", {"users": []}), ("GET", "clock", None),
    ("POST", "clock/advance", {"seconds": 0}), ("GET", "notifications", None),
    ("GET", "jobs/rules", None), ("DELETE", "jobs/rules", None), ("POST", "jobs/hold", {}),
    ("POST", "jobs/release", {}), ("GET", "", None), ("GET", "presets", None),
    ("GET", "parts/jobs", None), ("GET", "jobs/1", None),
])
def test_with_an_admin_token_control_and_dashboard_refuse_strangers(guarded, method, path, body):
    url = guarded.control_url + path

    refused = httpx.request(method, url, json=body, timeout=30)
    wrong = httpx.request(method, url, json=body, headers={"X-Emulator-Admin-Token": "guess"})
    allowed = httpx.request(method, url, json=body,
                            headers={"X-Emulator-Admin-Token": "let-me-in-7"})

    assert (refused.status_code, wrong.status_code) == (401, 401)
    assert "SL-TRANSCODE" not in refused.text
    assert allowed.status_code == (404 if path == "jobs/1" else 200)


def test_health_stays_open_with_an_admin_token(guarded):
    response = httpx.get(guarded.control_url + "health")

    assert response.status_code == 200
    assert (response.json()["worker"], response.json()["ftp"]) == ("off", "off")


def test_a_bearer_token_is_accepted_too(guarded):
    response = httpx.get(guarded.control_url + "clock",
                         headers={"Authorization": "Bearer let-me-in-7"})

    assert response.status_code == 200
    assert response.json()["offsetSeconds"] == 0


def test_a_page_of_another_origin_cannot_reset_the_emulator(transcode_emulator, control):
    transcode_emulator.seed({"users": [{"username": "frank", "apiKey": "frank-key"}]})

    response = control.post("reset", headers={"Origin": "http://evil.example"})

    assert response.status_code == 403
    frank = transcode_emulator.softlayer_client(credentials=("frank", "frank-key"))
    assert frank.call("SoftLayer_Account", "getObject")["id"] > 0
