"""What each codec and container can hold: the rules every preset obeys.

The catalog checks each preset against these rules when it loads, so a
preset that ffmpeg cannot produce, or that would produce something other
than what it declares (an H.263 frame size the standard lacks, AMR at
44.1 kHz, MP3 at a rate FLV cannot carry), is refused with a readable
reason instead of failing every job that uses it. getPresetDetail takes
its option lists from the same rules.

Codec names are FFmpeg's (what a probe of the output reports), not the
names of the encoders that produce them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

# The 19 frame rates offered wherever a codec takes any rate.
FRAME_RATES = (
    5.0, 6.0, 7.5, 8.0, 10.0, 12.0, 12.5, 14.985, 15.0, 20.0,
    23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0,
)
# The frame_rate_code table of MPEG-1 and MPEG-2 video.
MPEG_FRAME_RATES = (23.976, 24.0, 25.0, 29.97, 30.0, 50.0, 59.94, 60.0)
# A GIF frame lasts a whole number of hundredths of a second.
GIF_FRAME_RATES = (5.0, 10.0, 12.5, 20.0, 25.0, 50.0)
# NTSC-family rates are ratios with 1001; the decimal is only their label.
NTSC_RATES = {
    14.985: Fraction(15000, 1001),
    23.976: Fraction(24000, 1001),
    29.97: Fraction(30000, 1001),
    47.952: Fraction(48000, 1001),
    59.94: Fraction(60000, 1001),
}
SAMPLE_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
H263_SIZES = ((128, 96), (176, 144), (352, 288), (704, 576), (1408, 1152))
MP3_MPEG1_BITRATES = tuple(k * 1000 for k in (
    32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320))
MPEG2_LSF_BITRATES = tuple(k * 1000 for k in (
    8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160))
MP2_BITRATES = tuple(k * 1000 for k in (
    32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384))
AC3_BITRATES = tuple(k * 1000 for k in (
    32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512,
    576, 640))
AMR_NB_BITRATES = (4750, 5150, 5900, 6700, 7400, 7950, 10200, 12200)


def frame_rate_fraction(fps: float) -> Fraction:
    """The exact rate behind a label: 29.97 is 30000/1001, 12.5 is 25/2."""
    return NTSC_RATES.get(round(fps, 3), Fraction(fps).limit_denominator(1001))


@dataclass(frozen=True)
class Profile:
    label: str  # how people name it: "Main", "422 HQ"
    encoder_value: str  # what the encoder's -profile:v takes
    probed: tuple[str, ...]  # what a probe of the output calls it
    pixel_format: str = ""  # the pixel format the profile needs, if not the codec's


@dataclass(frozen=True)
class FixedFormat:
    """One combination a format-bound codec (DNxHD, DV) accepts, and no other."""

    width: int
    height: int
    frame_rates: tuple[float, ...]
    bitrate: int  # bits per second; 0 where the format fixes no declared rate
    pixel_format: str
    label: str = ""


@dataclass(frozen=True)
class VideoCodec:
    name: str
    label: str
    encoder: str
    pixel_format: str = "yuv420p"
    sizes: tuple[tuple[int, int], ...] = ()  # empty: any even size
    frame_rates: tuple[float, ...] = ()  # empty: any of FRAME_RATES
    max_frame_rate: float = 60.0
    pixel_aspect: Fraction | None = None  # a pixel shape the bitstream always signals
    profiles: dict[str, Profile] = field(default_factory=dict)
    formats: tuple[FixedFormat, ...] = ()
    bitrate_driven: bool = True  # False: quality-driven or fixed by the format
    rate_control: bool = True  # honours minrate, maxrate and bufsize
    # FFmpeg's own MPEG-family encoders drift far above the target unless told
    # how far they may stray from it.
    needs_tolerance: bool = False
    encoder_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AudioCodec:
    name: str
    label: str
    encoder: str
    sample_rates: tuple[int, ...] = SAMPLE_RATES
    channels: tuple[int, ...] = (1, 2)
    # (sample rates, the bit rates allowed at them); empty: any bit rate
    bitrate_table: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = ()
    bitrate_driven: bool = True  # False: lossless or PCM, the rate follows
    bits_per_sample: int = 0  # PCM: bit rate = sample rate x bits x channels
    encoder_options: dict[str, Any] = field(default_factory=dict)

    def allowed_bitrates(self, sample_rate: int) -> tuple[int, ...]:
        for rates, bitrates in self.bitrate_table:
            if sample_rate in rates:
                return bitrates
        return ()


@dataclass(frozen=True)
class Container:
    muxer: str
    label: str
    video_codecs: tuple[str, ...]
    audio_codecs: tuple[str, ...]
    demuxers: tuple[str, ...]  # the format names a probe of the output may report
    brand: str = ""  # ISO base media files: the major brand written
    audio_brand: str = ""  # the major brand when the file holds no video, if other
    # codec -> the sample rates this container can carry it at
    audio_sample_rates: dict[str, tuple[int, ...]] = field(default_factory=dict)
    audio_channels: tuple[int, ...] = ()
    output_options: dict[str, Any] = field(default_factory=dict)


_H264_PROFILES = {
    "baseline": Profile("Baseline", "baseline", ("Baseline", "Constrained Baseline")),
    "main": Profile("Main", "main", ("Main",)),
    "high": Profile("High", "high", ("High",)),
}
_HEVC_PROFILES = {
    "main": Profile("Main", "main", ("Main",)),
    "main10": Profile("Main 10", "main10", ("Main 10",), "yuv420p10le"),
}
_PRORES_PROFILES = {
    "proxy": Profile("422 Proxy", "0", ("Proxy",)),
    "lt": Profile("422 LT", "1", ("LT",)),
    "standard": Profile("422", "2", ("Standard",)),
    "hq": Profile("422 HQ", "3", ("HQ",)),
    "4444": Profile("4444", "4", ("4444",), "yuva444p10le"),
}


def _dnxhd(width: int, height: int, rates: tuple[float, ...], *mbps: int | str) -> tuple:
    """DNxHD bit rates of one frame size and rate family; "175x" is the 10-bit one."""
    formats = []
    for rate in mbps:
        ten_bit = isinstance(rate, str)
        bits = int(str(rate).rstrip("x")) * 1_000_000
        formats.append(FixedFormat(
            width, height, rates, bits,
            "yuv422p10le" if ten_bit else "yuv422p",
            f"DNxHD {rate}",
        ))
    return tuple(formats)


# Avid's DNxHD family: each frame size and rate has its own bit rates.
DNXHD_FORMATS = (
    *_dnxhd(1920, 1080, (23.976, 24.0), 36, 115, 175, "175x"),
    *_dnxhd(1920, 1080, (25.0,), 36, 120, 185, "185x"),
    *_dnxhd(1920, 1080, (29.97,), 45, 145, 220),
    *_dnxhd(1280, 720, (23.976, 24.0), 60, 90),
    *_dnxhd(1280, 720, (29.97,), 75, 110),
    *_dnxhd(1280, 720, (50.0,), 120),
    *_dnxhd(1280, 720, (59.94,), 145, 220, "220x"),
)
DV_FORMATS = (
    FixedFormat(720, 480, (29.97,), 0, "yuv411p", "DV NTSC"),
    FixedFormat(720, 576, (25.0,), 0, "yuv420p", "DV PAL"),
)

VIDEO_CODECS: dict[str, VideoCodec] = {c.name: c for c in (
    VideoCodec("h264", "H.264", "libx264", profiles=_H264_PROFILES,
               encoder_options={"preset": "veryfast"}),
    VideoCodec("hevc", "H.265 / HEVC", "libx265", profiles=_HEVC_PROFILES,
               encoder_options={"preset": "superfast", "x265-params": "log-level=error"}),
    VideoCodec("mpeg4", "MPEG-4 Part 2", "mpeg4", needs_tolerance=True),
    # Baseline H.263 pictures always have CIF's 12:11 pixels: 176x144 shows as 4:3.
    VideoCodec("h263", "H.263", "h263", sizes=H263_SIZES, max_frame_rate=30.0,
               pixel_aspect=Fraction(12, 11), needs_tolerance=True),
    VideoCodec("flv1", "Sorenson Spark (H.263 for Flash)", "flv", needs_tolerance=True),
    VideoCodec("wmv2", "Windows Media Video 8", "wmv2", needs_tolerance=True),
    VideoCodec("vp8", "VP8", "libvpx",
               encoder_options={"deadline": "realtime", "cpu-used": 8}),
    VideoCodec("vp9", "VP9", "libvpx-vp9", rate_control=False,
               encoder_options={"deadline": "realtime", "cpu-used": 8, "row-mt": 1}),
    VideoCodec("theora", "Theora", "libtheora", rate_control=False),
    VideoCodec("mpeg1video", "MPEG-1 Video", "mpeg1video", frame_rates=MPEG_FRAME_RATES,
               needs_tolerance=True),
    VideoCodec("mpeg2video", "MPEG-2 Video", "mpeg2video", frame_rates=MPEG_FRAME_RATES,
               needs_tolerance=True),
    VideoCodec("prores", "Apple ProRes", "prores_aw", pixel_format="yuv422p10le",
               profiles=_PRORES_PROFILES, bitrate_driven=False, rate_control=False,
               encoder_options={"vendor": "apl0"}),
    VideoCodec("dnxhd", "Avid DNxHD", "dnxhd", pixel_format="yuv422p",
               formats=DNXHD_FORMATS, rate_control=False),
    VideoCodec("dvvideo", "DV", "dvvideo", pixel_format="yuv411p", formats=DV_FORMATS,
               bitrate_driven=False, rate_control=False),
    VideoCodec("mjpeg", "Motion JPEG (Photo-JPEG)", "mjpeg", pixel_format="yuvj420p",
               bitrate_driven=False, rate_control=False,
               encoder_options={"q:v": 3}),
    VideoCodec("gif", "GIF", "gif", pixel_format="", frame_rates=GIF_FRAME_RATES,
               bitrate_driven=False, rate_control=False),
    VideoCodec("png", "PNG", "png", pixel_format="rgb24", bitrate_driven=False,
               rate_control=False),
)}

AUDIO_CODECS: dict[str, AudioCodec] = {c.name: c for c in (
    AudioCodec("aac", "AAC-LC", "aac", channels=(1, 2, 6)),
    AudioCodec("mp3", "MP3", "libmp3lame", bitrate_table=(
        ((32000, 44100, 48000), MP3_MPEG1_BITRATES),
        ((8000, 11025, 12000, 16000, 22050, 24000), MPEG2_LSF_BITRATES),
    )),
    AudioCodec("mp2", "MPEG-1 Layer II", "mp2", bitrate_table=(
        ((32000, 44100, 48000), MP2_BITRATES),
        ((16000, 22050, 24000), MPEG2_LSF_BITRATES),
    ), sample_rates=(16000, 22050, 24000, 32000, 44100, 48000)),
    AudioCodec("wmav2", "Windows Media Audio 2", "wmav2"),
    AudioCodec("vorbis", "Vorbis", "libvorbis", channels=(1, 2, 6)),
    AudioCodec("opus", "Opus", "libopus", sample_rates=(48000,)),
    AudioCodec("flac", "FLAC", "flac", bitrate_driven=False, channels=(1, 2, 6),
               encoder_options={"sample_fmt": "s16"}),
    AudioCodec("pcm_s16le", "PCM 16-bit", "pcm_s16le", bitrate_driven=False,
               bits_per_sample=16, channels=(1, 2, 6)),
    AudioCodec("pcm_s24le", "PCM 24-bit", "pcm_s24le", bitrate_driven=False,
               bits_per_sample=24, channels=(1, 2, 6)),
    AudioCodec("pcm_mulaw", "G.711 mu-law", "pcm_mulaw", bitrate_driven=False,
               bits_per_sample=8, sample_rates=(8000,), channels=(1,)),
    AudioCodec("ac3", "Dolby Digital (AC-3)", "ac3", sample_rates=(32000, 44100, 48000),
               channels=(1, 2, 6), bitrate_table=(((32000, 44100, 48000), AC3_BITRATES),)),
    AudioCodec("amr_nb", "AMR-NB", "libopencore_amrnb", sample_rates=(8000,),
               channels=(1,), bitrate_table=(((8000,), AMR_NB_BITRATES),)),
)}

_MP4_FAMILY = ("mov,mp4,m4a,3gp,3g2,mj2",)
_MPEG_PS_VIDEO = ("mpeg1video", "mpeg2video")

CONTAINERS: dict[str, Container] = {c.muxer: c for c in (
    Container("flv", "Flash Video (FLV)", ("flv1", "h264"), ("mp3", "aac"), ("flv",),
              audio_sample_rates={"mp3": (11025, 22050, 44100)}),
    Container("f4v", "Flash F4V", ("h264",), ("aac", "mp3"), _MP4_FAMILY, brand="f4v "),
    Container("mp4", "MP4 (MPEG-4 Part 14)", ("h264", "hevc", "mpeg4"),
              ("aac", "mp3", "ac3", "opus"), _MP4_FAMILY, brand="isom",
              output_options={"movflags": "+faststart"}),
    Container("ipod", "Apple MPEG-4 (M4V/M4A)", ("h264",), ("aac",), _MP4_FAMILY,
              brand="M4V ", audio_brand="M4A ", output_options={"movflags": "+faststart"}),
    Container("mov", "QuickTime (MOV)",
              ("h264", "hevc", "mpeg4", "prores", "dnxhd", "dvvideo", "mjpeg"),
              ("aac", "pcm_s16le", "pcm_s24le"), _MP4_FAMILY, brand="qt  "),
    Container("3gp", "3GPP", ("h263", "mpeg4", "h264"), ("amr_nb", "aac"), _MP4_FAMILY,
              brand="3gp"),
    Container("3g2", "3GPP2", ("h263", "mpeg4", "h264"), ("amr_nb", "aac"), _MP4_FAMILY,
              brand="3g2"),
    Container("asf", "Advanced Systems Format (ASF)", ("wmv2",), ("wmav2",), ("asf",)),
    Container("webm", "WebM", ("vp8", "vp9"), ("vorbis", "opus"), ("matroska,webm",)),
    Container("matroska", "Matroska (MKV)", ("h264", "hevc", "vp9"),
              ("aac", "opus", "ac3", "flac"), ("matroska,webm",)),
    Container("ogg", "Ogg", ("theora",), ("vorbis", "opus", "flac"), ("ogg",)),
    Container("opus", "Ogg Opus", (), ("opus",), ("ogg",)),
    Container("vcd", "Video CD (MPEG-1 system stream)", ("mpeg1video",), ("mp2",), ("mpeg",),
              audio_sample_rates={"mp2": (44100,)}),
    Container("svcd", "Super Video CD (MPEG-2 program stream)", ("mpeg2video",), ("mp2",),
              ("mpeg",), audio_sample_rates={"mp2": (44100,)}),
    Container("dvd", "DVD-Video (MPEG-2 program stream)", ("mpeg2video",), ("ac3", "mp2"),
              ("mpeg",), audio_sample_rates={"ac3": (48000,), "mp2": (48000,)}),
    Container("mpeg", "MPEG program stream", _MPEG_PS_VIDEO, ("mp2", "ac3"), ("mpeg",)),
    Container("mpegts", "MPEG transport stream", ("mpeg2video", "h264", "hevc"),
              ("mp2", "ac3", "aac"), ("mpegts",)),
    Container("dv", "Raw DV", ("dvvideo",), ("pcm_s16le",), ("dv",),
              audio_sample_rates={"pcm_s16le": (32000, 44100, 48000)}, audio_channels=(2,)),
    Container("mp3", "MP3", (), ("mp3",), ("mp3",)),
    Container("adts", "AAC (ADTS)", (), ("aac",), ("aac",)),
    Container("wav", "WAV", (), ("pcm_s16le", "pcm_s24le", "pcm_mulaw"), ("wav",)),
    Container("flac", "FLAC", (), ("flac",), ("flac",)),
    Container("ac3", "AC-3", (), ("ac3",), ("ac3",)),
    Container("amr", "AMR", (), ("amr_nb",), ("amr",)),
    Container("gif", "GIF", ("gif",), (), ("gif",)),
    Container("image2", "Still image", ("mjpeg", "png"), (),
              ("image2", "jpeg_pipe", "png_pipe"), output_options={"update": 1}),
)}


def video_codec(name: str) -> VideoCodec:
    codec = VIDEO_CODECS.get(name)
    if codec is None:
        raise ValueError(f"unknown video codec {name!r}; known: {', '.join(VIDEO_CODECS)}")
    return codec


def audio_codec(name: str) -> AudioCodec:
    codec = AUDIO_CODECS.get(name)
    if codec is None:
        raise ValueError(f"unknown audio codec {name!r}; known: {', '.join(AUDIO_CODECS)}")
    return codec


def container(muxer: str) -> Container:
    found = CONTAINERS.get(muxer)
    if found is None:
        raise ValueError(f"unknown container {muxer!r}; known: {', '.join(CONTAINERS)}")
    return found


def pixel_aspect(codec_name: str, width: int, height: int, display_aspect: str) -> Fraction:
    """The pixel shape that shows a frame at its display aspect ("16:9"; "" is square)."""
    fixed = video_codec(codec_name).pixel_aspect
    if fixed is not None:
        return fixed
    if not display_aspect:
        return Fraction(1)
    x, y = display_aspect.split(":")
    return Fraction(int(x), int(y)) * height / width


def fixed_format(codec: VideoCodec, width: int, height: int, fps: float,
                 bitrate: int, pixel_format: str) -> FixedFormat | None:
    """The format of a format-bound codec that these settings name, if any."""
    for candidate in codec.formats:
        if (candidate.width, candidate.height) != (width, height):
            continue
        if fps and not any(abs(fps - rate) < 0.01 for rate in candidate.frame_rates):
            continue
        if candidate.bitrate and candidate.bitrate != bitrate:
            continue
        if pixel_format and candidate.pixel_format != pixel_format:
            continue
        return candidate
    return None
