"""Where a finished output lands: the preset's extension, `_n` for a taken
name, any name a file system can hold, and never outside /out."""

from __future__ import annotations

import os

import pytest
import SoftLayer

from emulator.jobs import place_output
from tests.job_flow import (
    ACCOUNT,
    create_job,
    download,
    history,
    listing,
    transcode_account_id,
    upload,
    wait_for_job,
)
from tests.media import probe

UNUSUAL_NAMES = [
    "my birthday clip",
    "ünïcödé 名前 🎂",
    "holiday.2024.final",
    "-rf --help",
    "..double dot",
    "'quoted' \"name\" $HOME;ls",
]


# One emulator per module, reset before each test, with alice and a 1 s clip.
from tests.job_flow import alice, clean_state, clip, emulator  # noqa: E402,F401


def test_taken_output_name_gets_an_underscore_and_the_count_plus_one(alice, clip):
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, clip, "my_birthday.wmv")

    created = [
        create_job(alice, "/in/my_birthday.wmv", "/out/my_birthday_flash")["id"]
        for _ in range(3)
    ]
    finished = [wait_for_job(alice, job_id) for job_id in created]

    expected = ["my_birthday_flash.f4v", "my_birthday_flash_2.f4v", "my_birthday_flash_3.f4v"]
    assert [j["transcodeStatusName"] for j in finished] == ["Complete"] * 3
    assert sorted(j["outputFile"] for j in finished) == [f"/out/{name}" for name in expected]
    assert listing(alice, transcode_id, "/out") == expected
    for done in finished:
        note = history(alice, done["id"])[-1][1]
        assert note.startswith(f"Output written to {done['outputFile']} (")


def test_next_free_name_counts_only_files_named_after_the_output(tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for name in ("clip.f4v", "clip_2.f4v", "clip_x.f4v", "clipper.f4v", "clip_2.flv", "clip"):
        (out_dir / name).write_bytes(b"taken")
    staged = tmp_path / "staged.f4v"
    staged.write_bytes(b"new output")

    placed = place_output(staged, out_dir, "clip", "f4v")

    assert placed == out_dir / "clip_3.f4v"
    assert placed.read_bytes() == b"new output"
    assert not staged.exists()
    assert (out_dir / "clip.f4v").read_bytes() == b"taken"


@pytest.mark.parametrize("name", UNUSUAL_NAMES)
def test_unusual_names_work_for_input_and_output(alice, clip, name):
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, clip, f"{name}.wmv")

    created = create_job(alice, f"/in/{name}.wmv", f"/out/{name}")
    finished = wait_for_job(alice, created["id"])

    assert finished["transcodeStatusName"] == "Complete", history(alice, created["id"])
    assert finished["outputFile"] == f"/out/{name}.f4v"
    assert listing(alice, transcode_id, "/out") == [f"{name}.f4v"]
    assert download(alice, transcode_id, f"/out/{name}.f4v")[4:8] == b"ftyp"


def test_output_with_spaces_and_unicode_is_the_preset_format(alice, clip, tmp_path):
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, clip, "fête d'été.wmv")

    created = create_job(alice, "/in/fête d'été.wmv", "/out/fête d'été")
    finished = wait_for_job(alice, created["id"])
    target = tmp_path / "output.f4v"
    target.write_bytes(download(alice, transcode_id, finished["outputFile"]))

    media = probe(target)
    assert finished["outputFile"] == "/out/fête d'été.f4v"
    assert media["video"]["codec"] == "h264"
    assert (media["video"]["width"], media["video"]["height"]) == (640, 352)
    assert media["audio"]["codec"] == "aac"


@pytest.mark.parametrize(
    "output_file",
    [
        "/out/../in/clip",
        "/out/../../../../etc/cron.d/clip",
        "../out/clip",
        "/out/sub/clip",
        "/in/clip",
        "/out",
        "/out/.",
        "/out/clip\x00.sh",
        "/out/clip\\..\\..\\x",
        "/" + "x" * 300,
    ],
)
def test_output_names_that_would_leave_out_are_refused(emulator, alice, clip, output_file):
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, clip, "clip.wmv")

    with pytest.raises(SoftLayer.SoftLayerAPIError) as refused:
        create_job(alice, "/in/clip.wmv", output_file)

    assert refused.value.faultCode == 500
    assert "outputFile" in refused.value.faultString
    assert alice.call(ACCOUNT, "getTranscodeJobs", id=transcode_id) == []
    home = emulator.backend.storage.home(transcode_id)
    assert sorted(os.listdir(home)) == ["in", "out"]
    assert sorted(os.listdir(home / "in")) == ["clip.wmv"]


def test_output_name_too_long_for_its_extension_is_refused(alice, clip):
    transcode_id = transcode_account_id(alice)
    upload(alice, transcode_id, clip, "clip.wmv")

    with pytest.raises(SoftLayer.SoftLayerAPIError) as refused:
        create_job(alice, "/in/clip.wmv", "/out/" + "a" * 245)

    assert refused.value.faultString == (
        "The outputFile name is too long: at most 244 bytes before the extension .f4v."
    )
    assert create_job(alice, "/in/clip.wmv", "/out/" + "a" * 244)["transcodeStatusId"] == 1
