"""The preset catalog: output formats read from YAML files in `presets/`.

Each file holds presets of one category. A preset names its container and,
for each stream it produces, the codec and settings; ffmpeg arguments are
derived from them in `emulator.transcode`, and the SoftLayer preset
elements shown by getPresetDetail from them here, so what a preset shows
is what it does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# GUIDs of presets that do not fix one are derived from their name.
GUID_NAMESPACE = uuid.UUID("5b8f3d0e-8c4e-4f59-9f5e-0d6c1a2b7e41")
FRAME_RATES = (
    5.0, 6.0, 7.5, 8.0, 10.0, 12.0, 12.5, 14.985, 15.0, 20.0,
    23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0,
)
FRAME_SIZES = (
    (128, 96), (176, 144), (320, 240), (352, 240), (352, 288), (480, 272),
    (480, 360), (640, 352), (640, 360), (640, 480), (720, 480), (720, 576),
    (854, 480), (960, 540), (1024, 576), (1280, 720), (1920, 1080),
)
SAMPLE_RATES = (8000, 11025, 16000, 22050, 32000, 44100, 48000)
ASPECT_MODES = ("pad", "crop", "stretch")


@dataclass(frozen=True)
class VideoSettings:
    codec: str
    width: int
    height: int
    fps: float
    bitrate: int = 0  # bits per second; 0 for codecs driven by quality
    aspect: str = "pad"
    pixel_format: str = ""
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AudioSettings:
    codec: str
    bitrate: int = 0
    sample_rate: int = 44100
    channels: int = 2
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Preset:
    guid: str
    name: str
    category: str
    description: str
    container: str  # ffmpeg muxer
    extension: str
    video: VideoSettings | None = None
    audio: AudioSettings | None = None
    # "video", "audio", "image" (a frame grab) or "animation" (GIF)
    kind: str = "video"
    options: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, str]:
        """The SoftLayer_Container_Network_Media_Transcode_Preset of this preset."""
        return {
            "GUID": self.guid,
            "name": self.name,
            "category": self.category,
            "description": self.description,
        }

    def elements(self) -> list[dict[str, Any]]:
        """The SoftLayer_Container_Network_Media_Transcode_Preset_Element list."""
        elements = [
            _element("Format", "Container format", "DropDownList", self.extension.upper(),
                     options=[(self.extension.upper(), self.container)]),
        ]
        if self.video:
            elements += _video_elements(self.video)
        if self.audio:
            elements += _audio_elements(self.audio)
        return elements


def _element(
    name: str,
    description: str,
    element_type: str,
    default: Any,
    options: list[tuple[str, Any]] | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    parent: str = "",
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "name": name,
        "description": description,
        "extendedDescription": f"{description}. Default: {default}.",
        "type": element_type,
        "defaultValue": str(default),
        "enabled": True,
        "hidden": False,
    }
    if parent:
        element["parentName"] = parent
    if minimum is not None:
        element["minimumValue"] = minimum
    if maximum is not None:
        element["maximumValue"] = maximum
    if options is not None:
        element["additionalElements"] = [
            {"name": str(label), "value": str(value)} for label, value in options
        ]
    return element


def _video_elements(video: VideoSettings) -> list[dict[str, Any]]:
    size = f"{video.width}x{video.height}"
    sizes = [f"{w}x{h}" for w, h in FRAME_SIZES]
    if size not in sizes:
        sizes.append(size)
    return [
        _element("Video Codec", "Video encoder", "DropDownList", video.codec,
                 options=[(video.codec, video.codec)], parent="Video"),
        _element("Frame Size", "Width x height in pixels", "DropDownList", size,
                 options=[(s, s) for s in sizes], parent="Video"),
        _element("Frame Rate", "Frames per second", "DropDownList", _rate(video.fps),
                 options=[(_rate(r), _rate(r)) for r in FRAME_RATES], parent="Video"),
        _element("Video Bit Rate", "Video bit rate in kbps", "NumericTextBox",
                 video.bitrate // 1000, minimum=0, maximum=50_000, parent="Video"),
        _element("Aspect Ratio", "How a source of another shape is fitted",
                 "DropDownList", video.aspect,
                 options=[(m, m) for m in ASPECT_MODES], parent="Video"),
    ]


def _audio_elements(audio: AudioSettings) -> list[dict[str, Any]]:
    return [
        _element("Audio Codec", "Audio encoder", "DropDownList", audio.codec,
                 options=[(audio.codec, audio.codec)], parent="Audio"),
        _element("Audio Bit Rate", "Audio bit rate in kbps", "NumericTextBox",
                 audio.bitrate // 1000, minimum=0, maximum=640, parent="Audio"),
        _element("Sample Rate", "Audio samples per second", "DropDownList",
                 audio.sample_rate, options=[(r, r) for r in SAMPLE_RATES],
                 parent="Audio"),
        _element("Channels", "Audio channels", "DropDownList", audio.channels,
                 options=[("Mono", 1), ("Stereo", 2), ("5.1", 6)], parent="Audio"),
    ]


def _rate(fps: float) -> str:
    return f"{fps:.3f}".rstrip("0").rstrip(".") if fps % 1 else f"{fps:.1f}"


def parse_bitrate(value: Any) -> int:
    """Bits per second from `768k`, `1.5M` or a plain number."""
    if value in (None, "", 0):
        return 0
    text = str(value).strip().lower()
    scale = 1
    if text.endswith("k"):
        scale, text = 1000, text[:-1]
    elif text.endswith("m"):
        scale, text = 1_000_000, text[:-1]
    return int(float(text) * scale)


def guid_for(name: str) -> str:
    return "{" + str(uuid.uuid5(GUID_NAMESPACE, name)).upper() + "}"


class PresetCatalog:
    def __init__(self, presets: list[Preset]) -> None:
        self.presets = presets
        self.by_guid = {p.guid: p for p in presets}
        if len(self.by_guid) != len(presets):
            raise ValueError("two presets share a GUID")

    @classmethod
    def load(cls, folder: Path) -> "PresetCatalog":
        presets: list[Preset] = []
        for path in sorted(folder.glob("*.yaml")):
            document = yaml.safe_load(path.read_text()) or {}
            presets += read_presets(document, path.name)
        return cls(presets)

    def get(self, guid: str) -> Preset | None:
        if not isinstance(guid, str):
            return None
        return self.by_guid.get(guid.strip().upper())


def read_presets(document: dict, source: str) -> list[Preset]:
    """Presets of one YAML document: `category`, then a `presets` list."""
    category = document.get("category", "")
    presets = []
    for entry in document.get("presets", []):
        presets.append(preset_from_entry(entry, category, source))
    return presets


def preset_from_entry(entry: dict, category: str, source: str) -> Preset:
    try:
        name = entry["name"]
        video = entry.get("video")
        audio = entry.get("audio")
        return Preset(
            guid=entry.get("guid") or guid_for(name),
            name=name,
            category=entry.get("category", category),
            description=entry.get("description", name),
            container=entry["container"],
            extension=entry["extension"],
            video=_video(video) if video else None,
            audio=_audio(audio) if audio else None,
            kind=entry.get("kind", "video" if video else "audio"),
            options=entry.get("options", {}),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{source}: preset {entry.get('name')!r}: {error}") from error


def _video(raw: dict) -> VideoSettings:
    width, height = (int(n) for n in str(raw["size"]).split("x"))
    return VideoSettings(
        codec=raw["codec"],
        width=width,
        height=height,
        fps=float(raw["fps"]),
        bitrate=parse_bitrate(raw.get("bitrate")),
        aspect=raw.get("aspect", "pad"),
        pixel_format=raw.get("pixel_format", ""),
        options=raw.get("options", {}),
    )


def _audio(raw: dict) -> AudioSettings:
    return AudioSettings(
        codec=raw["codec"],
        bitrate=parse_bitrate(raw.get("bitrate")),
        sample_rate=int(raw.get("sample_rate", 44100)),
        channels=int(raw.get("channels", 2)),
        options=raw.get("options", {}),
    )
