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
from xml.sax.saxutils import escape, quoteattr

from core.charts import Bar, Frame, fill_days, layout_bars, nice_ticks, summary
from core.translatable import Translatable, Translations
from markupsafe import Markup

from web.status_words import status_word

__all__ = ["Bar", "HealthRow", "bar_chart", "fill_days", "health_chart", "nice_ticks"]

FRAME = Frame()
WIDTH = FRAME.width
HEIGHT = FRAME.height
BOTTOM = FRAME.bottom
TOP = FRAME.top
RIGHT = FRAME.right


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    x_title: str,
    y_title: str,
    translations: Translations | None = None,
) -> Markup:
    """An SVG bar chart with labelled axes, safe to put in a page as it is."""
    if not bars:
        return Markup("")
    layout = layout_bars(bars, FRAME)
    left, right_edge, top, baseline = FRAME.left, WIDTH - RIGHT, TOP, FRAME.baseline
    parts = [
        (
            f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'width="100%" role="img" aria-label={quoteattr(summary(bars, title, translations))} '
            'font-family="sans-serif" font-size="11">'
        ),
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="14" font-size="12" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in layout.ticks:
        parts.append(
            f'<line x1="{left}" x2="{right_edge}" y1="{tick.y:.1f}" y2="{tick.y:.1f}" '
            'stroke="#e3e3e3"/>'
            f'<text class="y-tick" x="{left - 4}" y="{tick.y + 4:.1f}" text-anchor="end">'
            f"{tick.value}</text>"
        )
    for box in layout.boxes:
        parts.append(
            f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
            f'height="{box.height:.1f}" fill="#5b7fb3"><title>{escape(box.bar.label)}: '
            f"{box.bar.value}</title></rect>"
        )
    for label in layout.labels:
        parts.append(
            f'<text class="x-tick" x="{label.x:.1f}" y="{baseline + 14}" '
            f'text-anchor="{label.anchor}">{escape(label.text)}</text>'
        )
    middle = top + FRAME.plot_height / 2
    parts += [
        f'<line x1="{left}" x2="{right_edge}" y1="{baseline}" y2="{baseline}" stroke="#555"/>',
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{baseline}" stroke="#555"/>',
        (
            f'<text class="x-title" x="{left + FRAME.plot_width / 2:.1f}" y="{HEIGHT - 4}" '
            f'text-anchor="middle">{escape(x_title)}</text>'
        ),
        (
            f'<text class="y-title" x="12" y="{middle:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 12 {middle:.1f})">{escape(y_title)}</text>'
        ),
        "</svg>",
    ]
    return Markup("".join(parts))


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


def health_chart(
    rows: Sequence[HealthRow], *, days: int, translations: Translations | None = None
) -> Markup:
    """One horizontal bar per source: stories per day, coloured by the source's health."""
    if not rows:
        return Markup("")
    ticks = nice_ticks(math.ceil(max(row.per_day for row in rows)))
    top = ticks[-1]
    plot_w = WIDTH - NAME_WIDTH - RIGHT - 36
    legend_y = TOP + 4
    plot_top = TOP + 24
    height = plot_top + ROW * len(rows) + BOTTOM
    t = translations

    def state(row: HealthRow) -> str:
        return status_word(row.state, "source", t)

    summary = "; ".join(
        Translatable.gettext(
            "%(name)s: %(per_day)s a day, %(state)s",
            name=row.name,
            per_day=format(row.per_day, ".1f"),
            state=state(row),
        ).render(t)
        for row in rows
    )
    x_title = Translatable.gettext("stories per day").render(t)
    label = Translatable.gettext("Sources: %(summary)s", summary=summary).render(t)
    title = Translatable.gettext("Sources: stories per day and health").render(t)
    heading = Translatable.ngettext(
        "Sources: stories per day over the last %(num)s day, coloured by health",
        "Sources: stories per day over the last %(num)s days, coloured by health",
        days,
    ).render(t)
    parts = [
        (
            f'<svg class="chart health" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
            f'aria-label={quoteattr(label)} font-family="sans-serif" '
            'font-size="11">'
        ),
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="14" font-size="12" font-weight="bold">{escape(heading)}</text>',
    ]
    x = 0
    for word, colour in HEALTH_COLOURS.items():
        shown = status_word(word, "source", t)
        parts.append(
            f'<rect x="{x}" y="{legend_y}" width="10" height="10" fill="{colour}"/>'
            f'<text class="legend" x="{x + 14}" y="{legend_y + 9}">{escape(shown)}</text>'
        )
        x += 24 + 7 * len(shown)
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
        row_title = Translatable.gettext(
            "%(name)s: %(per_day)s stories a day, %(state)s",
            name=row.name,
            per_day=format(row.per_day, ".1f"),
            state=state(row),
        ).render(t)
        parts.append(
            f'<text class="y-tick" x="{NAME_WIDTH - 6}" y="{y + 14}" text-anchor="end">'
            f"{escape(row.name)}</text>"
            f'<rect x="{NAME_WIDTH}" y="{y + 4}" width="{max(w, 1.5):.1f}" height="{ROW - 8}" '
            f'fill="{colour}"><title>{escape(row_title)}</title></rect>'
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
            f'text-anchor="middle">{escape(x_title)}</text>'
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
