"""Bar charts as PNG, for email: mail clients mostly show no SVG, and a PNG they do.

The bars, ticks and label positions come from ``core.charts`` (the web app's
SVG charts use the same), drawn at twice the size shown so they stay sharp
on high-density screens.

The letters are drawn in Pillow's built-in font (Aileron Regular, public
domain, embedded in Pillow itself: no font file is shipped here). It covers
Latin letters and digits only, so the picture carries digits, ISO dates and
short English axis titles; anything in another script (a topic's name) goes in
the HTML around the picture and in its text alternative.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from functools import lru_cache

from core.charts import Bar, BarLayout, Frame, layout_bars
from PIL import Image, ImageDraw, ImageFont

# Shown at 592 x 180 CSS pixels: the digest's content column (640 less its padding).
FRAME = Frame(width=592, height=180, left=40, bottom=34, top=10, right=8)
SCALE = 2
FONT_SIZE = 11  # CSS pixels, as on the web app's charts
BACKGROUND = (255, 255, 255)
GRID = (227, 227, 227)
AXIS = (85, 85, 85)
TEXT = (51, 51, 51)
BAR = (91, 127, 179)  # the web app's bar colour
EARLIER_BAR = (183, 200, 224)  # days before the highlighted ones


class ChartTextError(ValueError):
    """A label the built-in font cannot draw: keep words in other scripts out of the image."""


def bar_png(
    bars: Sequence[Bar],
    *,
    x_title: str,
    y_title: str,
    highlight_from: str | None = None,
    frame: Frame = FRAME,
    scale: int = SCALE,
) -> bytes:
    """The bars as a PNG of ``frame`` times ``scale`` pixels, with both axes labelled.

    Bars whose label sorts at or after ``highlight_from`` (the days a digest
    covers) are drawn in the strong colour, the earlier ones lighter; without
    it every bar is strong.
    """
    if not bars:
        raise ValueError("no bars to draw")
    for text in (x_title, y_title, *(bar.label for bar in bars)):
        if not text.isascii() or not text.isprintable():
            raise ChartTextError(
                f"{text!r}: the chart's built-in font draws printable ASCII only; "
                "put other words in the caption or the alt text"
            )
    layout = layout_bars(bars, frame)
    image = Image.new("RGB", (frame.width * scale, frame.height * scale), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = _font(FONT_SIZE * scale)
    _grid(draw, layout, font, scale)
    for box in layout.boxes:
        if box.height <= 0:
            continue
        strong = highlight_from is None or box.bar.label >= highlight_from
        draw.rectangle(
            _scaled((box.x, box.y, box.x + box.width, frame.baseline), scale, inner=True),
            fill=BAR if strong else EARLIER_BAR,
        )
    _axes(image, draw, layout, font, scale, x_title=x_title, y_title=y_title)
    out = io.BytesIO()
    # A few flat colours and the letters' grey edges: a palette keeps the file small.
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
    return out.getvalue()


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _scaled(
    box: tuple[float, float, float, float], scale: int, *, inner: bool = False
) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (round(v * scale) for v in box)
    # Pillow's rectangles include their last row and column.
    return (x0, y0, x1 - 1, y1 - 1) if inner else (x0, y0, x1, y1)


def _grid(
    draw: ImageDraw.ImageDraw,
    layout: BarLayout,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    scale: int,
) -> None:
    frame = layout.frame
    for tick in layout.ticks:
        y = round(tick.y * scale)
        draw.line(
            [(frame.left * scale, y), ((frame.width - frame.right) * scale, y)],
            fill=GRID,
            width=scale,
        )
        draw.text(((frame.left - 4) * scale, y), str(tick.value), fill=TEXT, font=font, anchor="rm")


def _axes(
    image: Image.Image,
    draw: ImageDraw.ImageDraw,
    layout: BarLayout,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    scale: int,
    *,
    x_title: str,
    y_title: str,
) -> None:
    frame = layout.frame
    left, baseline = frame.left * scale, frame.baseline * scale
    draw.line([(left, baseline), ((frame.width - frame.right) * scale, baseline)], AXIS, scale)
    draw.line([(left, frame.top * scale), (left, baseline)], AXIS, scale)
    anchors = {"start": "lt", "middle": "mt", "end": "rt"}
    for label in layout.labels:
        draw.text(
            (round(label.x * scale), baseline + 4 * scale),
            label.text,
            fill=TEXT,
            font=font,
            anchor=anchors[label.anchor],
        )
    draw.text(
        ((frame.left + frame.plot_width / 2) * scale, (frame.height - 3) * scale),
        x_title,
        fill=TEXT,
        font=font,
        anchor="ms",
    )
    middle = (frame.top + frame.baseline) / 2 * scale
    _vertical_text(image, y_title, font, centre=(7 * scale, middle))


def _vertical_text(
    image: Image.Image,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    *,
    centre: tuple[float, float],
) -> None:
    """``text`` read bottom to top, centred on ``centre`` (in pixels), as y-axis titles are."""
    left, top, right, bottom = font.getbbox(text)
    mask = Image.new("L", (math.ceil(right - left), math.ceil(bottom - top)), 0)
    ImageDraw.Draw(mask).text((-left, -top), text, fill=255, font=font)
    mask = mask.rotate(90, expand=True)
    x = round(centre[0] - mask.width / 2)
    y = round(centre[1] - mask.height / 2)
    image.paste(TEXT, (x, y, x + mask.width, y + mask.height), mask)
