"""The preset catalog: output formats read from YAML files in `presets/`.

Each file holds the presets of one category, written out one by one under
`presets:` or as families under `families:` (a template and a table of
rows that expand into one preset each; see `emulator.preset_families`).
A preset names its container and, for each stream it produces, the codec
and its settings. Every preset is checked against the codec rules of
`emulator.codecs` as it loads; ffmpeg arguments are derived from the same
settings in `emulator.transcode`, and the SoftLayer preset elements that
getPresetDetail shows in `emulator.preset_elements`, so what a preset shows
is what it does.

`python -m emulator.presets` lists the catalog; `--guids` prints the
GUID snapshot that tests/preset_guids.json pins.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from emulator import codecs
from emulator.preset_elements import describe, preset_elements
from emulator.preset_families import FamilyMember, expand_family, render_template

# GUIDs of presets that do not fix one are derived from their name.
GUID_NAMESPACE = uuid.UUID("5b8f3d0e-8c4e-4f59-9f5e-0d6c1a2b7e41")
GUID_FORM = re.compile(r"\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}")
FRAME_RATES = codecs.FRAME_RATES
ASPECT_MODES = ("pad", "crop", "stretch")
RATE_CONTROLS = ("average", "constant", "constrained")
KINDS = ("video", "audio", "image", "animation")
ENTRY_KEYS = {
    "name", "guid", "category", "description", "note", "container", "extension",
    "kind", "video", "audio", "options",
}


@dataclass(frozen=True)
class VideoSettings:
    codec: str
    width: int
    height: int
    fps: float  # 0 for a still image
    bitrate: int = 0  # bits per second; 0 for codecs driven by quality
    aspect: str = "pad"  # how a source of another shape is fitted
    display_aspect: str = ""  # "16:9" for non-square pixels; "" for square
    profile: str = ""
    rate_control: str = "average"
    pixel_format: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


@dataclass(frozen=True)
class AudioSettings:
    codec: str
    bitrate: int = 0
    sample_rate: int = 44100
    channels: int = 2
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def effective_bitrate(self) -> int:
        """The declared rate, or for PCM the rate its sample format fixes."""
        bits = codecs.audio_codec(self.codec).bits_per_sample
        if bits:
            return self.sample_rate * bits * self.channels
        return self.bitrate


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
        return preset_elements(self)


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
    return int(round(float(text) * scale))


def guid_for(name: str) -> str:
    return "{" + str(uuid.uuid5(GUID_NAMESPACE, name)).upper() + "}"


class PresetCatalog:
    def __init__(self, presets: list[Preset]) -> None:
        self.presets = presets
        self.by_guid: dict[str, Preset] = {}
        names: set[str] = set()
        for preset in presets:
            if preset.name in names:
                raise ValueError(f"two presets share the name {preset.name!r}")
            if preset.guid in self.by_guid:
                raise ValueError(f"two presets share the GUID {preset.guid}: "
                                 f"{self.by_guid[preset.guid].name!r} and {preset.name!r}")
            names.add(preset.name)
            self.by_guid[preset.guid] = preset

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

    def guids(self) -> dict[str, str]:
        """GUID -> name of every preset, the form of the checked-in snapshot."""
        return {p.guid: p.name for p in sorted(self.presets, key=lambda p: p.name)}


def read_presets(document: dict, source: str) -> list[Preset]:
    """Presets of one YAML document: `category`, `presets` and `families`."""
    category = document.get("category", "")
    presets = []
    for entry in document.get("presets", []) or []:
        presets.append(preset_from_entry(entry, category, source))
    for family in document.get("families", []) or []:
        for member in expand_family(family, source):
            presets.append(preset_from_entry(member.entry, category, source, member))
    return presets


def preset_from_entry(
    entry: dict, category: str, source: str, member: FamilyMember | None = None
) -> Preset:
    """One preset from its YAML mapping, checked against the codec rules.

    A family member's name and description are templates, filled in from
    the finished preset and the member's own variables.
    """
    try:
        unknown = set(entry) - ENTRY_KEYS
        if unknown:
            raise ValueError(f"unknown key {sorted(unknown)[0]!r}")
        video = entry.get("video")
        audio = entry.get("audio")
        preset = Preset(
            guid="",
            name=entry["name"],
            category=entry.get("category", category),
            description="",
            container=entry["container"],
            extension=entry["extension"],
            video=_video(video) if video else None,
            audio=_audio(audio) if audio else None,
            kind=entry.get("kind", "video" if video else "audio"),
            options=entry.get("options") or {},
        )
        check_preset(preset)

        name, description = entry["name"], entry.get("description") or describe(preset)
        if member is not None:
            name = render_template(name, preset, member.variables)
            description = render_template(description, preset, member.variables)
        if entry.get("note"):
            description = f"{description} {entry['note']}"
        guid = entry.get("guid") or guid_for(name)
        if not GUID_FORM.fullmatch(guid):
            raise ValueError(f"GUID {guid!r} is not upper-case hex in braces")
        return replace(preset, guid=guid, name=name, description=description)
    except (KeyError, TypeError, ValueError) as error:
        who = member.label if member is not None else repr(entry.get("name"))
        raise ValueError(f"{source}: preset {who}: {error}") from error


def _video(raw: dict) -> VideoSettings:
    width, height = (int(n) for n in str(raw["size"]).split("x"))
    return VideoSettings(
        codec=raw["codec"],
        width=width,
        height=height,
        fps=float(raw.get("fps") or 0),
        bitrate=parse_bitrate(raw.get("bitrate")),
        aspect=raw.get("aspect", "pad"),
        display_aspect=str(raw.get("display_aspect") or ""),
        profile=str(raw.get("profile") or ""),
        rate_control=raw.get("rate_control", "average"),
        pixel_format=raw.get("pixel_format", ""),
        options=raw.get("options") or {},
    )


def _audio(raw: dict) -> AudioSettings:
    return AudioSettings(
        codec=raw["codec"],
        bitrate=parse_bitrate(raw.get("bitrate")),
        sample_rate=int(raw.get("sample_rate", 44100)),
        channels=int(raw.get("channels", 2)),
        options=raw.get("options") or {},
    )


def check_preset(preset: Preset) -> None:
    """ValueError naming the first thing the preset asks that cannot be made."""
    problems = preset_problems(preset)
    if problems:
        raise ValueError("; ".join(problems))


def preset_problems(preset: Preset) -> list[str]:
    problems: list[str] = []
    box = codecs.container(preset.container)
    if preset.kind not in KINDS:
        problems.append(f"kind must be one of {', '.join(KINDS)}")
    if preset.kind in ("video", "image", "animation") and preset.video is None:
        problems.append(f"a {preset.kind} preset needs a video stream")
    if preset.kind == "audio" and (preset.video is not None or preset.audio is None):
        problems.append("an audio preset has an audio stream and no video")
    if preset.kind in ("image", "animation") and preset.audio is not None:
        problems.append(f"an {preset.kind} preset has no audio")
    if preset.video is not None:
        problems += _video_problems(preset, box)
    if preset.audio is not None:
        problems += _audio_problems(preset.audio, box)
    return problems


def _video_problems(preset: Preset, box: codecs.Container) -> list[str]:
    video = preset.video
    assert video is not None
    codec = codecs.video_codec(video.codec)
    problems = []

    if video.codec not in box.video_codecs:
        problems.append(f"{box.label} cannot hold {codec.label} video")
    if video.aspect not in ASPECT_MODES:
        problems.append(f"aspect must be one of {', '.join(ASPECT_MODES)}")
    if video.rate_control not in RATE_CONTROLS:
        problems.append(f"rate_control must be one of {', '.join(RATE_CONTROLS)}")
    elif video.rate_control != "average" and not codec.rate_control:
        problems.append(f"{codec.label} has no {video.rate_control} bit rate mode")
    if video.width % 2 or video.height % 2:
        problems.append(f"frame size {video.size} must be even in both dimensions")
    if codec.sizes and (video.width, video.height) not in codec.sizes:
        sizes = ", ".join(f"{w}x{h}" for w, h in codec.sizes)
        problems.append(f"{codec.label} only has the frame sizes {sizes}")
    if video.display_aspect and ":" not in video.display_aspect:
        problems.append("display_aspect is written like 16:9")
    if video.display_aspect and codec.pixel_aspect is not None:
        problems.append(f"{codec.label} pixels are always {codec.pixel_aspect}; "
                        "it takes no display_aspect")
    if video.profile and video.profile not in codec.profiles:
        known = ", ".join(codec.profiles) or "none"
        problems.append(f"{codec.label} profiles are: {known}")

    problems += _frame_rate_problems(preset, codec)
    problems += _bitrate_problems(video, codec)
    return problems


def _frame_rate_problems(preset: Preset, codec: codecs.VideoCodec) -> list[str]:
    fps = preset.video.fps
    if preset.kind == "image":
        return ["a frame grab has no frame rate"] if fps else []
    if fps <= 0:
        return ["fps is required"]
    if codec.frame_rates and not any(abs(fps - r) < 0.001 for r in codec.frame_rates):
        rates = ", ".join(f"{r:g}" for r in codec.frame_rates)
        return [f"{codec.label} only has the frame rates {rates}"]
    if fps > codec.max_frame_rate:
        return [f"{codec.label} runs at most {codec.max_frame_rate:g} fps"]
    return []


def _bitrate_problems(video: VideoSettings, codec: codecs.VideoCodec) -> list[str]:
    if codec.formats:
        found = codecs.fixed_format(
            codec, video.width, video.height, video.fps, video.bitrate, video.pixel_format
        )
        if found is None:
            allowed = "; ".join(
                f"{f.width}x{f.height} at {'/'.join(f'{r:g}' for r in f.frame_rates)} fps"
                + (f" {f.bitrate // 1_000_000} Mbps" if f.bitrate else "")
                + f" {f.pixel_format}"
                for f in codec.formats
            )
            return [f"{codec.label} only has these formats: {allowed}"]
        return []
    if codec.bitrate_driven and not video.bitrate:
        return [f"{codec.label} needs a bit rate"]
    if not codec.bitrate_driven and video.bitrate:
        return [f"{codec.label} is driven by quality, not by a bit rate"]
    return []


def _audio_problems(audio: AudioSettings, box: codecs.Container) -> list[str]:
    codec = codecs.audio_codec(audio.codec)
    problems = []

    if audio.codec not in box.audio_codecs:
        problems.append(f"{box.label} cannot hold {codec.label} audio")
    rates = box.audio_sample_rates.get(audio.codec) or codec.sample_rates
    if audio.sample_rate not in rates:
        listed = ", ".join(str(r) for r in rates)
        problems.append(f"{codec.label} in {box.label} only has the sample rates {listed}")
    channels = box.audio_channels or codec.channels
    if audio.channels not in channels:
        listed = ", ".join(str(c) for c in channels)
        problems.append(f"{codec.label} in {box.label} only has {listed} channel(s)")

    allowed = codec.allowed_bitrates(audio.sample_rate)
    if codec.bitrate_driven and not audio.bitrate:
        problems.append(f"{codec.label} needs a bit rate")
    elif not codec.bitrate_driven and audio.bitrate:
        problems.append(f"{codec.label} has no bit rate to choose")
    elif allowed and audio.bitrate not in allowed:
        listed = ", ".join(f"{b / 1000:g}k" for b in allowed)
        problems.append(
            f"{codec.label} at {audio.sample_rate} Hz only has the bit rates {listed}"
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emulator.presets", description="List the preset catalog."
    )
    parser.add_argument("folder", nargs="?", type=Path, help="folder of preset YAML files")
    parser.add_argument("--guids", action="store_true",
                        help="print the GUID snapshot (JSON, GUID -> name)")
    arguments = parser.parse_args(argv)

    from emulator.config import default_presets_dir

    catalog = PresetCatalog.load(arguments.folder or default_presets_dir())
    if arguments.guids:
        sys.stdout.write(json.dumps(catalog.guids(), indent=1) + "\n")
        return 0
    for preset in sorted(catalog.presets, key=lambda p: (p.category, p.name)):
        sys.stdout.write(f"{preset.guid}  {preset.category:<16} {preset.name}\n")
    sys.stdout.write(f"{len(catalog.presets)} presets\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
