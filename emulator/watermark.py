"""Text watermarks, drawn with Pillow's built-in font so no font file is needed."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from emulator.transcode import TranscodeError

TEXT_SIZE = 24
PADDING = 4


def render_text(text: str, destination: Path) -> None:
    """Write `text` as white letters with a dark outline on a transparent PNG."""
    try:
        font = ImageFont.load_default(size=TEXT_SIZE)
    except (OSError, TypeError, ImportError) as error:
        raise TranscodeError(
            f"No font is available to draw the watermark text ({error})."
        ) from error

    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font, stroke_width=2)
    size = (right - left + 2 * PADDING, bottom - top + 2 * PADDING)
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(image).text(
        (PADDING - left, PADDING - top), text, font=font,
        fill=(255, 255, 255, 255), stroke_width=2, stroke_fill=(0, 0, 0, 255),
    )
    image.save(destination, "PNG")
