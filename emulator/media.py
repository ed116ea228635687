"""Probing media files for getFileDetail and for the worker.

Probing runs PyAV (the FFmpeg libraries) in a long-lived child process,
`python -m emulator.media`, that answers one JSON line for each JSON line
it reads. A file that makes a decoder crash or hang only costs that child:
the caller gets an `errorMessage` and the next probe starts a new child.
The child is a fresh interpreter started with subprocess, so, unlike a
multiprocessing pool, it never imports the caller's `__main__` again.

The answer is a SoftLayer_Container_Network_Media_Information dict.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("emulator.media")

PROBE_TIMEOUT_SECONDS = 20.0
# Frames are counted by reading the whole file, within this budget;
# beyond it they are estimated from the frame rate and duration.
COUNTING_SECONDS = 3.0
# Packets fed to a decoder to see a first frame; a stream is only called
# undecodable when all of its packets were tried.
DECODE_ATTEMPT_PACKETS = 300
CHANNEL_MODES = {1: "mono", 2: "stereo", 6: "5.1"}
# ISO base media files all open as "QuickTime / MOV"; the major brand says which.
BRAND_FORMATS = {
    "isom": "MPEG-4 Part 14 (MP4)",
    "iso2": "MPEG-4 Part 14 (MP4)",
    "mp41": "MPEG-4 Part 14 (MP4)",
    "mp42": "MPEG-4 Part 14 (MP4)",
    "avc1": "MPEG-4 Part 14 (MP4)",
    "qt  ": "QuickTime / MOV",
    "M4V ": "Apple MPEG-4 video (M4V)",
    "M4A ": "Apple MPEG-4 audio (M4A)",
    "f4v ": "Flash F4V",
    "3gp4": "3GPP",
    "3gp5": "3GPP",
    "3gp6": "3GPP",
    "3g2a": "3GPP2",
}
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Prober:
    """Probes files in one warm child process, replaced when it dies or hangs."""

    def __init__(self, timeout: float = PROBE_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout
        self._child: subprocess.Popen | None = None
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()

    @property
    def child_pid(self) -> int | None:
        child = self._child
        return child.pid if child is not None and child.poll() is None else None

    def probe(self, path: Path, shown_name: str) -> dict[str, Any]:
        request = json.dumps({"path": str(path), "file": shown_name}) + "\n"
        with self._lock:
            try:
                child = self._running_child()
                child.stdin.write(request)
                child.stdin.flush()
                answer = self._answers.get(timeout=self.timeout)
            except queue.Empty:
                log.warning("probing %s took over %g s; prober restarted", shown_name,
                            self.timeout)
                self._stop_child(graceful=False)
                return _failure(path, shown_name, "Probing the file took too long.")
            except OSError:
                answer = None
            if answer is None:
                log.warning("the media prober died probing %s; it will be restarted",
                            shown_name)
                self._stop_child(graceful=False)
                return _failure(path, shown_name, "The media prober crashed on this file.")
        return json.loads(answer)

    def close(self) -> None:
        with self._lock:
            self._stop_child()

    def _running_child(self) -> subprocess.Popen:
        if self._child is not None and self._child.poll() is None:
            return self._child
        self._stop_child()
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(PROJECT_ROOT), environment.get("PYTHONPATH", "")])
        )
        child = subprocess.Popen(
            [sys.executable, "-m", "emulator.media"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=environment,
            start_new_session=True,
        )
        # Each child has its own queue: a late answer of a replaced child is never read.
        self._answers = queue.Queue()
        threading.Thread(
            target=_forward_answers, args=(child.stdout, self._answers), daemon=True,
            name="prober-answers",
        ).start()
        threading.Thread(
            target=_log_errors, args=(child.stderr,), daemon=True, name="prober-errors",
        ).start()
        self._child = child
        log.debug("media prober started pid=%s", child.pid)
        return child

    def _stop_child(self, graceful: bool = True) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        try:
            child.stdin.close()
        except OSError:
            pass
        try:
            child.wait(timeout=1 if graceful else 0)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=5)


def _forward_answers(stream: IO[str], answers: queue.Queue) -> None:
    for line in stream:
        answers.put(line)
    answers.put(None)


def _log_errors(stream: IO[str]) -> None:
    for line in stream:
        log.debug("prober: %s", line.rstrip())


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
        info["fileFormat"] = _file_format(container)
        video = next(iter(container.streams.video), None)
        audio = next(iter(container.streams.audio), None)
        if video is None and audio is None:
            info["errorMessage"] = "The file holds no audio or video stream."
            return info
        reading = _read_packets(container, video, audio)
        info.update(_duration(container, reading))
        if video is not None:
            info.update(_video_fields(video, reading, info.get("duration")))
        if audio is not None:
            info.update(_audio_fields(audio, reading, info.get("duration")))
        problem = _content_problem(video, audio, reading)
        if problem:
            info["errorMessage"] = problem
    return info


class _Reading:
    """What one pass over a file's packets found, per stream index."""

    def __init__(self) -> None:
        self.complete = True  # False when the counting budget ran out
        self.packets: dict[int, int] = {}
        self.bytes: dict[int, int] = {}
        self.first: dict[int, float] = {}
        self.last_start: dict[int, float] = {}
        self.last: dict[int, float] = {}  # where the last packet ends
        self.decoded: dict[int, bool] = {}
        self.decode_error: dict[int, str] = {}

    def tried_every_packet(self, index: int) -> bool:
        return self.complete and self.packets[index] <= DECODE_ATTEMPT_PACKETS

    def span(self, index: int) -> float | None:
        if index not in self.first:
            return None
        return self.last[index] - self.first[index]

    def frame_interval_span(self, index: int) -> float | None:
        """From the first packet's start to the last one's: (n - 1) frame intervals."""
        if index not in self.first:
            return None
        return self.last_start[index] - self.first[index]


def _read_packets(container, *streams) -> _Reading:
    wanted = [s for s in streams if s is not None]
    reading = _Reading()
    for stream in wanted:
        reading.packets[stream.index] = 0
        reading.bytes[stream.index] = 0
        reading.decoded[stream.index] = False
    deadline = time.monotonic() + COUNTING_SECONDS
    try:
        for packet in container.demux(wanted):
            if packet.size == 0:
                continue
            _count(reading, packet)
            if time.monotonic() > deadline:
                reading.complete = False
                break
    except Exception as error:  # a damaged file ends the count, not the probe
        reading.complete = False
        log.debug("reading packets stopped: %s", error)
    for stream in wanted:
        if reading.packets[stream.index] and not reading.decoded[stream.index]:
            _flush_decoder(reading, stream)
    return reading


def _count(reading: _Reading, packet) -> None:
    index = packet.stream.index
    reading.packets[index] += 1
    reading.bytes[index] += packet.size
    if packet.pts is not None:
        start = float(packet.pts * packet.stream.time_base)
        end = start + float((packet.duration or 0) * packet.stream.time_base)
        reading.first[index] = min(reading.first.get(index, start), start)
        reading.last_start[index] = max(reading.last_start.get(index, start), start)
        reading.last[index] = max(reading.last.get(index, end), end)
    if not reading.decoded[index] and reading.packets[index] <= DECODE_ATTEMPT_PACKETS:
        try:
            reading.decoded[index] = bool(packet.decode())
        except Exception as error:
            reading.decode_error[index] = _reason(error)


def _flush_decoder(reading: _Reading, stream) -> None:
    try:
        reading.decoded[stream.index] = bool(stream.codec_context.decode(None))
    except Exception as error:
        reading.decode_error.setdefault(stream.index, _reason(error))


def _content_problem(video, audio, reading: _Reading) -> str:
    problems = []
    for kind, stream in (("video", video), ("audio", audio)):
        if stream is None:
            continue
        if reading.packets[stream.index] == 0:
            unit = "frames" if kind == "video" else "samples"
            problems.append(f"The {kind} stream holds no {unit}.")
        elif not reading.decoded[stream.index] and reading.tried_every_packet(stream.index):
            reason = reading.decode_error.get(stream.index, "no frame came out")
            problems.append(f"The {kind} stream could not be decoded: {reason}.")
    return " ".join(problems)


def unusable_streams(error_message: str) -> set[str]:
    """"video", "audio": the streams a probe's errorMessage calls empty or undecodable."""
    return {kind for kind in ("video", "audio") if f"The {kind} stream " in error_message}


def _file_format(container) -> str:
    brand = container.metadata.get("major_brand", "")
    if container.format.name.startswith("mov,") and brand in BRAND_FORMATS:
        return BRAND_FORMATS[brand]
    return container.format.long_name or container.format.name


def _duration(container, reading: _Reading) -> dict[str, Any]:
    import av

    if container.duration is not None and container.duration > 0:
        return {"duration": round(container.duration / av.time_base, 3)}
    spans = [reading.span(i) for i in reading.packets if reading.span(i)]
    return {"duration": round(max(spans), 3)} if spans and reading.complete else {}


def _video_fields(stream, reading: _Reading, duration: float | None) -> dict[str, Any]:
    codec = stream.codec_context
    fields: dict[str, Any] = {"videoCodec": codec.codec.canonical_name}
    if codec.width and codec.height:
        fields["sizeX"], fields["sizeY"] = codec.width, codec.height
        aspect = Fraction(codec.width, codec.height)
        if codec.sample_aspect_ratio:
            aspect *= Fraction(codec.sample_aspect_ratio)
        fields["videoAspectX"] = float(aspect.numerator)
        fields["videoAspectY"] = float(aspect.denominator)

    frames = reading.packets[stream.index]
    rate = _frame_rate(stream, frames, reading.frame_interval_span(stream.index))
    if rate:
        fields["frameRate"] = round(rate, 3)
    if reading.complete:
        fields["totalFrames"] = frames
    elif stream.frames:
        fields["totalFrames"] = stream.frames
    elif rate and duration:
        fields["totalFrames"] = int(round(rate * duration))

    bitrate = codec.bit_rate or _measured_bitrate(reading, stream.index, duration)
    if bitrate:
        fields["videoBitRate"] = bitrate
    return fields


def _frame_rate(stream, frames: int, intervals: float | None) -> float | None:
    """The container's average rate, unless the packets' timestamps say otherwise."""
    declared = float(stream.average_rate) if stream.average_rate else None
    if frames < 2 or not intervals:
        return declared if declared and declared <= 240 else None
    measured = (frames - 1) / intervals
    if declared and abs(declared - measured) <= 0.01 * measured:
        return declared
    return measured


def _measured_bitrate(reading: _Reading, index: int, duration: float | None) -> int | None:
    seconds = reading.span(index) or duration
    if not reading.complete or not seconds or not reading.bytes.get(index):
        return None
    return int(round(reading.bytes[index] * 8 / seconds))


def _audio_fields(stream, reading: _Reading, duration: float | None) -> dict[str, Any]:
    codec = stream.codec_context
    fields: dict[str, Any] = {"audioCodec": codec.codec.canonical_name}
    bitrate = codec.bit_rate or _measured_bitrate(reading, stream.index, duration)
    if bitrate:
        fields["audioBitRate"] = bitrate
    if codec.sample_rate:
        fields["audioSampleRate"] = codec.sample_rate
    channels = codec.channels if hasattr(codec, "channels") else 0
    if channels:
        fields["audioChannels"] = channels
        fields["audioChannelMode"] = CHANNEL_MODES.get(channels, codec.layout.name)
    return fields


def _reason(error: Exception) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return text.split(":")[0].strip() or type(error).__name__


def serve(requests: IO[str], answers: IO[str]) -> None:
    """The child's loop: one JSON request line in, one JSON answer line out."""
    for line in requests:
        request = json.loads(line)
        try:
            answer = probe_file(request["path"], request["file"])
        except Exception as error:
            answer = {"file": request["file"], "errorMessage": f"Probing failed: {error}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


def main() -> None:
    # Answers get a private copy of stdout; anything a library prints goes to stderr.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    serve(sys.stdin, answers)


if __name__ == "__main__":
    main()
