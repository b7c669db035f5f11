"""What a stories-per-day bar chart shows and where each mark goes, whatever draws it.

The web app draws charts as inline SVG (``web.charts``) and a weekly digest
carries one as a PNG (``alerts.chartpng``): both take their bars, their round
count ticks and the position of every bar and label from here, so the two
pictures of the same figures cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from core.translatable import Translatable, Translations

Anchor = Literal["start", "middle", "end"]


@dataclass(frozen=True)
class Bar:
    label: str  # the full label: a day as 2026-11-03
    value: int


def nice_ticks(top: int) -> list[int]:
    """Up to five round tick values from 0 to at least ``top``."""
    if top <= 0:
        return [0, 1]
    raw = top / 4
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    return list(range(0, top + step, step))


def fill_days(counts: Sequence[tuple[date | str, int]]) -> list[Bar]:
    """One bar per day from the first day to the last, with the days without stories as 0."""
    if not counts:
        return []
    by_day = {_day(day): n for day, n in counts}
    first, last = min(by_day), max(by_day)
    return day_bars(by_day, first, last)


def day_bars(by_day: dict[date, int], first: date, last: date) -> list[Bar]:
    """One bar per day from ``first`` to ``last`` inclusive, 0 where ``by_day`` has none."""
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [Bar(day.isoformat(), by_day.get(day, 0)) for day in days]


def _day(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def summary(bars: Sequence[Bar], title: str, translations: Translations | None = None) -> str:
    """The chart in one sentence: its total, its span and its busiest day (for screen readers)."""
    total = sum(bar.value for bar in bars)
    busiest = max(bars, key=lambda bar: bar.value)
    return Translatable.gettext(
        "%(title)s: %(total)s from %(first)s to %(last)s; most on %(busiest)s (%(count)s)",
        title=title,
        total=total,
        first=bars[0].label,
        last=bars[-1].label,
        busiest=busiest.label,
        count=busiest.value,
    ).render(translations)


@dataclass(frozen=True)
class Frame:
    """The picture's size and the margins kept for the axis labels and the title."""

    width: int = 640
    height: int = 180
    left: int = 44  # room for the count axis labels
    bottom: int = 36  # room for the date labels and the axis title
    top: int = 22  # room for the chart title
    right: int = 8

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom

    @property
    def baseline(self) -> int:
        """Where the date axis runs (the bottom of every bar)."""
        return self.top + self.plot_height


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class BarBox:
    bar: Bar
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class DayLabel:
    text: str
    x: float  # where the anchor sits, at the middle of the bar's slot
    anchor: Anchor


@dataclass(frozen=True)
class BarLayout:
    frame: Frame
    ticks: list[Tick]
    boxes: list[BarBox]
    labels: list[DayLabel]


def layout_bars(bars: Sequence[Bar], frame: Frame = Frame()) -> BarLayout:
    """Where the count ticks, the bars and the first, middle and last day labels go.

    Days without stories get a box of height 0, so every day keeps its slot
    and the date axis stays even.
    """
    if not bars:
        return BarLayout(frame, [], [], [])
    values = nice_ticks(max(bar.value for bar in bars))
    top = values[-1]
    plot_h = frame.plot_height
    slot = frame.plot_width / len(bars)
    gap = min(2.0, slot * 0.2)
    ticks = [Tick(value, frame.top + plot_h - plot_h * value / top) for value in values]
    boxes = []
    for n, bar in enumerate(bars):
        h = plot_h * bar.value / top
        boxes.append(
            BarBox(bar, frame.left + n * slot + gap / 2, frame.baseline - h, max(slot - gap, 1), h)
        )
    labels = []
    for n in sorted({0, len(bars) // 2, len(bars) - 1}):
        anchor: Anchor = (
            "start" if n == 0 and len(bars) > 1 else "end" if n == len(bars) - 1 else "middle"
        )
        if len(bars) == 1:
            anchor = "middle"
        labels.append(DayLabel(bars[n].label, frame.left + n * slot + slot / 2, anchor))
    return BarLayout(frame, ticks, boxes, labels)
