"""Real media for tests, made with the same ffmpeg the emulator runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from emulator.transcode import find_ffmpeg

SHARED_MEDIA = Path(__file__).resolve().parent.parent.parent / "shared" / "media"


def make_clip(
    path: Path,
    seconds: float = 3,
    size: str = "320x240",
    rate: int = 25,
    video_codec: str = "wmv2",
    audio_codec: str | None = "wmav2",
    container: str | None = None,
) -> Path:
    """A test pattern with a 440 Hz tone, encoded as asked."""
    command = [
        find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}",
    ]
    if audio_codec:
        command += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}"]
    command += ["-c:v", video_codec]
    command += ["-c:a", audio_codec] if audio_codec else ["-an"]
    if container:
        command += ["-f", container]
    command.append(str(path))
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return path


def make_tone(path: Path, seconds: float = 2, codec: str = "libmp3lame") -> Path:
    command = [
        find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}",
        "-c:a", codec, str(path),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    return path


def probe(path: Path) -> dict:
    """Container, streams and their settings, read back with PyAV."""
    import av

    with av.open(str(path)) as container:
        result: dict = {
            "format": container.format.name,
            "duration": container.duration / av.time_base if container.duration else None,
        }
        for stream in container.streams:
            codec = stream.codec_context
            if stream.type == "video":
                result["video"] = {
                    "codec": codec.name,
                    "width": codec.width,
                    "height": codec.height,
                    "fps": float(stream.average_rate) if stream.average_rate else None,
                    "bit_rate": codec.bit_rate,
                }
            elif stream.type == "audio":
                result["audio"] = {
                    "codec": codec.name,
                    "sample_rate": codec.sample_rate,
                    "channels": codec.channels,
                    "bit_rate": codec.bit_rate,
                }
    return result
