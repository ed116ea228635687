"""A job's life: its statuses, its history notes, the Pending limit, and the
ways it can fail without ever staying Processing."""

from __future__ import annotations

import re

import pytest
import SoftLayer

from emulator.transcode import TranscodeError, find_ffmpeg, run_ffmpeg
from emulator.worker import failure_note
from tests.job_flow import (
    FINISHED,
    client_for,
    control,
    create_job,
    ftp_session,
    history,
    job,
    listing,
    transcode_account_id,
    upload,
    wait_for_job,
)
from tests.media import SHARED_MEDIA

STATUS = "SoftLayer_Network_Media_Transcode_Job_Status"
LIMIT_MESSAGE = (
    "Only 3 jobs may be Pending at once; wait for one to start before creating another."
)
STARTED = re.compile(r"Transcoding started by transcoder \S+:\d+:[0-9a-f]{8} \(attempt 1\)\.")
EDGE_MEDIA = sorted(path.name for path in SHARED_MEDIA.iterdir() if path.suffix != ".md")


# One emulator per module, reset before each test, with alice and a 1 s clip.
from tests.job_flow import alice, clean_state, clip, emulator  # noqa: E402,F401


def test_get_all_statuses_returns_the_five_fixed_ids(alice):
    statuses = alice.call(STATUS, "getAllStatuses")

    assert [(status["id"], status["name"]) for status in statuses] == [
        (1, "Pending"), (2, "Processing"), (3, "Complete"), (4, "Error"), (5, "Deleted"),
    ]
    assert all(status["description"] for status in statuses)
    assert alice.call(STATUS, "getObject", id=5)["name"] == "Deleted"


def test_history_notes_every_change_and_progress_while_processing(emulator, alice, clip):
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, clip, "clip.wmv")
    control(emulator.api_url, "POST", "jobs/delay", {"seconds": 4})

    created = create_job(alice, "/in/clip.wmv", "/out/clip")
    finished = wait_for_job(alice, created["id"])

    size = alice.call(
        "SoftLayer_Network_Media_Transcode_Account", "getFileDetail", "/out/clip.f4v",
        id=transcode_id,
    )["fileSize"]
    notes = history(alice, created["id"])
    assert finished["transcodeStatusName"] == "Complete"
    assert notes[0] == ("Pending", "Job created; waiting for a transcoder.")
    assert notes[1][0] == "Processing" and STARTED.fullmatch(notes[1][1]), notes[1]
    assert notes[2:] == [
        ("Processing", "Processing: 25% done."),
        ("Processing", "Processing: 50% done."),
        ("Processing", "Processing: 75% done."),
        ("Complete", f"Output written to /out/clip.f4v ({size} bytes)."),
    ]


def test_ffmpegs_reason_becomes_one_readable_line(tmp_path):
    # The 1x1 MPEG-4 video of this AVI has no frame ffmpeg can decode.
    arguments = [
        find_ffmpeg(), "-hide_banner", "-nostdin", "-loglevel", "error",
        "-i", str(SHARED_MEDIA / "tiny-AudioVideoInterleave.avi"),
        "-c:v", "libx264", "-f", "mp4", "-y", str(tmp_path / "out.mp4"),
    ]
    with pytest.raises(TranscodeError) as failed:
        run_ffmpeg(arguments, None, lambda percent: None, timeout=120)

    assert failure_note(failed.value) == "Cannot determine format of input 0:0 after EOF."


def test_ffmpegs_component_tags_and_line_breaks_leave_the_note():
    # Lines as ffmpeg 7 writes them at -loglevel error.
    raw = (
        "[vost#0:0/libx264 @ 0x561ed019c840] [enc:libx264 @ 0x561ed019d280] "
        "Could not open encoder before EOF\n"
        "[out#0/mp4 @ 0x561ed019bbc0] Nothing was written into output file"
    )

    assert failure_note(TranscodeError(raw)) == (
        "Could not open encoder before EOF Nothing was written into output file."
    )
    assert failure_note(TranscodeError("x" * 400)) == "x" * 297 + "..."


def test_job_with_an_unreadable_watermark_image_ends_in_error(alice, clip):
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, clip, "clip.wmv")
    upload(alice, transcode_id, b"not a picture\n" * 30, "logo.png")

    created = create_job(
        alice, "/in/clip.wmv", "/out/marked", watermark={"fileName": "/in/logo.png"}
    )
    finished = wait_for_job(alice, created["id"], timeout=120)

    assert finished["transcodeStatusName"] == "Error"
    assert history(alice, created["id"])[-1] == (
        "Error", "The watermark image /in/logo.png is not a readable image."
    )
    assert listing(alice, transcode_id, "/out") == []


def test_fourth_pending_job_is_refused_and_other_statuses_do_not_count(emulator, clip):
    alice = client_for(emulator, "alice", "xmlrpc")
    bob = client_for(emulator, "bob", "xmlrpc")
    transcode_id = transcode_account_id(alice)
    for name in ("clip.wmv", "slow.wmv", "broken.wmv"):
        upload(alice, transcode_id, clip, name)
    api = emulator.api_url

    # One job of each other status: Processing, Error and Complete.
    control(api, "POST", "jobs/delay", {"seconds": 120, "fileName": "slow.wmv"})
    control(api, "POST", "jobs/fail", {"fileName": "broken.wmv", "message": "Forced failure"})
    processing = create_job(alice, "/in/slow.wmv", "/out/slow")["id"]
    failed = create_job(alice, "/in/broken.wmv", "/out/broken")["id"]
    complete = create_job(alice, "/in/clip.wmv", "/out/first")["id"]
    assert wait_for_job(alice, processing, {"Processing"})["transcodeStatusName"] == "Processing"
    assert wait_for_job(alice, failed)["transcodeStatusName"] == "Error"
    assert wait_for_job(alice, complete)["transcodeStatusName"] == "Complete"

    control(api, "POST", "jobs/hold", {})
    pending = [create_job(alice, "/in/clip.wmv", f"/out/held{n}")["id"] for n in range(3)]
    with pytest.raises(SoftLayer.SoftLayerAPIError) as refused:
        create_job(alice, "/in/clip.wmv", "/out/fourth")

    assert refused.value.faultCode == "SoftLayer_Exception_Network_Media_Transcode"
    assert refused.value.faultString == LIMIT_MESSAGE
    assert [job(alice, n)["transcodeStatusName"] for n in pending] == ["Pending"] * 3
    assert len(alice.call("SoftLayer_Network_Media_Transcode_Account", "getTranscodeJobs",
                          id=transcode_id)) == 6

    # The limit is per transcode account.
    bob_account = transcode_account_id(bob)
    upload(bob, bob_account, clip, "clip.wmv")
    assert create_job(bob, "/in/clip.wmv", "/out/clip")["transcodeStatusId"] == 1

    control(api, "DELETE", "jobs/rules")
    for job_id in [processing, *pending]:
        assert wait_for_job(alice, job_id)["transcodeStatusName"] == "Complete"
    assert create_job(alice, "/in/clip.wmv", "/out/after")["transcodeStatusId"] == 1


def test_job_whose_input_disappears_before_it_runs_ends_in_error(emulator, alice, clip):
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, clip, "gone soon.wmv")
    control(emulator.api_url, "POST", "jobs/hold", {})
    created = create_job(alice, "/in/gone soon.wmv", "/out/gone")

    with ftp_session(alice, transcode_id) as ftp:
        ftp.delete("/in/gone soon.wmv")
    control(emulator.api_url, "POST", "jobs/release")
    finished = wait_for_job(alice, created["id"])

    assert finished["transcodeStatusName"] == "Error"
    assert history(alice, created["id"])[-1] == (
        "Error", "The input file /in/gone soon.wmv no longer exists in /in."
    )
    assert listing(alice, transcode_id, "/out") == []


def test_job_whose_input_is_not_media_ends_in_error(alice):
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, b"Milk, eggs, bread.\n" * 40, "shopping list.wmv")

    created = create_job(alice, "/in/shopping list.wmv", "/out/list")
    finished = wait_for_job(alice, created["id"])

    status, note = history(alice, created["id"])[-1]
    assert (finished["transcodeStatusName"], status) == ("Error", "Error")
    assert re.fullmatch(
        r"The input file /in/shopping list\.wmv is not readable media: [^\n]+", note
    ), note
    assert listing(alice, transcode_id, "/out") == []


@pytest.mark.parametrize("name", EDGE_MEDIA)
def test_edge_case_media_ends_complete_or_error_never_processing(emulator, alice, name):
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, SHARED_MEDIA / name, name)

    created = create_job(alice, f"/in/{name}", "/out/edge")
    finished = wait_for_job(alice, created["id"], timeout=120)

    notes = history(alice, created["id"])
    status, note = notes[-1]
    assert finished["transcodeStatusName"] in FINISHED
    assert [entry for entry in notes if entry[1].startswith("Transcoding started")] == [
        notes[1]
    ]
    assert note and "\n" not in note
    assert not any(str(emulator.settings.data_dir.resolve()) in n for _, n in notes), notes
    out = listing(alice, transcode_id, "/out")
    assert out == (["edge.f4v"] if status == "Complete" else [])
