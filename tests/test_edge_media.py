"""The tiny real-world files of ../shared/media: a sensible getFileDetail for
each, and a job on each that ends Complete or Error with the reason."""

from __future__ import annotations

import pytest

from emulator.config import default_presets_dir
from emulator.presets import PresetCatalog
from tests.media import SHARED_MEDIA
from tests.transcode_jobs import ACCOUNT, last_note, run_job, upload

VIDEO_PRESET = "MP4 H.264 640x360 1Mbps 30fps AAC"
AUDIO_PRESET = "MP3 128kbps 44.1kHz Stereo"

# file -> what getFileDetail says about it (besides file and fileSize)
DETAILS = {
    "tiny-AudioVideoInterleave.avi": {
        "fileFormat": "AVI (Audio Video Interleaved)", "videoCodec": "mpeg4",
        "sizeX": 1, "sizeY": 1, "totalFrames": 0,
        "errorMessage": "The video stream holds no frames.",
    },
    "tiny-FlashVideo.flv": {"errorMessage": "Not readable as media: End of file"},
    "tiny-Mpeg4.mp4": {
        "fileFormat": "MPEG-4 Part 14 (MP4)",
        "errorMessage": "The file holds no audio or video stream.",
    },
    "tiny-WindowsMediaVideo.wmv": {
        "fileFormat": "ASF (Advanced / Active Streaming Format)",
        "videoCodec": "msmpeg4v3", "sizeX": 1, "sizeY": 1, "totalFrames": 0,
        "errorMessage": "The video stream holds no frames.",
    },
    "tiny-mp3.mp3": {
        "errorMessage": "Not readable as media: Invalid data found when processing input",
    },
    "tiny-mp4-with-audio.mp4": {
        "fileFormat": "MPEG-4 Part 14 (MP4)", "duration": 0.046, "audioCodec": "aac",
        "audioSampleRate": 44100, "audioChannels": 2, "audioChannelMode": "stereo",
    },
    "tiny-wav.wav": {
        "fileFormat": "WAV / WAVE (Waveform Audio)", "audioCodec": "pcm_s16le",
        "audioSampleRate": 44100, "audioChannels": 1, "audioChannelMode": "mono",
        "errorMessage": "The audio stream holds no samples.",
    },
    "tiny-webm.webm": {
        "fileFormat": "Matroska / WebM", "duration": 1.0, "videoCodec": "vp8",
        "sizeX": 8, "sizeY": 8, "totalFrames": 1,
    },
}

# (file, preset, final status, last history note; None: any note naming the output)
JOBS = [
    ("tiny-AudioVideoInterleave.avi", VIDEO_PRESET, "Error",
     "The input's video cannot be transcoded. The video stream holds no frames."),
    ("tiny-FlashVideo.flv", VIDEO_PRESET, "Error",
     "The input file /in/tiny-FlashVideo.flv is not readable media: End of file."),
    ("tiny-Mpeg4.mp4", VIDEO_PRESET, "Error",
     "The input file /in/tiny-Mpeg4.mp4 is not readable media: "
     "The file holds no audio or video stream."),
    ("tiny-WindowsMediaVideo.wmv", VIDEO_PRESET, "Error",
     "The input's video cannot be transcoded. The video stream holds no frames."),
    ("tiny-mp3.mp3", AUDIO_PRESET, "Error",
     "The input file /in/tiny-mp3.mp3 is not readable media: "
     "Invalid data found when processing input."),
    ("tiny-mp4-with-audio.mp4", AUDIO_PRESET, "Complete", None),
    ("tiny-mp4-with-audio.mp4", VIDEO_PRESET, "Error",
     f"The input has no video stream; preset '{VIDEO_PRESET}' makes video from the "
     "input's pictures. Choose an audio preset for this file."),
    ("tiny-wav.wav", AUDIO_PRESET, "Error",
     "The input's audio cannot be transcoded. The audio stream holds no samples."),
    ("tiny-webm.webm", VIDEO_PRESET, "Complete", None),
    ("tiny-webm.webm", AUDIO_PRESET, "Error",
     f"The input has no audio stream; preset '{AUDIO_PRESET}' produces audio only."),
]


def test_every_shared_file_is_covered():
    assert sorted(p.name for p in SHARED_MEDIA.iterdir() if p.name != "README.md") == sorted(
        DETAILS)


@pytest.mark.parametrize("name", sorted(DETAILS))
def test_each_edge_file_gets_a_sensible_detail(softlayer_client, transcode_account,
                                               transcode_ftp, name):
    path = SHARED_MEDIA / name
    upload(transcode_ftp, path)

    detail = softlayer_client.call(ACCOUNT, "getFileDetail", f"/in/{name}",
                                   id=transcode_account["id"])

    assert detail["file"] == f"/in/{name}"
    assert detail["fileSize"] == path.stat().st_size
    assert {key: detail.get(key) for key in DETAILS[name]} == DETAILS[name]
    if "errorMessage" not in DETAILS[name]:
        assert "errorMessage" not in detail


@pytest.mark.parametrize("name, preset_name, status, note", JOBS)
def test_a_job_on_each_edge_file_ends_with_its_reason(
    softlayer_client, transcode_ftp, name, preset_name, status, note
):
    catalog = PresetCatalog.load(default_presets_dir())
    preset = next(p for p in catalog.presets if p.name == preset_name)
    source = upload(transcode_ftp, SHARED_MEDIA / name)

    job = run_job(softlayer_client, preset, source, "edge", timeout=120)

    assert job["transcodeStatusName"] == status, job["history"]
    if note is None:
        assert last_note(job).startswith(f"Output written to /out/edge.{preset.extension}")
    else:
        assert last_note(job) == note
