"""What getPresetDetail and getPresets show of a preset, derived from it.

The elements' defaults are the preset's own settings and their option
lists are what the codec rules of `emulator.codecs` allow, so a drop-down
never offers a value the encoder would refuse. Descriptions are written
from the same settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator import codecs
from emulator.preset_families import CHANNEL_NAMES, aspect_label

if TYPE_CHECKING:
    from emulator.presets import AudioSettings, Preset, VideoSettings

FRAME_SIZES = (
    (128, 96), (176, 144), (320, 240), (352, 240), (352, 288), (480, 272),
    (480, 360), (640, 352), (640, 360), (640, 480), (720, 480), (720, 576),
    (854, 480), (960, 540), (1024, 576), (1280, 720), (1920, 1080),
)
ASPECT_RULES = {
    "pad": "fitted inside the frame with black bars",
    "crop": "scaled to fill the frame and cropped",
    "stretch": "stretched to the frame",
}
RATE_CONTROL_LABELS = {
    "average": "Average bit rate",
    "constant": "Constant bit rate (CBR)",
    "constrained": "Constrained variable bit rate",
}
THUMBNAIL_PERCENT = 25


def preset_elements(preset: "Preset") -> list[dict[str, Any]]:
    """The SoftLayer_Container_Network_Media_Transcode_Preset_Element list."""
    box = codecs.container(preset.container)
    elements = [
        element("Format", f"Container format: {box.label}", "DropDownList",
                preset.extension.upper(), options=[(preset.extension.upper(), preset.container)]),
    ]
    if preset.video:
        elements += _video_elements(preset, preset.video)
    if preset.audio:
        elements += _audio_elements(preset, preset.audio)
    return elements


def element(
    name: str,
    description: str,
    element_type: str,
    default: Any,
    options: list[tuple[Any, Any]] | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    parent: str = "",
) -> dict[str, Any]:
    built: dict[str, Any] = {
        "name": name,
        "description": description,
        "extendedDescription": f"{description}. Default: {default}.",
        "type": element_type,
        "defaultValue": str(default),
        "enabled": True,
        "hidden": False,
    }
    if parent:
        built["parentName"] = parent
    if minimum is not None:
        built["minimumValue"] = minimum
    if maximum is not None:
        built["maximumValue"] = maximum
    if options is not None:
        built["additionalElements"] = [
            {"name": str(label), "value": str(value)} for label, value in options
        ]
    return built


def _video_elements(preset: "Preset", video: "VideoSettings") -> list[dict[str, Any]]:
    codec = codecs.video_codec(video.codec)
    sizes = [f"{w}x{h}" for w, h in _frame_sizes(codec)]
    if video.size not in sizes:
        sizes.append(video.size)
    elements = [
        element("Video Codec", f"Video encoder: {codec.label}", "DropDownList", video.codec,
                options=[(codec.label, video.codec)], parent="Video"),
    ]
    if video.profile:
        elements.append(element(
            "Profile", f"{codec.label} profile", "DropDownList", video.profile,
            options=[(p, p) for p in codec.profiles], parent="Video"))
    elements.append(element(
        "Frame Size", "Width x height in pixels", "DropDownList", video.size,
        options=[(s, s) for s in sizes], parent="Video"))
    if preset.kind != "image":
        rates = _frame_rates(codec, video)
        elements.append(element(
            "Frame Rate", "Frames per second", "DropDownList", frame_rate_label(video.fps),
            options=[(frame_rate_label(r), frame_rate_label(r)) for r in rates],
            parent="Video"))
    if video.bitrate:
        elements.append(element(
            "Video Bit Rate", "Video bit rate in kbps", "NumericTextBox",
            video.bitrate // 1000, minimum=0, maximum=440_000, parent="Video"))
    if codec.rate_control:
        elements.append(element(
            "Bit Rate Mode", "How the encoder spends the bit rate", "DropDownList",
            video.rate_control, options=[(v, k) for k, v in RATE_CONTROL_LABELS.items()],
            parent="Video"))
    elements.append(element(
        "Aspect Ratio", "How a source of another shape is fitted", "DropDownList",
        video.aspect, options=[(rule, rule) for rule in ASPECT_RULES], parent="Video"))
    if video.display_aspect:
        elements.append(element(
            "Display Aspect Ratio", "Shape of the picture on screen", "DropDownList",
            video.display_aspect, options=[("4:3", "4:3"), ("16:9", "16:9")],
            parent="Video"))
    if preset.kind == "image":
        elements.append(element(
            "Frame Position", "Where in the clip the frame is taken, in percent",
            "NumericTextBox", THUMBNAIL_PERCENT, minimum=0, maximum=100, parent="Video"))
    return elements


def _frame_sizes(codec: codecs.VideoCodec) -> list[tuple[int, int]]:
    if codec.formats:
        return sorted({(f.width, f.height) for f in codec.formats})
    return list(codec.sizes or FRAME_SIZES)


def _frame_rates(codec: codecs.VideoCodec, video: "VideoSettings") -> list[float]:
    if codec.formats:
        return sorted({
            rate for f in codec.formats if (f.width, f.height) == (video.width, video.height)
            for rate in f.frame_rates
        })
    rates = codec.frame_rates or codecs.FRAME_RATES
    return [r for r in rates if r <= codec.max_frame_rate]


def _audio_elements(preset: "Preset", audio: "AudioSettings") -> list[dict[str, Any]]:
    codec = codecs.audio_codec(audio.codec)
    box = codecs.container(preset.container)
    sample_rates = box.audio_sample_rates.get(audio.codec) or codec.sample_rates
    channels = box.audio_channels or codec.channels
    elements = [
        element("Audio Codec", f"Audio encoder: {codec.label}", "DropDownList", audio.codec,
                options=[(codec.label, audio.codec)], parent="Audio"),
    ]
    allowed = codec.allowed_bitrates(audio.sample_rate)
    if allowed:
        elements.append(element(
            "Audio Bit Rate", "Audio bit rate in kbps", "DropDownList",
            f"{audio.bitrate / 1000:g}",
            options=[(f"{b / 1000:g}", f"{b / 1000:g}") for b in allowed], parent="Audio"))
    elif audio.bitrate:
        elements.append(element(
            "Audio Bit Rate", "Audio bit rate in kbps", "NumericTextBox",
            audio.bitrate // 1000, minimum=0, maximum=640, parent="Audio"))
    elements += [
        element("Sample Rate", "Audio samples per second", "DropDownList", audio.sample_rate,
                options=[(r, r) for r in sample_rates], parent="Audio"),
        element("Channels", "Audio channels", "DropDownList", audio.channels,
                options=[(CHANNEL_NAMES.get(c, c), c) for c in channels], parent="Audio"),
    ]
    return elements


def frame_rate_label(fps: float) -> str:
    """`15.0`, `29.97`, `23.976`: whole rates keep one decimal, as SoftLayer wrote them."""
    return f"{fps:.3f}".rstrip("0").rstrip(".") if fps % 1 else f"{fps:.1f}"


def describe(preset: "Preset") -> str:
    """One sentence saying what the preset produces."""
    box = codecs.container(preset.container)
    video, audio = preset.video, preset.audio
    if preset.kind == "image":
        return (f"{video_phrase(video)}, {ASPECT_RULES[video.aspect]}: a still frame "
                f"taken {THUMBNAIL_PERCENT}% into the clip.")
    if preset.kind == "animation":
        return (f"Animated {video_phrase(video)} at {video.fps:g} fps, "
                f"{ASPECT_RULES[video.aspect]}; one colour palette made for the clip; "
                "no sound.")
    if video is None:
        sound = audio_phrase(audio)
        if not sound.startswith(box.label):
            sound = f"{box.label}: {sound}"
        return f"{sound}; the video is dropped."

    sentence = (f"{box.label}: {video_phrase(video)} at {video.fps:g} fps, "
                f"{ASPECT_RULES[video.aspect]}")
    if audio is not None:
        return f"{sentence}; {audio_phrase(audio)}."
    return f"{sentence}; no sound."


def video_phrase(video: "VideoSettings") -> str:
    codec = codecs.video_codec(video.codec)
    words = [codec.label]
    if video.profile:
        words.append(video.profile if video.profile.isupper() else video.profile.title())
    if video.bitrate:
        words.append(kbps_phrase(video.bitrate))
    dar = aspect_label(video).replace("x", ":")
    return f"{' '.join(words)}, {video.size} ({dar})"


def audio_phrase(audio: "AudioSettings") -> str:
    codec = codecs.audio_codec(audio.codec)
    channels = CHANNEL_NAMES.get(audio.channels, f"{audio.channels}-channel").lower()
    bitrate = audio.effective_bitrate
    rate = f"{kbps_phrase(bitrate)}, " if bitrate else "lossless, "
    return f"{codec.label} {rate}{audio.sample_rate / 1000:g} kHz {channels}"


def kbps_phrase(bits_per_second: int) -> str:
    if bits_per_second >= 1_000_000 and bits_per_second % 100_000 == 0:
        return f"{bits_per_second / 1_000_000:g} Mbps"
    return f"{bits_per_second / 1000:g} kbps"
