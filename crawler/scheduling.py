"""After each fetch of a source: when it is next due (the policy is ``crawler.polling``).

Reads the source's publishing rate from its stored stories and writes
``next_poll_at`` in the fetch's own transaction. With adaptive polling off,
a source is due its fixed interval after each crawl, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db import sources
from db.models import Source, SourceKind
from scrapy.settings import BaseSettings
from sqlalchemy.orm import Session

from crawler.items import SourceFetchItem
from crawler.polling import RATE_WINDOW, PollBounds, interval_for


@dataclass(frozen=True)
class PollScheduler:
    adaptive: bool
    bounds: PollBounds

    @classmethod
    def of(cls, settings: BaseSettings) -> PollScheduler:
        return cls(
            adaptive=settings.getbool("WIREWATCH_ADAPTIVE_POLLING", True),
            bounds=PollBounds(
                min_minutes=settings.getint("WIREWATCH_POLL_MIN_MINUTES", 5),
                max_minutes=settings.getint("WIREWATCH_POLL_MAX_MINUTES", 24 * 60),
                jitter=settings.getfloat("WIREWATCH_POLL_JITTER", 0.1),
            ),
        )

    def schedule(self, session: Session, item: SourceFetchItem, now: datetime) -> None:
        source = session.get(Source, item.source_id)
        if source is None:
            return
        recent: int | None = None
        oldest: datetime | None = None
        if self.adaptive and source.kind != SourceKind.SEARCH:
            # A search source's stories are filed under their outlets: its own rate says nothing.
            recent, oldest = sources.new_stories_since(
                session=session, source_id=source.id, since=now - RATE_WINDOW
            )
            # The entries just read count too: their new stories are not stored yet.
            listed = [t for t in item.published if now - RATE_WINDOW <= t <= now]
            if len(listed) > recent:
                recent = len(listed)
                oldest = min(listed)
        interval = interval_for(
            adaptive=self.adaptive,
            fixed_minutes=float(source.interval_minutes),
            recent_new=recent,
            age=now - source.created_at,
            oldest=now - oldest if oldest is not None else None,
            hints=item.hints,
            bounds=self.bounds,
        )
        sources.schedule_next_poll(
            session=session, source_id=source.id, when=now, interval_minutes=interval
        )
