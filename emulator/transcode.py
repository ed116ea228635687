"""Turning a preset into an ffmpeg run, through ffmpeg-python.

`TranscodePlan` holds what one job needs (input, preset, watermark, where
to write); `build_arguments` derives the ffmpeg command line from it and
`run_ffmpeg` runs it with progress reports, a timeout and a readable reason
when ffmpeg fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import ffmpeg

from emulator import codecs
from emulator.media import unusable_streams
from emulator.presets import AudioSettings, Preset, VideoSettings

THUMBNAIL_POSITION = 0.25  # grab the frame a quarter into the clip
# "[fc#0 @ 0x55d...] ": where in ffmpeg a log line comes from, noise in a job note
FFMPEG_LOG_CONTEXT = re.compile(r"^(\[[^\]]+ @ 0x[0-9a-f]+\]\s*)+")


class TranscodeError(Exception):
    """ffmpeg could not produce the output; the message is one readable line."""


@dataclass
class Watermark:
    image: Path  # a PNG or other still image
    x: int
    y: int
    opacity: float  # 0..1
    start: float | None  # seconds
    end: float | None


@dataclass
class TranscodePlan:
    source: Path
    destination: Path
    preset: Preset
    duration: float | None
    has_video: bool
    has_audio: bool
    watermark: Watermark | None = None
    # The prober's errorMessage for a readable file with an empty or broken stream.
    input_problem: str = ""

    @property
    def usable_video(self) -> bool:
        return self.has_video and "video" not in unusable_streams(self.input_problem)

    @property
    def usable_audio(self) -> bool:
        return self.has_audio and "audio" not in unusable_streams(self.input_problem)


def find_ffmpeg(configured: str = "") -> str:
    """The ffmpeg to run: the configured one, one on PATH, or imageio-ffmpeg's."""
    if configured:
        return configured
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def check_inputs(plan: TranscodePlan) -> None:
    """TranscodeError when the input lacks what the preset needs."""
    preset = plan.preset
    if preset.video and plan.has_video and not plan.usable_video:
        raise TranscodeError(f"The input's video cannot be transcoded. {plan.input_problem}")
    if preset.audio and not preset.video and plan.has_audio and not plan.usable_audio:
        raise TranscodeError(f"The input's audio cannot be transcoded. {plan.input_problem}")
    if preset.video and not plan.has_video:
        made = {"image": "a still image", "animation": "an animation"}.get(preset.kind, "video")
        raise TranscodeError(
            f"The input has no video stream; preset '{preset.name}' makes {made} "
            "from the input's pictures. Choose an audio preset for this file."
        )
    if preset.audio and not preset.video and not plan.has_audio:
        raise TranscodeError(
            f"The input has no audio stream; preset '{preset.name}' produces audio only."
        )


def build_arguments(plan: TranscodePlan, ffmpeg_path: str) -> list[str]:
    """The ffmpeg command that makes what `plan.preset` declares."""
    check_inputs(plan)
    preset = plan.preset
    container = codecs.container(preset.container)
    seek = _thumbnail_seek(plan)
    source = ffmpeg.input(str(plan.source), **({"ss": seek} if seek else {}))
    streams = []
    output_options: dict = {"f": preset.container, "map_metadata": -1}
    output_options.update(container.output_options)

    if preset.video:
        streams.append(_video_stream(source, plan))
        output_options.update(_video_options(preset))
    else:
        output_options["vn"] = None

    if preset.audio:
        if plan.usable_audio:
            streams.append(source.audio)
        else:
            # The preset promises an audio track: give it silence as long as the video.
            length = {"t": plan.duration} if plan.duration else {}
            silence = ffmpeg.input(
                f"anullsrc=r={preset.audio.sample_rate}:cl=mono", f="lavfi", **length
            )
            streams.append(silence.audio)
            if not plan.duration:
                output_options["shortest"] = None
        output_options.update(_audio_options(preset.audio))
    elif preset.video:
        output_options["an"] = None

    output_options.update(preset.options)
    node = ffmpeg.output(*streams, str(plan.destination), **output_options)
    return _command(node, ffmpeg_path)


def _command(node, ffmpeg_path: str) -> list[str]:
    arguments = node.global_args(
        "-hide_banner", "-nostdin", "-loglevel", "error", "-progress", "pipe:1", "-nostats"
    ).overwrite_output().compile(cmd=ffmpeg_path)
    return arguments


def _thumbnail_seek(plan: TranscodePlan) -> float:
    if plan.preset.kind != "image" or not plan.duration:
        return 0.0
    return round(plan.duration * THUMBNAIL_POSITION, 3)


def _video_stream(source, plan: TranscodePlan):
    preset = plan.preset
    video = preset.video
    assert video is not None

    # Square the source's pixels first, so its shape is its display shape.
    stream = source.video.filter("scale", "trunc(iw*sar/2)*2", "ih").filter("setsar", 1)
    canvas = display_canvas(video)
    stream = _fit(stream, video.aspect, *canvas)
    if canvas != (video.width, video.height):
        stream = stream.filter("scale", video.width, video.height)
    stream = stream.filter("setsar", str(sample_aspect(video)))
    if preset.kind != "image":
        # eof_action=pass keeps a last frame the rate change would round away,
        # which for a one-frame source is the whole picture.
        stream = stream.filter("fps", fps=str(codecs.frame_rate_fraction(video.fps)),
                               eof_action="pass")

    if plan.watermark is not None:
        stream = _overlay(stream, plan.watermark)
    if preset.kind == "animation":
        split = stream.split()
        palette = split[0].filter("palettegen")
        return ffmpeg.filter([split[1], palette], "paletteuse")
    pixel_format = output_pixel_format(video)
    if pixel_format:
        stream = stream.filter("format", pixel_format)
    return stream


def _fit(stream, aspect: str, width: int, height: int):
    """The picture brought to width x height by the preset's aspect rule."""
    if aspect == "stretch":
        return stream.filter("scale", width, height)
    if aspect == "crop":
        stream = stream.filter("scale", width, height, force_original_aspect_ratio="increase",
                               force_divisible_by=2)
        return stream.filter("crop", width, height)
    stream = stream.filter("scale", width, height, force_original_aspect_ratio="decrease",
                           force_divisible_by=2)
    return stream.filter("pad", width, height, "(ow-iw)/2", "(oh-ih)/2")


def display_canvas(video: VideoSettings) -> tuple[int, int]:
    """The square-pixel size of the picture as shown: 854x480 for a 16:9 DVD frame."""
    pixel = sample_aspect(video)
    if pixel == 1:
        return video.width, video.height
    return round(video.width * pixel / 2) * 2, video.height


def sample_aspect(video: VideoSettings) -> Fraction:
    """The pixel shape that shows the frame at its display aspect (1: square)."""
    return codecs.pixel_aspect(video.codec, video.width, video.height, video.display_aspect)


def output_pixel_format(video: VideoSettings) -> str:
    """The pixel format the stream is encoded in: the preset's, its profile's or codec's."""
    codec = codecs.video_codec(video.codec)
    profile = codec.profiles.get(video.profile)
    if video.pixel_format:
        return video.pixel_format
    if profile is not None and profile.pixel_format:
        return profile.pixel_format
    found = codecs.fixed_format(codec, video.width, video.height, video.fps, video.bitrate, "")
    if found is not None:
        return found.pixel_format
    return codec.pixel_format


def _overlay(stream, watermark: Watermark):
    mark = ffmpeg.input(str(watermark.image), loop=1).video
    mark = mark.filter("format", "rgba").filter(
        "colorchannelmixer", aa=round(watermark.opacity, 3)
    )
    options = {"x": watermark.x, "y": watermark.y, "shortest": 1}
    if watermark.start is not None or watermark.end is not None:
        start = watermark.start or 0
        end = watermark.end if watermark.end is not None else 10**9
        options["enable"] = f"between(t,{start},{end})"
    return ffmpeg.overlay(stream, mark, **options)


def _video_options(preset: Preset) -> dict:
    video = preset.video
    assert video is not None
    codec = codecs.video_codec(video.codec)
    options: dict = {"c:v": codec.encoder, **codec.encoder_options}
    if preset.kind == "image":
        options["frames:v"] = 1
        return options
    options["r"] = str(codecs.frame_rate_fraction(video.fps))
    if preset.kind == "animation":
        return options

    if video.bitrate:
        options["b:v"] = video.bitrate
        if codec.needs_tolerance:
            options["bt"] = video.bitrate // 4
    options.update(_rate_control(video))
    profile = codec.profiles.get(video.profile)
    if profile is not None:
        options["profile:v"] = profile.encoder_value
    if video.codec == "hevc" and preset.container in ("mp4", "mov"):
        # Apple's players only accept HEVC tagged hvc1.
        options["tag:v"] = "hvc1"
    options.update(video.options)
    return options


def _rate_control(video: VideoSettings) -> dict:
    if video.rate_control == "constant":
        return {"minrate": video.bitrate, "maxrate": video.bitrate, "bufsize": video.bitrate}
    if video.rate_control == "constrained":
        return {"maxrate": video.bitrate * 3 // 2, "bufsize": video.bitrate * 2}
    return {}


def _audio_options(audio: AudioSettings) -> dict:
    codec = codecs.audio_codec(audio.codec)
    options: dict = {
        "c:a": codec.encoder,
        "ar": audio.sample_rate,
        "ac": audio.channels,
        **codec.encoder_options,
    }
    if codec.bitrate_driven:
        options["b:a"] = audio.bitrate
    options.update(audio.options)
    return options


def run_ffmpeg(
    arguments: list[str],
    duration: float | None,
    on_progress: Callable[[int], None],
    timeout: float,
    cancelled: Callable[[], bool] = lambda: False,
) -> None:
    """Run ffmpeg to the end; TranscodeError with ffmpeg's reason if it fails."""
    try:
        process = subprocess.Popen(
            arguments,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as error:
        raise TranscodeError(
            f"ffmpeg could not be started ({arguments[0]}): {error.strerror or error}."
        ) from error
    stderr_lines: list[str] = []
    reader = threading.Thread(
        target=lambda: stderr_lines.extend(process.stderr), daemon=True
    )
    reader.start()
    watchdog = _Watchdog(process, timeout, cancelled)
    watchdog.start()

    last_percent = -1
    progress: dict[str, str] = {}
    for line in process.stdout:
        key, _, value = line.strip().partition("=")
        progress[key] = value
        if key == "out_time_us" and duration and value.isdigit():
            percent = min(99, int(int(value) / 1e6 / duration * 100))
            if percent > last_percent:
                last_percent = percent
                on_progress(percent)

    process.wait()
    watchdog.stop()
    reader.join(timeout=5)
    if watchdog.reason:
        raise TranscodeError(watchdog.reason)
    if process.returncode != 0:
        raise TranscodeError(_readable_reason(stderr_lines, process.returncode))
    _check_something_encoded(progress)


def _check_something_encoded(progress: dict[str, str]) -> None:
    """ffmpeg succeeds on an input with no decodable frame; the job must not."""
    if progress.get("frame") == "0":
        raise TranscodeError(
            "No video frame of the input could be decoded; nothing was transcoded."
        )
    encoded_time = progress.get("out_time_us", "")
    if "frame" not in progress and not (encoded_time.isdigit() and int(encoded_time) > 0):
        raise TranscodeError(
            "No audio of the input could be decoded; nothing was transcoded."
        )


class _Watchdog(threading.Thread):
    def __init__(self, process: subprocess.Popen, timeout: float, cancelled) -> None:
        super().__init__(daemon=True)
        self.process = process
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.cancelled = cancelled
        self.reason = ""
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(0.2):
            if time.monotonic() > self.deadline:
                self.reason = (
                    f"ffmpeg ran longer than the {self.timeout:g} s job timeout "
                    "and was stopped."
                )
            elif self.cancelled():
                self.reason = "The transcoder was stopped before the job finished."
            else:
                continue
            _kill(self.process)
            return

    def stop(self) -> None:
        self._stopped.set()


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, 9)
    except (ProcessLookupError, PermissionError):
        pass


def _readable_reason(stderr_lines: list[str], returncode: int) -> str:
    lines = [line.strip() for line in stderr_lines if line.strip()]
    if returncode < 0:
        return f"ffmpeg was killed by signal {-returncode}."
    if not lines:
        return f"ffmpeg failed with exit code {returncode}."
    # The last lines repeat the generic failure; the first error names the cause.
    generic = ("Conversion failed", "Error opening output files")
    meaningful = [line for line in lines if not line.startswith(generic)]
    reason = FFMPEG_LOG_CONTEXT.sub("", (meaningful or lines)[0])
    return reason if len(reason) <= 300 else reason[:300] + "..."
