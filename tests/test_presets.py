"""The preset catalog: its contents, GUIDs, elements, codec rules and what jobs make."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from emulator.config import default_presets_dir
from emulator.presets import PresetCatalog, read_presets
from emulator.transcode import (
    TranscodeError,
    TranscodePlan,
    build_arguments,
    find_ffmpeg,
    run_ffmpeg,
)
from tests.media import make_clip, make_tone
from tests.output_probe import (
    frame_at,
    measured_video_bitrate,
    mismatches,
    read_output,
)
from tests.transcode_jobs import ACCOUNT, download, last_note, run_job, upload

F4V_NAME = "F4V 896kbps 640x352 16x9 29.97fps"
F4V_GUID = "{87E01268-C3E3-4A85-9701-052C9AC42BD4}"
WMV9_NTSC_NAME = "Windows Media 9 - Download - 1 Mbps - NTSC - Constrained VBR"
GUID_SNAPSHOT = Path(__file__).parent / "preset_guids.json"
CATEGORIES = {
    "Flash", "Windows Media", "MPEG-4", "H.265", "Apple", "Android", "3GPP",
    "MPEG-1 and MPEG-2", "WebM", "Ogg Theora", "QuickTime", "Animated GIF",
    "Thumbnails", "Audio",
}
RED, GREEN, BLACK = (255, 0, 0), (0, 255, 0), (0, 0, 0)


@pytest.fixture(scope="module")
def catalog() -> PresetCatalog:
    return PresetCatalog.load(default_presets_dir())


def preset_named(catalog: PresetCatalog, name: str):
    return next(p for p in catalog.presets if p.name == name)


def transcode(preset, source: Path, destination: Path, has_video=True, has_audio=True,
              duration: float | None = 1.0) -> Path:
    plan = TranscodePlan(source, destination, preset, duration, has_video, has_audio)
    run_ffmpeg(build_arguments(plan, find_ffmpeg()), duration, lambda _: None, 300)
    return destination


def lavfi_clip(path: Path, colour: str, size: str, drawing: str = "null",
               seconds: float = 1.0) -> Path:
    """A still picture of one colour, with `drawing` (an ffmpeg filter) on it."""
    subprocess.run([
        find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"color=c={colour}:s={size}:d={seconds}", "-vf", drawing,
        "-c:v", "libx264", "-crf", "1", "-pix_fmt", "yuv444p", str(path),
    ], check=True, capture_output=True, timeout=60)
    return path


def close_to(pixel: tuple, colour: tuple, tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


# The catalog itself


def test_catalog_has_over_200_presets_in_every_category(catalog):
    categories = {p.category for p in catalog.presets}

    assert len(catalog.presets) >= 200
    assert categories == CATEGORIES
    smallest = min(sum(p.category == c for p in catalog.presets) for c in CATEGORIES)
    assert smallest >= 8


def test_reference_presets_keep_their_names_and_the_f4v_its_guid(catalog):
    assert catalog.get(F4V_GUID).name == F4V_NAME
    assert any(p.name == WMV9_NTSC_NAME for p in catalog.presets)


def test_every_guid_matches_the_checked_in_snapshot(catalog):
    pinned = json.loads(GUID_SNAPSHOT.read_text())

    changed = {g: n for g, n in catalog.guids().items() if pinned.get(g) != n}
    missing = {g: n for g, n in pinned.items() if g not in catalog.by_guid}
    assert not changed and not missing, (
        "Preset GUIDs must never change. New presets are added to the snapshot with "
        "`python -m emulator.presets --guids > tests/preset_guids.json`.\n"
        f"Not in the snapshot: {changed}\nGone from the catalog: {missing}"
    )


def test_guids_are_upper_case_hex_in_braces(catalog):
    form = re.compile(r"\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}")

    assert all(form.fullmatch(p.guid) for p in catalog.presets)


def test_flash_and_windows_media_names_state_the_total_bit_rate(catalog):
    for preset in catalog.presets:
        if preset.category not in ("Flash", "Windows Media"):
            continue
        total = preset.video.bitrate + preset.audio.bitrate
        stated = re.search(r"(\d+(?:\.\d+)?) ?(kbps|Kbps|Mbps)", preset.name)
        scale = 1_000_000 if stated.group(2) == "Mbps" else 1000
        assert float(stated.group(1)) * scale == total, preset.name


def test_windows_media_presets_declare_the_wmv8_they_really_write(catalog):
    windows_media = [p for p in catalog.presets if p.category == "Windows Media"]

    assert {p.video.codec for p in windows_media} == {"wmv2"}
    assert all("WMV8 (wmv2)" in p.description for p in windows_media)


# getPresetDetail


def test_wmv9_ntsc_frame_rate_offers_19_options_and_defaults_to_15(
    softlayer_client, transcode_account, catalog
):
    preset = preset_named(catalog, WMV9_NTSC_NAME)

    elements = softlayer_client.call(
        ACCOUNT, "getPresetDetail", preset.guid, id=transcode_account["id"]
    )

    frame_rate = next(e for e in elements if e["name"] == "Frame Rate")
    assert frame_rate["defaultValue"] == "15.0"
    assert len(frame_rate["additionalElements"]) == 19
    assert {"name": "29.97", "value": "29.97"} in frame_rate["additionalElements"]
    codec = next(e for e in elements if e["name"] == "Video Codec")
    assert codec["defaultValue"] == "wmv2"


def test_every_element_defaults_to_the_preset_setting_and_offers_it(catalog):
    for preset in catalog.presets:
        elements = {e["name"]: e for e in preset.elements()}
        expected = {"Format": preset.extension.upper()}
        if preset.video:
            expected.update({"Video Codec": preset.video.codec,
                             "Frame Size": preset.video.size})
        if preset.audio:
            expected.update({"Audio Codec": preset.audio.codec,
                             "Sample Rate": str(preset.audio.sample_rate),
                             "Channels": str(preset.audio.channels)})
        for name, value in expected.items():
            assert elements[name]["defaultValue"] == value, (preset.name, name)
        for element in elements.values():
            options = element.get("additionalElements")
            if options is not None:
                assert element["defaultValue"] in {o["name"] for o in options} | {
                    o["value"] for o in options}, (preset.name, element["name"])


def test_constrained_codecs_only_offer_what_their_encoder_accepts(catalog):
    def options(name, element):
        found = next(e for e in preset_named(catalog, name).elements() if e["name"] == element)
        return [o["value"] for o in found["additionalElements"]]

    h263 = "3GP H.263 176x144 96kbps 15fps AMR-NB 12.2kbps"
    assert options(h263, "Frame Size") == ["128x96", "176x144", "352x288", "704x576",
                                           "1408x1152"]
    assert options(h263, "Sample Rate") == ["8000"]
    assert options(h263, "Channels") == ["1"]
    assert options("MPEG-1 VCD NTSC 352x240 29.97fps", "Frame Rate") == [
        "23.976", "24.0", "25.0", "29.97", "30.0", "50.0", "59.94", "60.0"]
    assert options("Animated GIF 320x240 10fps", "Frame Rate") == [
        "5.0", "10.0", "12.5", "20.0", "25.0", "50.0"]
    assert options("AC-3 448kbps 48kHz 5.1", "Sample Rate") == ["32000", "44100", "48000"]


# Codec rules refuse presets that cannot be made


def read_one(entry: dict) -> None:
    read_presets({"category": "Test", "presets": [entry]}, "test.yaml")


@pytest.mark.parametrize("video, audio, container, reason", [
    ({"codec": "h263", "size": "320x240", "fps": 15, "bitrate": "128k"}, None, "3gp",
     "H.263 only has the frame sizes 128x96, 176x144, 352x288"),
    ({"codec": "mpeg2video", "size": "720x480", "fps": 15, "bitrate": "4M"}, None, "mpeg",
     "MPEG-2 Video only has the frame rates 23.976, 24, 25, 29.97, 30, 50, 59.94, 60"),
    ({"codec": "dnxhd", "size": "1920x1080", "fps": 29.97, "bitrate": "100M"}, None, "mov",
     "Avid DNxHD only has these formats"),
    ({"codec": "dvvideo", "size": "720x480", "fps": 25}, None, "mov",
     "DV only has these formats"),
    ({"codec": "gif", "size": "320x240", "fps": 15}, None, "gif",
     "GIF only has the frame rates 5, 10, 12.5, 20, 25, 50"),
    (None, {"codec": "amr_nb", "bitrate": "12.2k", "sample_rate": 44100, "channels": 1},
     "amr", "AMR-NB in AMR only has the sample rates 8000"),
    (None, {"codec": "amr_nb", "bitrate": "12k", "sample_rate": 8000, "channels": 1},
     "amr", "AMR-NB at 8000 Hz only has the bit rates 4.75k"),
    (None, {"codec": "ac3", "bitrate": "192k", "sample_rate": 22050, "channels": 2},
     "ac3", "only has the sample rates 32000, 44100, 48000"),
    (None, {"codec": "mp3", "bitrate": "128k", "sample_rate": 32000, "channels": 2},
     "flv", "MP3 in Flash Video (FLV) only has the sample rates 11025, 22050, 44100"),
    (None, {"codec": "aac", "bitrate": "128k"}, "asf",
     "Advanced Systems Format (ASF) cannot hold AAC-LC audio"),
])
def test_a_preset_the_encoder_cannot_make_is_refused(video, audio, container, reason):
    entry = {"name": "Impossible", "container": container, "extension": "x"}
    if video:
        entry["video"] = video
    if audio:
        entry["audio"] = audio

    with pytest.raises(ValueError) as refused:
        read_one(entry)

    assert reason in str(refused.value)
    assert "test.yaml: preset 'Impossible'" in str(refused.value)


# Families


FAMILY = """
category: Test
families:
  - name: "Demo {device} {size} {video_rate} {fps}fps AAC {audio_rate}"
    container: mp4
    extension: mp4
    video: {codec: h264, profile: main}
    audio: {codec: aac, bitrate: 128k, sample_rate: 44100, channels: 2}
    columns: [device, video.size, video.bitrate, video.fps]
    rows:
      - [Phone, 480x320, 768k, 30]
      - [TV, 1920x1080, 8M, 29.97]
      - {device: Tablet, video.size: 1024x768, video.bitrate: 2.5M, video.fps: 25,
         audio.bitrate: 160k, guid: "{00000000-0000-0000-0000-00000000ABCD}"}
  - name: "Demo MP3 {audio_rate} {khz}kHz {channels}"
    container: mp3
    extension: mp3
    audio: {codec: mp3}
    product:
      audio.bitrate: [64k, 128k]
      audio.channels: [1, 2]
      audio.sample_rate: [44100]
"""


def test_a_family_expands_each_row_into_a_named_preset():
    presets = read_presets(yaml.safe_load(FAMILY), "demo.yaml")

    names = [p.name for p in presets]
    assert names == [
        "Demo Phone 480x320 768kbps 30fps AAC 128kbps",
        "Demo TV 1920x1080 8Mbps 29.97fps AAC 128kbps",
        "Demo Tablet 1024x768 2.5Mbps 25fps AAC 160kbps",
        "Demo MP3 64kbps 44.1kHz Mono",
        "Demo MP3 64kbps 44.1kHz Stereo",
        "Demo MP3 128kbps 44.1kHz Mono",
        "Demo MP3 128kbps 44.1kHz Stereo",
    ]
    tv = presets[1]
    assert (tv.video.width, tv.video.height, tv.video.fps, tv.video.bitrate) == (
        1920, 1080, 29.97, 8_000_000)
    assert tv.video.profile == "main" and tv.audio.bitrate == 128_000
    assert presets[2].guid == "{00000000-0000-0000-0000-00000000ABCD}"
    assert presets[2].audio.bitrate == 160_000
    assert tv.description == (
        "MP4 (MPEG-4 Part 14): H.264 Main 8 Mbps, 1920x1080 (16:9) at 29.97 fps, "
        "fitted inside the frame with black bars; AAC-LC 128 kbps, 44.1 kHz stereo."
    )


@pytest.mark.parametrize("change, reason", [
    (lambda f: f["families"][0].update(name="Demo {device} {devise} {size}"),
     "unknown placeholder {devise}"),
    (lambda f: f["families"][0].update(name="Demo {size} {fps}"),
     "column 'device' is set but appears in no name or description template"),
    (lambda f: f["families"][0]["rows"].append(["Phone", "480x320", "768k", 30]),
     "two presets share the name 'Demo Phone 480x320 768kbps 30fps AAC 128kbps'"),
])
def test_a_broken_family_is_refused_with_its_reason(change, reason):
    family = yaml.safe_load(FAMILY)
    change(family)

    with pytest.raises(ValueError) as refused:
        PresetCatalog(read_presets(family, "demo.yaml"))

    assert reason in str(refused.value)


# What a transcode honours


ASPECT_FAMILY = """
category: Test
families:
  - name: "Aspect {rule}"
    container: mov
    extension: mov
    video: {codec: mjpeg, size: 320x180, fps: 10}
    columns: [rule, video.aspect]
    rows: [[pad, pad], [crop, crop], [stretch, stretch]]
"""


def test_pad_crop_and_stretch_fit_a_4x3_picture_into_16x9(tmp_path):
    # Red 4:3 picture with a 20-row green band along its top edge.
    source = lavfi_clip(tmp_path / "four-three.mkv", "red", "320x240",
                        "drawbox=x=0:y=0:w=320:h=20:color=lime:t=fill")
    pad, crop, stretch = read_presets(yaml.safe_load(ASPECT_FAMILY), "aspect.yaml")

    padded = frame_at(transcode(pad, source, tmp_path / "pad.mov", has_audio=False), 0.5)
    cropped = frame_at(transcode(crop, source, tmp_path / "crop.mov", has_audio=False), 0.5)
    stretched = frame_at(
        transcode(stretch, source, tmp_path / "stretch.mov", has_audio=False), 0.5)

    assert padded.size == cropped.size == stretched.size == (320, 180)
    # pad: the 240x180 picture sits between black bars, its green band intact
    assert close_to(padded.getpixel((10, 90)), BLACK)
    assert close_to(padded.getpixel((160, 90)), RED)
    assert close_to(padded.getpixel((160, 5)), GREEN)
    # crop: the picture fills the width; 30 rows above and below are cut, band too
    assert close_to(cropped.getpixel((10, 90)), RED)
    assert close_to(cropped.getpixel((160, 5)), RED)
    # stretch: fills the frame, the band squeezed but kept
    assert close_to(stretched.getpixel((10, 90)), RED)
    assert close_to(stretched.getpixel((160, 5)), GREEN)


def test_a_16x9_dvd_frame_is_anamorphic_and_pillarboxes_a_4x3_source(catalog, tmp_path):
    preset = preset_named(catalog, "MPEG-2 DVD NTSC 720x480 16x9 29.97fps 6Mbps AC-3")
    wide = lavfi_clip(tmp_path / "wide.mkv", "red", "640x360")
    narrow = lavfi_clip(tmp_path / "narrow.mkv", "red", "320x240")

    from_wide = transcode(preset, wide, tmp_path / "wide.mpg", has_audio=False)
    from_narrow = transcode(preset, narrow, tmp_path / "narrow.mpg", has_audio=False)

    assert mismatches(preset, read_output(from_wide)) == []
    assert read_output(from_wide).video.sample_aspect == pytest.approx(32 / 27, rel=0.01)
    assert close_to(frame_at(from_wide, 0.5).getpixel((20, 240)), RED)
    # 4:3 inside 16:9 leaves an eighth of the width black on each side
    assert close_to(frame_at(from_narrow, 0.5).getpixel((30, 240)), BLACK)
    assert close_to(frame_at(from_narrow, 0.5).getpixel((360, 240)), RED)


def test_a_video_preset_refuses_an_audio_only_input_with_a_clear_reason(catalog, tmp_path):
    tone = make_tone(tmp_path / "tone.mp3", seconds=1)
    for name in ("MP4 H.264 640x360 1Mbps 30fps AAC", "Thumbnail JPEG 320x240",
                 "Animated GIF 320x240 10fps"):
        preset = preset_named(catalog, name)
        plan = TranscodePlan(tone, tmp_path / "out", preset, 1.0, False, True)

        with pytest.raises(TranscodeError) as refused:
            build_arguments(plan, find_ffmpeg())

        assert str(refused.value).startswith("The input has no video stream;")
        assert f"preset '{name}'" in str(refused.value)


def test_a_video_only_input_gets_the_declared_silent_audio_track(catalog, tmp_path):
    silent = make_clip(tmp_path / "silent.mp4", seconds=1, video_codec="libx264",
                       audio_codec=None)
    preset = preset_named(catalog, "3GP H.263 176x144 96kbps 15fps AMR-NB 12.2kbps")

    output = read_output(transcode(preset, silent, tmp_path / "out.3gp", has_audio=False))

    assert mismatches(preset, output) == []
    assert output.audio.duration == pytest.approx(1.0, abs=0.1)


def test_thumbnails_are_single_jpeg_and_png_images(catalog, tmp_path):
    from PIL import Image

    clip = make_clip(tmp_path / "clip.mp4", seconds=2, video_codec="libx264",
                     audio_codec="aac")
    jpeg = transcode(preset_named(catalog, "Thumbnail JPEG 160x120"), clip,
                     tmp_path / "thumb.jpg", duration=2.0)
    png = transcode(preset_named(catalog, "Thumbnail PNG 640x360"), clip,
                    tmp_path / "thumb.png", duration=2.0)

    assert jpeg.read_bytes()[:3] == b"\xff\xd8\xff"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(jpeg) as image:
        assert (image.format, image.size) == ("JPEG", (160, 120))
    with Image.open(png) as image:
        assert (image.format, image.size) == ("PNG", (640, 360))


def test_an_animated_gif_loops_through_its_frames(catalog, tmp_path):
    from PIL import Image

    clip = make_clip(tmp_path / "clip.mp4", seconds=1, video_codec="libx264",
                     audio_codec="aac")
    gif = transcode(preset_named(catalog, "Animated GIF 160x120 10fps"), clip,
                    tmp_path / "anim.gif")

    with Image.open(gif) as image:
        assert (image.format, image.size, image.is_animated) == ("GIF", (160, 120), True)
        assert image.n_frames == 10
        assert image.info["duration"] == 100  # ms per frame: 10 fps
        assert image.info["loop"] == 0  # forever


# Bit rates, measured on clips long enough for rate control to settle


BITRATE_PRESETS = [
    "MP4 H.264 320x240 300kbps 30fps AAC",
    "MP4 H.265 640x360 400kbps 30fps AAC",
    "MP4 MPEG-4 320x240 500kbps 29.97fps AAC",
    "3GP H.263 352x288 384kbps 25fps AMR-NB 12.2kbps",
    "FLV 768kbps 480x360 4x3 29.97fps",
    "Windows Media 9 - Streaming - 512 Kbps - NTSC - CBR",
    "WebM VP8 320x240 400kbps 30fps Vorbis",
    "WebM VP9 426x240 250kbps 30fps Opus",
    "Ogg Theora 320x240 500kbps 30fps Vorbis",
    "MPEG-1 320x240 29.97fps 1Mbps MP2",
    "MPEG-2 720x480 29.97fps 4Mbps MP2",
]


@pytest.fixture(scope="module")
def three_second_clip(tmp_path_factory) -> Path:
    from tests.test_preset_sweep import make_sweep_clip

    return make_sweep_clip(tmp_path_factory.mktemp("bitrate") / "clip.mkv", 3.0)


@pytest.mark.parametrize("name", BITRATE_PRESETS)
def test_the_video_bit_rate_lands_near_the_declared_rate(catalog, three_second_clip,
                                                         tmp_path, name):
    preset = preset_named(catalog, name)

    output = read_output(transcode(preset, three_second_clip,
                                   tmp_path / f"out.{preset.extension}", duration=3.0))

    assert mismatches(preset, output) == []
    ratio = measured_video_bitrate(output.video, preset.video.fps) / preset.video.bitrate
    assert 0.7 <= ratio <= 1.4, f"{name}: {ratio:.2f} times the declared rate"


# Jobs through the API


API_PRESETS = [
    "3GP H.263 176x144 96kbps 15fps AMR-NB 12.2kbps",
    "MP3 128kbps 44.1kHz Stereo",
    "Thumbnail JPEG 320x240",
    "QuickTime DNxHD 36 1920x1080 23.976fps",
]


def test_jobs_through_the_api_produce_what_their_presets_declare(
    softlayer_client, transcode_ftp, catalog, tmp_path
):
    clip = make_clip(tmp_path / "clip.wmv", seconds=1)
    source = upload(transcode_ftp, clip)

    for index, name in enumerate(API_PRESETS):
        preset = preset_named(catalog, name)
        job = run_job(softlayer_client, preset, source, f"result{index}")

        assert job["transcodeStatusName"] == "Complete", job["history"]
        assert job["outputFile"] == f"/out/result{index}.{preset.extension}"
        output = download(transcode_ftp, job["outputFile"],
                          tmp_path / f"result{index}.{preset.extension}")
        assert mismatches(preset, read_output(output)) == [], name


def test_a_job_with_a_video_preset_on_an_audio_only_file_ends_in_error(
    softlayer_client, transcode_ftp, catalog, tmp_path
):
    source = upload(transcode_ftp, make_tone(tmp_path / "song.mp3", seconds=1))
    preset = preset_named(catalog, F4V_NAME)

    job = run_job(softlayer_client, preset, source, "song_flash")

    assert job["transcodeStatusName"] == "Error"
    assert last_note(job) == (
        f"The input has no video stream; preset '{F4V_NAME}' makes video from the "
        "input's pictures. Choose an audio preset for this file."
    )
