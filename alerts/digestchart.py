"""The picture in a digest's footer: the topic's stories per day, this period and before.

A weekly digest (by default; ``WIREWATCH_DIGEST_CHART`` says which frequencies)
ends with a bar chart of the topic's matching stories per day over the last
``digest_chart_days`` days, the digest's own days drawn darker. It travels in
the message as an inline PNG (``alerts.chartpng``), since mail clients block
remote images and mostly show no SVG. The picture holds digits, dates and the
axis titles; the topic's name and the figures in words go in the caption and
the alt text, so a reader without images loses nothing. The templates word
those in the subscriber's language; this module only counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache

from core.charts import Bar, day_bars
from core.settings import Settings
from db import deliveries
from db.models import Frequency, Subscription
from sqlalchemy.orm import Session

from alerts.chartpng import bar_png
from alerts.senders.message import InlineImage

X_TITLE = "day (UTC)"
Y_TITLE = "stories"
FILENAME = "stories-per-day.png"
# The days a digest of each frequency covers: the bars drawn darker.
PERIOD_DAYS = {Frequency.WEEKLY: 7, Frequency.DAILY: 1, Frequency.HOURLY: 1, Frequency.INSTANT: 1}


@dataclass(frozen=True)
class DigestChart:
    """The figures of one digest's chart, its picture, and the words that go with it."""

    topic_name: str
    bars: list[Bar]
    period_days: int  # the last bars, drawn darker: the days the digest covers
    png: bytes

    @property
    def recent(self) -> int:
        """Stories on the digest's own days."""
        return sum(bar.value for bar in self.bars[-self.period_days :])

    @property
    def earlier(self) -> int:
        """Stories on the days before them."""
        return sum(bar.value for bar in self.bars[: -self.period_days])

    @property
    def first_day(self) -> str:
        return self.bars[0].label

    @property
    def last_day(self) -> str:
        return self.bars[-1].label

    @property
    def days_before(self) -> int:
        """How many days the lighter bars cover."""
        return len(self.bars) - self.period_days

    @property
    def figures(self) -> str:
        """Every day's figure, for the picture's text alternative (the template words it)."""
        return ", ".join(f"{bar.label}: {bar.value}" for bar in self.bars)

    def image(self, content_id: str) -> InlineImage:
        return InlineImage(content_id=content_id, data=self.png, filename=FILENAME)


def digest_chart(
    session: Session, settings: Settings, sub: Subscription, now: datetime
) -> DigestChart | None:
    """The chart for this subscription's digest, or None when its frequency has none or
    the topic had no stories in the chart's days (an empty chart says nothing)."""
    if not settings.digest_chart_for(sub.frequency.value):
        return None
    last = now.astimezone(UTC).date()
    first = last - timedelta(days=settings.digest_chart_days - 1)
    counts = deliveries.topic_stories_by_day(
        session=session,
        topic_id=sub.topic_id,
        since=datetime.combine(first, time(), UTC),
        until=now,
    )
    bars = day_bars(counts, first, last)
    if not any(bar.value for bar in bars):
        return None
    period = PERIOD_DAYS[sub.frequency]  # fewer than the chart's days (at least 14)
    png = _picture(tuple(bars), bars[-period].label)
    return DigestChart(topic_name=sub.topic.name, bars=bars, period_days=period, png=png)


@lru_cache(maxsize=64)
def _picture(bars: tuple[Bar, ...], highlight_from: str) -> bytes:
    """Drawn once per topic and run: every subscriber of a topic gets the same figures,
    and drawing takes tens of milliseconds."""
    return bar_png(bars, x_title=X_TITLE, y_title=Y_TITLE, highlight_from=highlight_from)
