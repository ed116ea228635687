"""Families: many presets written as one template and a table of rows.

A family in a preset file reads:

    families:
      - name: "MP4 H.264 {size} {video_rate} {fps}fps AAC"
        container: mp4
        extension: mp4
        video: {codec: h264, profile: main}
        audio: {codec: aac, bitrate: 128k, sample_rate: 44100, channels: 2}
        columns: [video.size, video.bitrate, video.fps]
        rows:
          - [640x360, 1M, 30]
          - [1280x720, 2.5M, 30]

Everything but `columns`, `rows` and `product` is the template. Each row
fills in its columns and becomes one preset: a dotted column sets a
setting (`video.bitrate`), a plain preset key sets that key (`guid`), and
any other plain column is a variable for the name (`device`). A row may
also be a mapping of column to value. Instead of `columns` and `rows`,
`product` maps columns to lists of values and expands every combination.

Names and descriptions are templates. Placeholders are the family's
variables and these, computed from the finished preset so a name cannot
disagree with what the preset does: `{size}`, `{width}`, `{height}`,
`{fps}`, `{dar}` (display aspect, `16x9`), `{video_rate}`, `{audio_rate}`,
`{total_rate}` (`1.5Mbps`, `128kbps`; `{total_rate|spaced}` gives
`1.5 Mbps`, `256 Kbps`), `{video_kbps}`, `{audio_kbps}`, `{total_kbps}`,
`{khz}` (`44.1`), `{channels}` (`Mono`, `Stereo`, `5.1`), `{profile}`
(`High`, `422 HQ`) and `{format}` (`DNxHD 175x`, for codecs that only
exist in fixed formats).
"""

from __future__ import annotations

import copy
import itertools
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from emulator import codecs

if TYPE_CHECKING:
    from emulator.presets import Preset, VideoSettings

FAMILY_KEYS = {"columns", "rows", "product"}
PRESET_KEYS = {
    "name", "guid", "category", "description", "note", "container", "extension",
    "kind", "options",
}
PLACEHOLDER = re.compile(r"\{(\w+)(?:\|(\w+))?\}")
CHANNEL_NAMES = {1: "Mono", 2: "Stereo", 6: "5.1"}
# Display aspect ratios a frame size is named after, nearest first.
NAMED_ASPECTS = ((1, 1), (5, 4), (4, 3), (11, 9), (3, 2), (16, 10), (5, 3), (16, 9))


@dataclass(frozen=True)
class FamilyMember:
    entry: dict[str, Any]  # a preset entry whose name and description are templates
    variables: dict[str, str]
    label: str  # names the row in error messages


def expand_family(family: dict, source: str) -> list[FamilyMember]:
    """One member per row of the family's table."""
    template = {k: v for k, v in family.items() if k not in FAMILY_KEYS}
    if "{" not in str(template.get("name", "")):
        raise ValueError(f"{source}: a family needs a name template with placeholders")
    rows = _rows(family, source)

    members = []
    for index, row in enumerate(rows, start=1):
        label = f"{template['name']!r} row {index} {row}"
        entry = copy.deepcopy(template)
        variables: dict[str, str] = {}
        for column, value in row.items():
            if "." in column:
                _set_path(entry, column.split("."), value)
            elif column in PRESET_KEYS:
                entry[column] = value
            else:
                variables[column] = str(value)
        unused = [v for v in variables if not _mentions(template, v)]
        if unused:
            raise ValueError(f"{source}: preset {label}: column {unused[0]!r} is set "
                             "but appears in no name or description template")
        members.append(FamilyMember(entry, variables, label))
    return members


def _rows(family: dict, source: str) -> list[dict[str, Any]]:
    if "product" in family:
        if "rows" in family:
            raise ValueError(f"{source}: a family has either rows or a product, not both")
        columns = list(family["product"])
        values = [family["product"][c] for c in columns]
        return [dict(zip(columns, combination)) for combination in itertools.product(*values)]

    columns = family.get("columns") or []
    rows = []
    for row in family.get("rows") or []:
        if isinstance(row, dict):
            rows.append(row)
            continue
        if len(row) != len(columns):
            raise ValueError(f"{source}: row {row} does not match the columns {columns}")
        rows.append(dict(zip(columns, row)))
    if not rows:
        raise ValueError(f"{source}: family {family.get('name')!r} has no rows")
    return rows


def _set_path(entry: dict, path: list[str], value: Any) -> None:
    node = entry
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def _mentions(template: dict, variable: str) -> bool:
    text = f"{template.get('name', '')} {template.get('description', '')}"
    return any(match.group(1) == variable for match in PLACEHOLDER.finditer(text))


def render_template(text: str, preset: "Preset", variables: dict[str, str]) -> str:
    """`text` with each placeholder replaced by its value for `preset`."""
    values = {**preset_values(preset), **variables}

    def replace(match: re.Match) -> str:
        key, style = match.group(1), match.group(2) or ""
        if key not in values:
            raise ValueError(f"unknown placeholder {{{key}}} in {text!r}")
        value = values[key]
        if isinstance(value, int):
            return rate_label(value, spaced=style == "spaced")
        return value

    return PLACEHOLDER.sub(replace, text)


def preset_values(preset: "Preset") -> dict[str, Any]:
    """Placeholder values of a preset; bit rates stay ints to be styled."""
    values: dict[str, Any] = {}
    total = 0
    if preset.video is not None:
        video = preset.video
        values.update(
            size=video.size,
            width=str(video.width),
            height=str(video.height),
            fps=f"{video.fps:g}",
            dar=aspect_label(video),
            video_rate=video.bitrate,
            video_kbps=f"{video.bitrate / 1000:g}",
            profile=video_profile_label(video),
            format=video_format_label(video),
        )
        total += video.bitrate
    if preset.audio is not None:
        audio = preset.audio
        bitrate = audio.effective_bitrate
        values.update(
            audio_rate=bitrate,
            audio_kbps=f"{bitrate / 1000:g}",
            khz=f"{audio.sample_rate / 1000:g}",
            channels=CHANNEL_NAMES.get(audio.channels, f"{audio.channels}ch"),
        )
        total += bitrate
    values.update(total_rate=total, total_kbps=f"{total / 1000:g}")
    return values


def video_profile_label(video: "VideoSettings") -> str:
    """`High`, `422 HQ`: the profile as people name it; empty without one."""
    profile = codecs.video_codec(video.codec).profiles.get(video.profile)
    return profile.label if profile else ""


def video_format_label(video: "VideoSettings") -> str:
    """`DNxHD 175x`, `DV NTSC`: the fixed format a format-bound codec uses."""
    found = codecs.fixed_format(codecs.video_codec(video.codec), video.width, video.height,
                                video.fps, video.bitrate, video.pixel_format)
    return found.label if found else ""


def rate_label(bits_per_second: int, spaced: bool = False) -> str:
    """`1.5Mbps`, `768kbps`; spaced in Windows Media's style: `1.5 Mbps`, `768 Kbps`."""
    if bits_per_second >= 1_000_000 and bits_per_second % 100_000 == 0:
        number, unit = f"{bits_per_second / 1_000_000:g}", "Mbps"
    else:
        number, unit = f"{bits_per_second / 1000:g}", "Kbps" if spaced else "kbps"
    return f"{number} {unit}" if spaced else f"{number}{unit}"


def aspect_label(video: "VideoSettings") -> str:
    """`16x9`: the declared display aspect, or the named ratio nearest the picture's."""
    if video.display_aspect:
        return video.display_aspect.replace(":", "x")
    pixel = codecs.pixel_aspect(video.codec, video.width, video.height, "")
    ratio = Fraction(video.width, video.height) * pixel
    x, y = min(NAMED_ASPECTS, key=lambda a: abs(float(ratio) - a[0] / a[1]))
    return f"{x}x{y}"
