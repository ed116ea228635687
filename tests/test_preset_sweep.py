"""Every preset in the catalog, transcoded and read back.

A half-second test clip with sound goes through each preset the way the
worker runs it (build_arguments, then run_ffmpeg), two transcodes at a
time, and each output is probed against the preset's declared container,
codecs, frame size, pixel shape, frame rate, profile, sample rate,
channels and bit rates (see tests/output_probe.py for the tolerances).
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from emulator.config import default_presets_dir
from emulator.presets import Preset, PresetCatalog
from emulator.transcode import (
    TranscodeError,
    TranscodePlan,
    build_arguments,
    find_ffmpeg,
    run_ffmpeg,
)
from tests.output_probe import mismatches, read_output

CLIP_SECONDS = 0.5
PARALLEL_TRANSCODES = 2


@pytest.fixture(scope="module")
def test_clip(tmp_path_factory) -> Path:
    """A 4:3 clip at 24 fps, a shape and rate few presets share, with stereo sound.

    The sound is a tone in pink noise: on a pure tone, variable bit rate
    audio encoders spend a fraction of their rate.
    """
    return make_sweep_clip(tmp_path_factory.mktemp("sweep") / "clip.mkv", CLIP_SECONDS)


def make_sweep_clip(path: Path, seconds: float, size: str = "320x240") -> Path:
    sound = (
        f"sine=frequency=440:sample_rate=44100:duration={seconds}[tone];"
        f"anoisesrc=color=pink:amplitude=0.2:sample_rate=44100:duration={seconds}[noise];"
        "[tone][noise]amix=inputs=2,aformat=channel_layouts=stereo"
    )
    subprocess.run([
        find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=24:duration={seconds}",
        "-f", "lavfi", "-i", sound,
        "-c:v", "libx264", "-crf", "12", "-c:a", "flac", str(path),
    ], check=True, capture_output=True, timeout=120)
    return path


def transcode_and_check(preset: Preset, clip: Path, folder: Path) -> list[str]:
    destination = folder / f"{preset.guid.strip('{}')}.{preset.extension}"
    plan = TranscodePlan(
        source=clip,
        destination=destination,
        preset=preset,
        duration=CLIP_SECONDS,
        has_video=True,
        has_audio=True,
    )
    try:
        run_ffmpeg(build_arguments(plan, find_ffmpeg()), CLIP_SECONDS, lambda _: None, 300)
    except TranscodeError as error:
        return [f"transcode failed: {error}"]
    return mismatches(preset, read_output(destination))


def test_every_preset_produces_what_it_declares(test_clip, tmp_path, capsys):
    catalog = PresetCatalog.load(default_presets_dir())
    assert len(catalog.presets) >= 200

    with ThreadPoolExecutor(PARALLEL_TRANSCODES) as pool:
        results = list(pool.map(
            lambda preset: (preset, transcode_and_check(preset, test_clip, tmp_path)),
            catalog.presets,
        ))

    failures = {preset.name: problems for preset, problems in results if problems}
    passed = len(results) - len(failures)
    with capsys.disabled():
        print(f"\npreset sweep: {passed} of {len(results)} presets passed")
    report = "\n".join(f"{name}: {'; '.join(problems)}" for name, problems in failures.items())
    assert not failures, f"{len(failures)} presets differ from what they declare:\n{report}"
