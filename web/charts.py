"""Bar charts as inline SVG, drawn on the server: no JavaScript, no images to fetch.

A chart is a picture a reader takes in at a glance, so it carries its own
labels: the count axis with its ticks, the first, middle and last days on the
date axis, a title, and each bar's exact figure as a tooltip (``<title>``)
and in a text alternative for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

WIDTH = 640
HEIGHT = 180
LEFT = 44  # room for the count axis labels
BOTTOM = 36  # room for the date labels and the axis title
TOP = 22  # room for the chart title
RIGHT = 8


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
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [Bar(day.isoformat(), by_day.get(day, 0)) for day in days]


def _day(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def bar_chart(bars: Sequence[Bar], *, title: str, x_title: str, y_title: str) -> Markup:
    """An SVG bar chart with labelled axes, safe to put in a page as it is."""
    if not bars:
        return Markup("")
    ticks = nice_ticks(max(bar.value for bar in bars))
    top = ticks[-1]
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / len(bars)
    gap = min(2.0, slot * 0.2)
    parts = [
        (
            f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'width="100%" role="img" aria-label={quoteattr(_summary(bars, title))} '
            'font-family="sans-serif" font-size="11">'
        ),
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="14" font-size="12" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in ticks:
        y = TOP + plot_h - plot_h * tick / top
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
            f'<text class="y-tick" x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>'
        )
    for n, bar in enumerate(bars):
        h = plot_h * bar.value / top
        x = LEFT + n * slot + gap / 2
        y = TOP + plot_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(slot - gap, 1):.1f}" height="{h:.1f}" '
            f'fill="#5b7fb3"><title>{escape(bar.label)}: {bar.value}</title></rect>'
        )
    for n in sorted({0, len(bars) // 2, len(bars) - 1}):
        x = LEFT + n * slot + slot / 2
        anchor = "start" if n == 0 and len(bars) > 1 else "end" if n == len(bars) - 1 else "middle"
        if len(bars) == 1:
            anchor = "middle"
        parts.append(
            f'<text class="x-tick" x="{x:.1f}" y="{TOP + plot_h + 14}" '
            f'text-anchor="{anchor}">{escape(bars[n].label)}</text>'
        )
    parts += [
        (
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
            'stroke="#555"/>'
        ),
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#555"/>',
        (
            f'<text class="x-title" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 4}" '
            f'text-anchor="middle">{escape(x_title)}</text>'
        ),
        (
            f'<text class="y-title" x="12" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 12 {TOP + plot_h / 2:.1f})">{escape(y_title)}</text>'
        ),
        "</svg>",
    ]
    return Markup("".join(parts))


def _summary(bars: Sequence[Bar], title: str) -> str:
    total = sum(bar.value for bar in bars)
    busiest = max(bars, key=lambda bar: bar.value)
    return (
        f"{title}: {total} from {bars[0].label} to {bars[-1].label}; "
        f"most on {busiest.label} ({busiest.value})"
    )


@dataclass(frozen=True)
class HealthRow:
    name: str
    per_day: float
    state: str  # "ok", "failing" (errors since its last success), "disabled", "never crawled"


HEALTH_COLOURS = {
    "ok": "#4c9a5a",
    "failing": "#c0392b",
    "disabled": "#9e9e9e",
    "never crawled": "#d9a441",
}
ROW = 20
NAME_WIDTH = 170


def health_chart(rows: Sequence[HealthRow], *, days: int) -> Markup:
    """One horizontal bar per source: stories per day, coloured by the source's health."""
    if not rows:
        return Markup("")
    ticks = nice_ticks(math.ceil(max(row.per_day for row in rows)))
    top = ticks[-1]
    plot_w = WIDTH - NAME_WIDTH - RIGHT - 36
    legend_y = TOP + 4
    plot_top = TOP + 24
    height = plot_top + ROW * len(rows) + BOTTOM
    summary = "; ".join(f"{row.name}: {row.per_day:.1f} a day, {row.state}" for row in rows)
    parts = [
        (
            f'<svg class="chart health" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
            f'aria-label={quoteattr("Sources: " + summary)} font-family="sans-serif" '
            'font-size="11">'
        ),
        "<title>Sources: stories per day and health</title>",
        (
            f'<text x="0" y="14" font-size="12" font-weight="bold">Sources: stories per day '
            f"over the last {days} days, coloured by health</text>"
        ),
    ]
    x = 0
    for state, colour in HEALTH_COLOURS.items():
        parts.append(
            f'<rect x="{x}" y="{legend_y}" width="10" height="10" fill="{colour}"/>'
            f'<text class="legend" x="{x + 14}" y="{legend_y + 9}">{escape(state)}</text>'
        )
        x += 24 + 7 * len(state)
    for tick in ticks:
        tx = NAME_WIDTH + plot_w * tick / top
        parts.append(
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{plot_top}" '
            f'y2="{plot_top + ROW * len(rows)}" stroke="#e3e3e3"/>'
            f'<text class="x-tick" x="{tx:.1f}" y="{plot_top + ROW * len(rows) + 14}" '
            f'text-anchor="middle">{tick}</text>'
        )
    for n, row in enumerate(rows):
        y = plot_top + n * ROW
        w = plot_w * row.per_day / top
        colour = HEALTH_COLOURS.get(row.state, "#9e9e9e")
        parts.append(
            f'<text class="y-tick" x="{NAME_WIDTH - 6}" y="{y + 14}" text-anchor="end">'
            f"{escape(row.name)}</text>"
            f'<rect x="{NAME_WIDTH}" y="{y + 4}" width="{max(w, 1.5):.1f}" height="{ROW - 8}" '
            f'fill="{colour}"><title>{escape(row.name)}: {row.per_day:.1f} stories a day, '
            f"{escape(row.state)}</title></rect>"
            f'<text class="value" x="{NAME_WIDTH + max(w, 1.5) + 4:.1f}" y="{y + 14}">'
            f"{row.per_day:.1f}</text>"
        )
    parts += [
        (
            f'<line x1="{NAME_WIDTH}" x2="{NAME_WIDTH}" y1="{plot_top}" '
            f'y2="{plot_top + ROW * len(rows)}" stroke="#555"/>'
        ),
        (
            f'<text class="x-title" x="{NAME_WIDTH + plot_w / 2:.1f}" y="{height - 4}" '
            'text-anchor="middle">stories per day</text>'
        ),
        "</svg>",
    ]
    return Markup("".join(parts))


def source_state(*, enabled: bool, error_count: int, crawled: bool) -> str:
    """A source's health in one word, as the chart colours it."""
    if not enabled:
        return "disabled"
    if error_count:
        return "failing"
    return "ok" if crawled else "never crawled"
