"""Reading a transcoded file back and comparing it with what its preset declares.

`read_output` demuxes the whole file with PyAV (outputs in tests are tiny)
and measures what the headers do not say: the frame rate from packet
timestamps, bit rates from packet sizes, the bit rate x264 and x265 record
in their stream, the AMR mode of each frame. `mismatches` lists every
declared property the file does not have.

Video bit rates are exact where the encoder records its target (x264,
x265) or the format fixes the frame size (DNxHD). Other encoders' measured
rates are only compared when the caller gives bounds: on a half-second clip
the first key frame outweighs everything rate control does, so the sweep
leaves them to a test with longer clips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av

from emulator import codecs
from emulator.presets import Preset
from emulator.transcode import output_pixel_format, sample_aspect

if TYPE_CHECKING:
    from PIL import Image

# x264 and x265 write their settings into the stream, the target bit rate included.
RECORDED_BITRATE = re.compile(rb"bitrate=(\d+)")
AMR_MODE_BITRATES = (4750, 5150, 5900, 6700, 7400, 7950, 10200, 12200)
FIXED_VIDEO_BITRATE = (0.95, 1.05)  # DNxHD: every frame has the same size
ABR_AUDIO_BITRATE = (0.6, 1.5)


@dataclass
class VideoTrack:
    codec: str
    width: int
    height: int
    sample_aspect: Fraction
    profile: str | None
    pixel_format: str
    packets: int = 0
    bytes: int = 0
    pts: list[Fraction] = field(default_factory=list)
    recorded_bitrate: int | None = None

    @property
    def measured_fps(self) -> float | None:
        if len(self.pts) < 2:
            return None
        times = sorted(self.pts)
        return (len(times) - 1) / float(times[-1] - times[0])


@dataclass
class AudioTrack:
    codec: str
    sample_rate: int
    channels: int
    header_bitrate: int | None
    packets: int = 0
    bytes: int = 0
    duration: float = 0.0
    amr_modes: set[int] = field(default_factory=set)


@dataclass
class Output:
    format: str
    brand: str
    video: VideoTrack | None
    audio: AudioTrack | None


def read_output(path: Path) -> Output:
    head = path.read_bytes()[:12]
    brand = head[8:12].decode("latin-1") if head[4:8] == b"ftyp" else ""
    with av.open(str(path)) as container:
        video_stream = next(iter(container.streams.video), None)
        audio_stream = next(iter(container.streams.audio), None)
        video = _video_track(video_stream) if video_stream is not None else None
        audio = _audio_track(audio_stream) if audio_stream is not None else None
        for packet in container.demux():
            if packet.size == 0:
                continue
            if video is not None and packet.stream is video_stream:
                _add_video_packet(video, packet, video_stream)
            elif audio is not None and packet.stream is audio_stream:
                _add_audio_packet(audio, packet)
        if video is not None and video.recorded_bitrate is None:
            extradata = video_stream.codec_context.extradata or b""
            found = RECORDED_BITRATE.search(extradata)
            video.recorded_bitrate = int(found.group(1)) * 1000 if found else None
        return Output(container.format.name, brand, video, audio)


def _video_track(stream) -> VideoTrack:
    context = stream.codec_context
    sar = context.sample_aspect_ratio
    return VideoTrack(
        codec=context.codec.canonical_name,
        width=context.width,
        height=context.height,
        sample_aspect=Fraction(sar) if sar else Fraction(1),
        profile=context.profile,
        pixel_format=context.format.name if context.format else "",
    )


def _add_video_packet(video: VideoTrack, packet, stream) -> None:
    video.packets += 1
    video.bytes += packet.size
    if packet.pts is not None:
        video.pts.append(packet.pts * stream.time_base)
    if video.recorded_bitrate is None and video.packets <= 2:
        found = RECORDED_BITRATE.search(bytes(packet))
        if found:
            video.recorded_bitrate = int(found.group(1)) * 1000


def _add_audio_packet(audio: AudioTrack, packet) -> None:
    audio.packets += 1
    audio.bytes += packet.size
    if audio.codec == "amr_nb":
        audio.amr_modes.add((bytes(packet)[0] >> 3) & 0x0F)
    # Decoded samples give the duration; Ogg timestamps do not.
    for frame in packet.decode():
        audio.duration += frame.samples / frame.sample_rate


def _audio_track(stream) -> AudioTrack:
    context = stream.codec_context
    return AudioTrack(
        codec=context.codec.canonical_name,
        sample_rate=context.sample_rate,
        channels=context.channels,
        header_bitrate=context.bit_rate or None,
    )


def mismatches(
    preset: Preset, output: Output, video_bitrate_bounds: tuple[float, float] | None = None
) -> list[str]:
    """Every declared property of `preset` that `output` lacks, in words."""
    box = codecs.container(preset.container)
    found: list[str] = []
    if output.format not in box.demuxers:
        found.append(f"container {output.format}, expected one of {box.demuxers}")
    if box.brand:
        expected = box.audio_brand if preset.video is None and box.audio_brand else box.brand
        if not output.brand.startswith(expected):
            found.append(f"brand {output.brand!r}, expected {expected!r}")

    if preset.video is None and output.video is not None:
        found.append("a video stream in an audio preset's output")
    elif preset.video is not None:
        found += _video_mismatches(preset, output.video, video_bitrate_bounds)
    if preset.audio is None and output.audio is not None:
        found.append(f"an audio stream ({output.audio.codec}) the preset does not declare")
    elif preset.audio is not None:
        found += _audio_mismatches(preset, output.audio)
    return found


def _video_mismatches(
    preset: Preset, track: VideoTrack | None, bitrate_bounds: tuple[float, float] | None
) -> list[str]:
    video = preset.video
    if track is None:
        return ["no video stream"]
    found = []
    if track.codec != video.codec:
        found.append(f"video codec {track.codec}, expected {video.codec}")
    if (track.width, track.height) != (video.width, video.height):
        found.append(f"frame {track.width}x{track.height}, expected {video.size}")
    expected_sar = sample_aspect(video)
    if abs(float(track.sample_aspect) - float(expected_sar)) > 0.01 * float(expected_sar):
        found.append(f"pixel aspect {track.sample_aspect}, expected {expected_sar}")
    found += _profile_and_format_mismatches(video, track)

    if preset.kind == "image":
        if track.packets != 1:
            found.append(f"{track.packets} frames in a still image")
        return found
    fps = track.measured_fps
    if fps is None or abs(fps - video.fps) > 0.01 * video.fps:
        found.append(f"frame rate {fps}, expected {video.fps:g}")
    found += _video_bitrate_mismatches(video, track, bitrate_bounds)
    return found


def _profile_and_format_mismatches(video, track: VideoTrack) -> list[str]:
    found = []
    codec = codecs.video_codec(video.codec)
    profile = codec.profiles.get(video.profile)
    if profile is not None and track.profile not in profile.probed:
        found.append(f"profile {track.profile}, expected {profile.label}")
    # The ProRes decoder widens 4444 to 12 bits and GIF decodes to RGB.
    if video.codec not in ("prores", "gif"):
        expected = output_pixel_format(video)
        if expected and track.pixel_format != expected:
            found.append(f"pixel format {track.pixel_format}, expected {expected}")
    return found


def _video_bitrate_mismatches(
    video, track: VideoTrack, bounds: tuple[float, float] | None
) -> list[str]:
    if not video.bitrate:
        return []
    if track.recorded_bitrate is not None:
        if track.recorded_bitrate != video.bitrate:
            return [f"encoder target {track.recorded_bitrate} b/s, expected {video.bitrate}"]
        return []
    if codecs.video_codec(video.codec).formats:
        bounds = FIXED_VIDEO_BITRATE
    if bounds is None:
        return []
    measured = measured_video_bitrate(track, video.fps)
    low, high = bounds
    if not low <= measured / video.bitrate <= high:
        return [f"video at {measured:.0f} b/s, expected {video.bitrate} "
                f"(x{low:g} to x{high:g})"]
    return []


def measured_video_bitrate(track: VideoTrack, fps: float) -> float:
    return track.bytes * 8 / (track.packets / fps)


def _audio_mismatches(preset: Preset, track: AudioTrack | None) -> list[str]:
    audio = preset.audio
    if track is None:
        return ["no audio stream"]
    found = []
    if track.codec != audio.codec:
        found.append(f"audio codec {track.codec}, expected {audio.codec}")
    if track.sample_rate != audio.sample_rate:
        found.append(f"sample rate {track.sample_rate}, expected {audio.sample_rate}")
    if track.channels != audio.channels:
        found.append(f"{track.channels} channels, expected {audio.channels}")
    found += _audio_bitrate_mismatches(audio, track)
    return found


def _audio_bitrate_mismatches(audio, track: AudioTrack) -> list[str]:
    codec = codecs.audio_codec(audio.codec)
    expected = audio.effective_bitrate
    if not expected:
        return []
    if audio.codec == "amr_nb":
        modes = {AMR_MODE_BITRATES[m] for m in track.amr_modes if m < len(AMR_MODE_BITRATES)}
        return [] if modes == {expected} else [f"AMR modes {sorted(modes)}, expected {expected}"]
    if codec.bitrate_table or codec.bits_per_sample or audio.codec == "wmav2":
        if track.header_bitrate is None or abs(track.header_bitrate - expected) > 0.02 * expected:
            return [f"audio at {track.header_bitrate} b/s, expected {expected}"]
        return []
    if not track.duration:
        return ["no audio duration to measure a bit rate over"]
    measured = track.bytes * 8 / track.duration
    low, high = ABR_AUDIO_BITRATE
    if not low <= measured / expected <= high:
        return [f"audio at {measured:.0f} b/s, expected {expected} (x{low:g} to x{high:g})"]
    return []


def decoded_frames(path: Path) -> list[tuple[float, "Image.Image"]]:
    """Every video frame of a (tiny) file as (seconds, RGB Pillow image)."""
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            seconds = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
            frames.append((seconds, frame.to_image().convert("RGB")))
    return frames


def frame_at(path: Path, seconds: float) -> "Image.Image":
    """The decoded frame shown at `seconds`."""
    frames = decoded_frames(path)
    shown = [image for start, image in frames if start <= seconds + 1e-6]
    return shown[-1] if shown else frames[0][1]
