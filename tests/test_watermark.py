"""Watermarks, checked by reading back pixels of decoded output frames."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageFont

from emulator.config import default_presets_dir
from emulator.presets import PresetCatalog
from emulator.transcode import (
    TranscodeError,
    TranscodePlan,
    Watermark,
    build_arguments,
    find_ffmpeg,
    run_ffmpeg,
)
from emulator.watermark import render_text
from tests.output_probe import frame_at
from tests.transcode_jobs import download, last_note, run_job, upload

PRESET = "MP4 H.264 640x360 1Mbps 30fps AAC"
BLUE, RED = (0, 0, 255), (255, 0, 0)
MARK_AT = (300, 150)  # top-left corner of the mark in the 640x360 output
MARK_SIZE = 40
INSIDE_MARK = (MARK_AT[0] + MARK_SIZE // 2, MARK_AT[1] + MARK_SIZE // 2)
AWAY_FROM_MARK = (450, 300)


@pytest.fixture(scope="module")
def preset():
    catalog = PresetCatalog.load(default_presets_dir())
    return next(p for p in catalog.presets if p.name == PRESET)


@pytest.fixture(scope="module")
def blue_clip(tmp_path_factory) -> Path:
    """Two seconds of plain blue with a tone."""
    path = tmp_path_factory.mktemp("watermark") / "blue.mp4"
    subprocess.run([
        find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", "color=c=blue:s=320x240:r=10:d=2",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:d=2",
        "-c:v", "libx264", "-crf", "1", "-pix_fmt", "yuv444p", "-c:a", "aac",
        str(path),
    ], check=True, capture_output=True, timeout=60)
    return path


@pytest.fixture(scope="module")
def red_square(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mark") / "logo.png"
    Image.new("RGBA", (MARK_SIZE, MARK_SIZE), (*RED, 255)).save(path)
    return path


def watermarked(preset, clip: Path, mark: Watermark, destination: Path) -> Path:
    plan = TranscodePlan(clip, destination, preset, 2.0, True, True, watermark=mark)
    run_ffmpeg(build_arguments(plan, find_ffmpeg()), 2.0, lambda _: None, 120)
    return destination


def close_to(pixel: tuple, colour: tuple, tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


def white_pixels(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    region = image.crop(box)
    return sum(
        1 for x in range(region.width) for y in range(region.height)
        if min(region.getpixel((x, y))) >= 200
    )


def test_an_image_mark_shows_at_its_position_only_within_its_time_window(
    preset, blue_clip, red_square, tmp_path
):
    mark = Watermark(red_square, *MARK_AT, opacity=1.0, start=0.5, end=1.5)

    output = watermarked(preset, blue_clip, mark, tmp_path / "marked.mp4")

    during = frame_at(output, 1.0)
    assert close_to(during.getpixel(INSIDE_MARK), RED)
    assert close_to(during.getpixel(AWAY_FROM_MARK), BLUE)
    assert close_to(during.getpixel((MARK_AT[0] - 10, MARK_AT[1] - 10)), BLUE)
    assert close_to(frame_at(output, 0.2).getpixel(INSIDE_MARK), BLUE)
    assert close_to(frame_at(output, 1.8).getpixel(INSIDE_MARK), BLUE)


@pytest.mark.parametrize("transparency, expected", [
    (0, (255, 0, 0)),
    (50, (128, 0, 128)),
    (75, (64, 0, 191)),
])
def test_transparency_blends_the_mark_with_the_picture(
    preset, blue_clip, red_square, tmp_path, transparency, expected
):
    mark = Watermark(red_square, *MARK_AT, opacity=1 - transparency / 100,
                     start=None, end=None)

    output = watermarked(preset, blue_clip, mark, tmp_path / "blend.mp4")

    assert close_to(frame_at(output, 1.0).getpixel(INSIDE_MARK), expected, tolerance=30)


def test_a_text_mark_is_drawn_where_and_when_asked(preset, blue_clip, tmp_path):
    text_image = tmp_path / "text.png"
    render_text("EMULATOR", text_image)
    width, height = Image.open(text_image).size
    mark = Watermark(text_image, 40, 30, opacity=1.0, start=1.0, end=None)

    output = watermarked(preset, blue_clip, mark, tmp_path / "text.mp4")

    box = (40, 30, 40 + width, 30 + height)
    assert white_pixels(frame_at(output, 1.5), box) > 50
    assert white_pixels(frame_at(output, 0.5), box) == 0
    assert white_pixels(frame_at(output, 1.5), (40, 200, 40 + width, 200 + height)) == 0


def test_a_missing_font_is_a_clear_transcode_error(monkeypatch, tmp_path):
    def no_font(*args, **kwargs):
        raise OSError("cannot open resource")

    monkeypatch.setattr(ImageFont, "load_default", no_font)

    with pytest.raises(TranscodeError) as failed:
        render_text("EMULATOR", tmp_path / "text.png")

    assert str(failed.value) == (
        "No font is available to draw the watermark text (cannot open resource)."
    )


# Through the API and the worker


def test_a_job_places_an_image_from_in_during_its_window(
    softlayer_client, transcode_ftp, preset, blue_clip, red_square, tmp_path
):
    source = upload(transcode_ftp, blue_clip, "blue.mp4")
    logo = upload(transcode_ftp, red_square, "logo.png")

    job = run_job(softlayer_client, preset, source, "marked", watermark={
        "fileName": logo, "position": {"x": MARK_AT[0], "y": MARK_AT[1]},
        "startTime": 500, "endTime": 1500, "transparencyPercentage": 0,
    })

    assert job["transcodeStatusName"] == "Complete", job["history"]
    output = download(transcode_ftp, job["outputFile"], tmp_path / "marked.mp4")
    assert close_to(frame_at(output, 1.0).getpixel(INSIDE_MARK), RED)
    assert close_to(frame_at(output, 0.2).getpixel(INSIDE_MARK), BLUE)
    assert close_to(frame_at(output, 1.8).getpixel(INSIDE_MARK), BLUE)


def test_a_job_draws_a_text_mark_for_the_whole_clip(
    softlayer_client, transcode_ftp, preset, blue_clip, tmp_path
):
    source = upload(transcode_ftp, blue_clip, "blue.mp4")

    job = run_job(softlayer_client, preset, source, "texted", watermark={
        "text": "EMULATOR", "position": {"x": 40, "y": 30}, "transparencyPercentage": 0,
    })

    assert job["transcodeStatusName"] == "Complete", job["history"]
    output = download(transcode_ftp, job["outputFile"], tmp_path / "texted.mp4")
    for seconds in (0.1, 1.9):
        assert white_pixels(frame_at(output, seconds), (40, 30, 200, 60)) > 50


def test_a_job_whose_text_cannot_be_drawn_ends_in_error_with_the_reason(
    softlayer_client, transcode_ftp, preset, blue_clip, monkeypatch
):
    def no_font(*args, **kwargs):
        raise OSError("cannot open resource")

    monkeypatch.setattr(ImageFont, "load_default", no_font)
    source = upload(transcode_ftp, blue_clip, "blue.mp4")

    job = run_job(softlayer_client, preset, source, "texted", watermark={
        "text": "EMULATOR", "position": {"x": 40, "y": 30},
    })

    assert job["transcodeStatusName"] == "Error"
    assert last_note(job) == (
        "No font is available to draw the watermark text (cannot open resource)."
    )
