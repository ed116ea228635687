"""getFileDetail: media information read from real files, and the prober's isolation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from emulator.config import default_presets_dir
from emulator.media import Prober
from emulator.presets import PresetCatalog
from emulator.transcode import TranscodePlan, build_arguments, find_ffmpeg, run_ffmpeg
from tests.output_probe import read_output
from tests.transcode_jobs import ACCOUNT, upload

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def ffmpeg(*arguments: str) -> None:
    subprocess.run([find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", *arguments],
                   check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("detail")
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=1",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=1",
           "-c:v", "wmv2", "-b:v", "500k", "-c:a", "wmav2", "-b:a", "96k",
           str(folder / "clip.wmv"))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=640x360:rate=30000/1001:duration=2",
           "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2",
           "-ac", "2", "-c:v", "libx264", "-c:a", "aac", "-b:a", "128k",
           str(folder / "clip.mp4"))
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=640x360:rate=25:duration=1",
           "-c:v", "libx264", str(folder / "wide.mp4"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=1",
           "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", str(folder / "song.mp3"))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1",
           "-ac", "6", "-c:a", "ac3", "-b:a", "448k", str(folder / "surround.ac3"))
    (folder / "notes.txt").write_text("not a video\n" * 20)
    return folder


@pytest.fixture(scope="module")
def prober():
    prober = Prober()
    yield prober
    prober.close()


def detail(prober: Prober, path: Path) -> dict:
    return prober.probe(path, f"/in/{path.name}")


def test_a_wmv_file_is_described_field_by_field(prober, media):
    info = detail(prober, media / "clip.wmv")

    video_bytes = read_output(media / "clip.wmv").video.bytes
    assert info.pop("duration") == pytest.approx(1.0, abs=0.15)
    assert info.pop("videoBitRate") == pytest.approx(video_bytes * 8 / 1.0, rel=0.05)
    assert info == {
        "file": "/in/clip.wmv",
        "fileSize": (media / "clip.wmv").stat().st_size,
        "fileFormat": "ASF (Advanced / Active Streaming Format)",
        "videoCodec": "wmv2",
        "sizeX": 320,
        "sizeY": 240,
        "videoAspectX": 4.0,
        "videoAspectY": 3.0,
        "frameRate": 25.0,
        "totalFrames": 25,
        "audioCodec": "wmav2",
        "audioBitRate": 96000,
        "audioSampleRate": 44100,
        "audioChannels": 1,
        "audioChannelMode": "mono",
    }


def test_an_mp4_file_names_its_brand_and_ntsc_rate(prober, media):
    info = detail(prober, media / "clip.mp4")

    assert info["fileFormat"] == "MPEG-4 Part 14 (MP4)"
    assert info["duration"] == pytest.approx(2.0, abs=0.01)
    assert (info["videoCodec"], info["sizeX"], info["sizeY"]) == ("h264", 640, 360)
    assert (info["videoAspectX"], info["videoAspectY"]) == (16.0, 9.0)
    assert (info["frameRate"], info["totalFrames"]) == (29.97, 60)
    assert (info["audioCodec"], info["audioSampleRate"], info["audioChannels"]) == (
        "aac", 48000, 2)
    assert info["audioChannelMode"] == "stereo"
    assert info["audioBitRate"] == pytest.approx(128000, rel=0.05)
    assert "errorMessage" not in info


def test_an_mp3_file_has_audio_fields_only(prober, media):
    info = detail(prober, media / "song.mp3")

    assert info == {
        "file": "/in/song.mp3",
        "fileSize": (media / "song.mp3").stat().st_size,
        "fileFormat": "MP2/3 (MPEG audio layer 2/3)",
        "duration": pytest.approx(1.0, abs=0.05),
        "audioCodec": "mp3",
        "audioBitRate": 128000,
        "audioSampleRate": 44100,
        "audioChannels": 2,
        "audioChannelMode": "stereo",
    }


def test_surround_sound_is_described_as_5_1(prober, media):
    info = detail(prober, media / "surround.ac3")

    assert (info["audioCodec"], info["audioChannels"], info["audioChannelMode"]) == (
        "ac3", 6, "5.1")
    assert (info["audioBitRate"], info["audioSampleRate"]) == (448000, 48000)


def test_an_anamorphic_dvd_frame_reports_its_display_aspect(prober, media, tmp_path):
    catalog = PresetCatalog.load(default_presets_dir())
    preset = next(p for p in catalog.presets
                  if p.name == "MPEG-2 DVD PAL 720x576 16x9 25fps 6Mbps AC-3")
    output = tmp_path / "dvd.mpg"
    plan = TranscodePlan(media / "wide.mp4", output, preset, 1.0, True, False)
    run_ffmpeg(build_arguments(plan, find_ffmpeg()), 1.0, lambda _: None, 120)

    info = detail(prober, output)

    assert info["fileFormat"] == "MPEG-PS (MPEG-2 Program Stream)"
    assert (info["sizeX"], info["sizeY"]) == (720, 576)
    assert (info["videoAspectX"], info["videoAspectY"]) == (16.0, 9.0)
    assert (info["frameRate"], info["totalFrames"]) == (25.0, 25)


def test_a_file_that_is_not_media_gets_an_error_message(prober, media):
    info = detail(prober, media / "notes.txt")

    assert info == {
        "file": "/in/notes.txt",
        "fileSize": 240,
        "errorMessage": "Not readable as media: Invalid data found when processing input",
    }


def test_get_file_detail_answers_through_the_api(softlayer_client, transcode_account,
                                                 transcode_ftp, prober, media):
    upload(transcode_ftp, media / "clip.wmv")
    upload(transcode_ftp, media / "notes.txt")

    wmv = softlayer_client.call(ACCOUNT, "getFileDetail", "/in/clip.wmv",
                                id=transcode_account["id"])
    text = softlayer_client.call(ACCOUNT, "getFileDetail", "/in/notes.txt",
                                 id=transcode_account["id"])

    assert wmv == detail(prober, media / "clip.wmv")
    assert wmv["frameRate"] == 25.0 and wmv["totalFrames"] == 25
    assert text["errorMessage"].startswith("Not readable as media:")


# The probing process


def test_a_user_script_without_a_main_guard_runs_once(media, tmp_path):
    marker = tmp_path / "runs.txt"
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(f"""
        from pathlib import Path
        from emulator.media import Prober

        with open({str(marker)!r}, "a") as runs:
            runs.write("ran\\n")
        prober = Prober()
        print(prober.probe(Path({str(media / 'clip.wmv')!r}), "clip.wmv")["videoCodec"])
        prober.close()
    """))

    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "wmv2"
    assert marker.read_text() == "ran\n"


def test_a_file_that_hangs_the_prober_times_out_and_the_next_probe_works(media, tmp_path):
    # Opening a named pipe that nobody writes blocks forever.
    fifo = tmp_path / "stuck.wmv"
    os.mkfifo(fifo)
    prober = Prober(timeout=2)
    try:
        detail(prober, media / "song.mp3")
        first_child = prober.child_pid

        stuck = detail(prober, fifo)
        after = detail(prober, media / "song.mp3")

        assert stuck == {"file": "/in/stuck.wmv", "fileSize": 0,
                         "errorMessage": "Probing the file took too long."}
        assert after["audioCodec"] == "mp3"
        assert prober.child_pid != first_child
    finally:
        prober.close()


def test_a_prober_that_dies_mid_probe_is_reported_and_replaced(media, tmp_path):
    fifo = tmp_path / "crash.wmv"
    os.mkfifo(fifo)
    prober = Prober(timeout=60)
    try:
        detail(prober, media / "song.mp3")
        victim = prober.child_pid
        threading.Timer(0.5, os.kill, (victim, signal.SIGKILL)).start()

        crashed = detail(prober, fifo)
        after = detail(prober, media / "clip.wmv")

        assert crashed["errorMessage"] == "The media prober crashed on this file."
        assert after["videoCodec"] == "wmv2"
        assert prober.child_pid not in (None, victim)
    finally:
        prober.close()
