"""Probing media files for getFileDetail and for the worker.

Probing runs PyAV (the FFmpeg libraries) in a separate process: a file
that makes a decoder misbehave can then only cost that process, never the
server. The answer is a SoftLayer_Container_Network_Media_Information dict.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from fractions import Fraction
from pathlib import Path
from typing import Any

PROBE_TIMEOUT_SECONDS = 20.0
_CHANNEL_MODES = {1: "mono", 2: "stereo"}


class Prober:
    """A pool of one warm probing process, replaced if it ever dies."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def probe(self, path: Path, shown_name: str) -> dict[str, Any]:
        try:
            future = self._executor().submit(probe_file, str(path), shown_name)
            return future.result(timeout=PROBE_TIMEOUT_SECONDS)
        except BrokenProcessPool:
            self._reset()
            return _failure(path, shown_name, "The media prober crashed on this file.")
        except TimeoutError:
            self._reset()
            return _failure(path, shown_name, "Probing the file took too long.")

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
            return self._pool

    def _reset(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _failure(path: Path, shown_name: str, message: str) -> dict[str, Any]:
    info: dict[str, Any] = {"file": shown_name, "errorMessage": message}
    try:
        info["fileSize"] = path.stat().st_size
    except OSError:
        pass
    return info


def probe_file(path: str, shown_name: str) -> dict[str, Any]:
    """Media information of one file; runs inside the probing process."""
    import av

    info: dict[str, Any] = {"file": shown_name, "fileSize": Path(path).stat().st_size}
    try:
        container = av.open(path)
    except (av.FFmpegError, EOFError, OSError, ValueError) as error:
        info["errorMessage"] = f"Not readable as media: {_reason(error)}"
        return info

    with container:
        info["fileFormat"] = container.format.long_name or container.format.name
        if container.duration is not None:
            info["duration"] = round(container.duration / av.time_base, 3)
        video = next((s for s in container.streams.video), None)
        audio = next((s for s in container.streams.audio), None)
        if video is not None:
            info.update(_video_fields(video, info.get("duration")))
        if audio is not None:
            info.update(_audio_fields(audio))
        if video is None and audio is None:
            info["errorMessage"] = "The file holds no audio or video stream."
    return info


def _video_fields(stream, duration: float | None) -> dict[str, Any]:
    codec = stream.codec_context
    fields: dict[str, Any] = {"videoCodec": codec.name}
    if codec.width and codec.height:
        fields["sizeX"], fields["sizeY"] = codec.width, codec.height
        aspect = Fraction(codec.width, codec.height)
        sample_aspect = codec.sample_aspect_ratio
        if sample_aspect:
            aspect *= Fraction(sample_aspect)
        fields["videoAspectX"] = float(aspect.numerator)
        fields["videoAspectY"] = float(aspect.denominator)
    rate = stream.average_rate or stream.guessed_rate
    if rate:
        fields["frameRate"] = round(float(rate), 3)
    if stream.frames:
        fields["totalFrames"] = stream.frames
    elif rate and duration:
        fields["totalFrames"] = int(round(float(rate) * duration))
    if codec.bit_rate:
        fields["videoBitRate"] = codec.bit_rate
    return fields


def _audio_fields(stream) -> dict[str, Any]:
    codec = stream.codec_context
    fields: dict[str, Any] = {"audioCodec": codec.name}
    if codec.bit_rate:
        fields["audioBitRate"] = codec.bit_rate
    if codec.sample_rate:
        fields["audioSampleRate"] = codec.sample_rate
    channels = codec.channels if hasattr(codec, "channels") else 0
    if channels:
        fields["audioChannels"] = channels
        fields["audioChannelMode"] = _CHANNEL_MODES.get(channels, codec.layout.name)
    return fields


def _reason(error: Exception) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return text.split(":")[0].strip() or type(error).__name__
