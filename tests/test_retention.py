"""Files leave /in and /out on time: 72 hours after creation, or when a job's
autoDeleteDuration runs out. Time is moved with the control API's clock."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
import SoftLayer

from tests.job_flow import (
    ACCOUNT,
    FLV_NAME,
    USERS,
    client_for,
    control,
    create_job,
    history,
    job,
    listing,
    preset,
    start_emulator,
    transcode_account_id,
    upload,
    wait_for_job,
    wait_until,
)

RETENTION = 72 * 3600
# Seconds a test may take between creating a file and moving the clock.
SLACK = 60


# One emulator per module, reset before each test, with alice and a 1 s clip.
from tests.job_flow import alice, clean_state, clip, emulator  # noqa: E402,F401


def advance(emulator, seconds: float) -> list[str]:
    return control(emulator.api_url, "POST", "clock/advance", {"seconds": seconds})["deletedFiles"]


def entry_time(entry: dict) -> datetime:
    return datetime.fromisoformat(entry["createDate"])


def test_uploads_and_outputs_are_deleted_72_hours_after_creation(emulator, alice, clip, caplog):
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, clip, "clip.wmv")
    done = wait_for_job(alice, create_job(alice, "/in/clip.wmv", "/out/clip")["id"])
    assert done["transcodeStatusName"] == "Complete"

    with caplog.at_level(logging.INFO, logger="emulator.reaper"):
        early = advance(emulator, RETENTION - SLACK)
        kept = (listing(alice, transcode_id, "/in"), listing(alice, transcode_id, "/out"))
        due = advance(emulator, 2 * SLACK)

    assert early == []
    assert kept == (["clip.wmv"], ["clip.f4v"])
    assert sorted(due) == [f"{transcode_id}:/in/clip.wmv", f"{transcode_id}:/out/clip.f4v"]
    assert listing(alice, transcode_id, "/in") == []
    assert listing(alice, transcode_id, "/out") == []
    logged = [r.getMessage() for r in caplog.records if r.name == "emulator.reaper"]
    assert any(
        f"reaper deleted account={transcode_id} file=/in/clip.wmv reason=retention" in line
        for line in logged
    ), logged
    assert any(
        f"reaper deleted account={transcode_id} file=/out/clip.f4v reason=retention" in line
        for line in logged
    ), logged


def test_job_whose_output_was_deleted_stays_queryable_as_deleted(emulator, alice, clip):
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, clip, "clip.wmv")
    job_id = create_job(alice, "/in/clip.wmv", "/out/clip", name="Kept record")["id"]
    assert wait_for_job(alice, job_id)["transcodeStatusName"] == "Complete"

    advance(emulator, RETENTION + SLACK)

    deleted = job(alice, job_id)
    entries = alice.call("SoftLayer_Network_Media_Transcode_Job", "getHistory", id=job_id)
    completed_at, deleted_at = entry_time(entries[-2]), entry_time(entries[-1])
    assert deleted["transcodeStatusName"] == "Deleted"
    assert deleted["outputFile"] == "/out/clip.f4v"
    assert [j["id"] for j in alice.call(ACCOUNT, "getTranscodeJobs", id=transcode_id)] == [job_id]
    assert history(alice, job_id)[-2:] == [
        ("Complete", history(alice, job_id)[-2][1]),
        ("Deleted", "The output /out/clip.f4v was deleted after the 72-hour retention."),
    ]
    elapsed = (deleted_at - completed_at).total_seconds()
    assert RETENTION + SLACK - 1 <= elapsed < RETENTION + 2 * SLACK
    notifications = control(emulator.api_url, "GET", f"notifications?jobId={job_id}")
    subjects = [notification["subject"] for notification in notifications]
    assert subjects[-1] == f"Transcode job {job_id} (Kept record) is Deleted"


def test_the_reaper_deletes_on_its_own_after_a_configured_retention(tmp_path, clip, caplog):
    emulator = start_emulator(tmp_path / "data", workers=0, ftp=False, retention_seconds=3)
    try:
        alice = client_for(emulator, "alice")
        with caplog.at_level(logging.INFO, logger="emulator.reaper"):
            seeded = emulator.seed({"users": [{
                "username": "alice",
                "apiKey": USERS["alice"],
                "files": {"/in/short lived.wmv": {"path": str(clip)}},
            }]})
            transcode_id = seeded["users"][0]["transcodeAccountId"]
            present = listing(alice, transcode_id, "/in")
            wait_until(lambda: listing(alice, transcode_id, "/in") == [], timeout=60, interval=0.5)
    finally:
        emulator.stop(grace=0)

    assert present == ["short lived.wmv"]
    assert any(
        f"reaper deleted account={transcode_id} file=/in/short lived.wmv reason=retention"
        in record.getMessage()
        for record in caplog.records
    )


def test_auto_delete_zero_deletes_the_input_when_its_last_reader_ends(
    emulator, alice, clip, caplog
):
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, clip, "shared.wmv")
    flv = preset(alice, transcode_id, FLV_NAME)
    control(emulator.api_url, "POST", "jobs/hold", {"preset": FLV_NAME})

    later_reader = create_job(alice, "/in/shared.wmv", "/out/later", flv)["id"]
    first_reader = create_job(alice, "/in/shared.wmv", "/out/first", autoDeleteDuration=0)["id"]
    assert wait_for_job(alice, first_reader)["transcodeStatusName"] == "Complete"
    assert advance(emulator, 0) == []
    still_there = listing(alice, transcode_id, "/in")

    with caplog.at_level(logging.INFO, logger="emulator.reaper"):
        control(emulator.api_url, "POST", "jobs/release")
        assert wait_for_job(alice, later_reader)["transcodeStatusName"] == "Complete"
        wait_until(lambda: listing(alice, transcode_id, "/in") == [], timeout=30)

    assert still_there == ["shared.wmv"]
    assert listing(alice, transcode_id, "/out") == ["first.f4v", "later.flv"]
    assert any(
        "file=/in/shared.wmv reason=autoDeleteDuration" in record.getMessage()
        for record in caplog.records
    )


def test_auto_delete_after_n_seconds_follows_the_clock(emulator, alice, clip):
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, clip, "clip.wmv")
    job_id = create_job(alice, "/in/clip.wmv", "/out/clip", autoDeleteDuration=600)["id"]
    assert wait_for_job(alice, job_id)["transcodeStatusName"] == "Complete"

    early = advance(emulator, 600 - SLACK)
    kept = listing(alice, transcode_id, "/in")
    due = advance(emulator, 2 * SLACK)

    assert early == []
    assert kept == ["clip.wmv"]
    assert due == [f"{transcode_id}:/in/clip.wmv"]
    assert listing(alice, transcode_id, "/in") == []
    assert listing(alice, transcode_id, "/out") == ["clip.f4v"]
    assert job(alice, job_id)["transcodeStatusName"] == "Complete"


@pytest.mark.parametrize("seconds", [-1, 259_201, 10**9])
def test_auto_delete_outside_0_to_259200_is_refused(alice, clip, seconds):
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, clip, "clip.wmv")

    with pytest.raises(SoftLayer.SoftLayerAPIError) as refused:
        create_job(alice, "/in/clip.wmv", "/out/clip", autoDeleteDuration=seconds)

    assert refused.value.faultString == (
        "autoDeleteDuration must be between 0 and 259200 seconds."
    )
    assert alice.call(ACCOUNT, "getTranscodeJobs", id=transcode_id) == []


def test_auto_delete_of_259200_seconds_is_accepted(emulator, alice, clip):
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, clip, "clip.wmv")
    control(emulator.api_url, "POST", "jobs/hold", {})

    created = create_job(alice, "/in/clip.wmv", "/out/clip", autoDeleteDuration=259_200)

    assert created["autoDeleteDuration"] == 259_200
    assert created["transcodeStatusId"] == 1
