"""Events as readers see them and operators correct them: show, split, merge, move.

An event holds the independent reports of one happening, across outlets and
languages (crawler/events places each new story). The placement can be wrong,
so an operator can correct it, from ``wirewatch events ...`` or the admin
forms of the web app; both call these functions, so the rules and the
messages are the same:

* **split** STORY: the story leaves its event for a new event of its own. A
  story that is already its event's only report has nothing to leave; a story
  stored before events existed (no event) gets an event of its own.
* **merge** TARGET SOURCE: every story of SOURCE moves into TARGET and SOURCE
  is deleted. Both must exist and differ. Developments recorded as following
  SOURCE follow TARGET; TARGET takes over what SOURCE followed if it followed
  nothing itself.
* **move** STORY EVENT: the story joins EVENT; the event it left is recounted,
  and deleted when that was its last report.

* **follow** EVENT EARLIER: record EVENT as a later development of EARLIER
  (placement sets this link itself when a story starts an event that
  continues an earlier one, ``crawler.events.followups``); **unfollow** EVENT
  clears it. EARLIER must exist, differ from EVENT and began before it, and
  must not itself follow EVENT, directly or through others (no loops). The
  placement never changes a link again once an event has started.

Every story an operator moves is pinned (``Story.event_pinned``): the
placement never moves it again, so corrections stick. Events are recounted
(size, languages, first and headline report) after each change. A refusal is
an ``EventError`` raised before anything is written. Functions that write take
the caller's session and never commit: the caller's unit of work owns the
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.errors import NotFoundError, WirewatchError
from db import archive as archive_reads
from db import events as queries
from db.models import Event, Story
from db.stories import get_story
from sqlalchemy.orm import Session

# Reports listed on an event's page, in the API and by `wirewatch events show`.
MAX_REPORTS = 500


class EventError(WirewatchError):
    """An event correction that cannot be made; nothing was changed."""


class UnknownEventError(EventError, NotFoundError):
    def __init__(self, event_id: int) -> None:
        super().__init__(
            f"no event with id {event_id}: it may have been merged into another "
            "(a story's page names the event it is in now)"
        )
        self.event_id = event_id


class UnknownStoryError(EventError, NotFoundError):
    def __init__(self, story_id: int) -> None:
        super().__init__(f"no story with id {story_id}: deleted, or never stored")
        self.story_id = story_id


class SameEventError(EventError):
    """Merging an event into itself, or moving a story into the event it is in."""


class NothingToSplitError(EventError):
    """The story is already the only report of its event."""


class FollowLoopError(EventError):
    """A follow-up link that would make an event follow itself, or a later event."""


@dataclass(frozen=True)
class Report:
    story_id: int
    title: str
    source: str
    language: str | None
    when: datetime
    url: str
    cluster_id: int | None
    pinned: bool  # placed by an operator: never moved by the placement
    lead: bool  # the event's headline report


@dataclass(frozen=True)
class EventLink:
    """Another event, named by its headline report."""

    event_id: int
    story_id: int | None
    title: str


@dataclass
class EventView:
    id: int
    size: int
    languages: dict[str, int]
    first_at: datetime
    first_story_id: int | None
    lead_story_id: int | None
    reports: list[Report]  # earliest first, at most MAX_REPORTS
    follows: EventLink | None = None  # the event this one develops
    followed_by: list[EventLink] = field(default_factory=list)  # later developments

    @property
    def outlets(self) -> int:
        """Outlets (sources) among the listed reports."""
        return len({r.source or f"#{r.story_id}" for r in self.reports})

    @property
    def lead(self) -> Report | None:
        return next((r for r in self.reports if r.lead), None)


@dataclass(frozen=True)
class Correction:
    """What a split, merge or move did, for the person who asked for it."""

    action: str  # "split", "merge" or "move"
    event_id: int  # the event the stories are in now
    story_ids: tuple[int, ...]  # the stories that moved (all pinned now)
    size: int  # reports of ``event_id`` now
    left: int | None  # the event they left (None: they had none)
    left_size: int  # reports ``left`` keeps; 0 when it was deleted

    def describe(self) -> str:
        """One line saying what changed, by id (a script can read it back)."""
        stories = _stories(self.story_ids)
        now = f"event {self.event_id} now has {_reports(self.size)}"
        if self.left is None:
            left = ""
        elif self.left_size == 0:
            left = f"; event {self.left} is gone (no report left)"
        else:
            left = f"; event {self.left} keeps {_reports(self.left_size)}"
        if self.action == "split":
            origin = f" left event {self.left} for" if self.left is not None else " is now in"
            return f"{stories}{origin} new event {self.event_id}, of its own (pinned){left}"
        if self.action == "merge":
            return (
                f"merged event {self.left} into event {self.event_id}: moved {stories} "
                f"(pinned); {now}{left}"
            )
        origin = f" from event {self.left}" if self.left is not None else ""
        return f"moved {stories}{origin} into event {self.event_id} (pinned); {now}{left}"


def _stories(ids: tuple[int, ...]) -> str:
    listed = ", ".join(str(i) for i in ids)
    return f"story {listed}" if len(ids) == 1 else f"stories {listed}"


def _reports(n: int) -> str:
    return f"{n} report" if n == 1 else f"{n} reports"


# --- reading ---------------------------------------------------------------------------


def show_event(session: Session, event_id: int) -> EventView:
    """An event with its reports and the developments it follows or is followed by."""
    event = _event(session, event_id)
    stories = queries.event_stories(session=session, event_id=event.id, limit=MAX_REPORTS)
    reports = [report_of(s, lead=s.id == event.lead_story_id) for s in stories]
    following = queries.events_following(session=session, event_id=event.id)
    linked = [*following]
    if event.follows_event_id is not None:
        linked += queries.events_by_id(session=session, ids=[event.follows_event_id]).values()
    leads = archive_reads.stories_by_id(
        session=session, ids=[e.lead_story_id for e in linked if e.lead_story_id is not None]
    )

    def link(other: Event) -> EventLink:
        lead = leads.get(other.lead_story_id) if other.lead_story_id is not None else None
        return EventLink(
            other.id,
            lead.id if lead is not None else None,
            lead.title if lead is not None else f"event {other.id}",
        )

    follows = next((link(e) for e in linked if e.id == event.follows_event_id), None)
    return EventView(
        id=event.id,
        size=event.size,
        languages=dict(event.languages or {}),
        first_at=event.first_at,
        first_story_id=event.first_story_id,
        lead_story_id=event.lead_story_id,
        reports=reports,
        follows=follows,
        followed_by=[link(e) for e in following],
    )


def report_of(story: Story, *, lead: bool) -> Report:
    """A story as one report of an event (its source loaded)."""
    return Report(
        story_id=story.id,
        title=story.title,
        source=story.source.name if story.source is not None else "",
        language=story.language,
        when=story.published_at or story.fetched_at,
        url=story.canonical_url,
        cluster_id=story.cluster_id,
        pinned=bool(story.event_pinned),
        lead=lead,
    )


def event_of(session: Session, story: Story) -> EventView | None:
    """The story's event, or None for a story stored before events (its own event)."""
    if story.event_id is None:
        return None
    try:
        return show_event(session, story.event_id)
    except UnknownEventError:
        return None


# --- corrections -----------------------------------------------------------------------


def split_story(session: Session, story_id: int) -> Correction:
    """The story leaves its event for a new one of its own, pinned."""
    story = _story(session, story_id)
    left = story.event_id
    if left is not None:
        members = queries.story_ids_of_event(session=session, event_id=left)
        if members == [story.id]:
            raise NothingToSplitError(
                f"story {story.id} is already the only report of event {left}: there is "
                "nothing to split it from (to group it with others, move it or merge events)"
            )
    event = queries.start_event(
        session=session, story=story, at=story.published_at or story.fetched_at, pinned=True
    )
    session.flush()
    left_size = _recount(session, left, successor=event)
    return Correction("split", event.id, (story.id,), 1, left, left_size)


def merge_events(session: Session, target_id: int, source_id: int) -> Correction:
    """Every story of ``source_id`` moves into ``target_id``, pinned; the source is deleted."""
    if target_id == source_id:
        raise SameEventError(
            f"cannot merge event {target_id} into itself: name the event to keep, "
            "then the one to merge into it"
        )
    target = _event(session, target_id)
    source = _event(session, source_id)
    moved = queries.story_ids_of_event(session=session, event_id=source.id)
    queries.move_stories(session=session, story_ids=moved, event_id=target.id)
    session.flush()
    _recount(session, source.id, successor=target)
    size = _size(session, target.id)
    return Correction("merge", target.id, tuple(moved), size, source.id, 0)


def move_story(session: Session, story_id: int, event_id: int) -> Correction:
    """The story joins ``event_id``, pinned; the event it left is recounted (or deleted)."""
    story = _story(session, story_id)
    event = _event(session, event_id)
    if story.event_id == event.id:
        raise SameEventError(f"story {story.id} is already in event {event.id}")
    left = story.event_id
    queries.move_stories(session=session, story_ids=[story.id], event_id=event.id)
    session.flush()
    left_size = _recount(session, left, successor=event)
    size = _size(session, event.id)
    return Correction("move", event.id, (story.id,), size, left, left_size)


def set_follows(session: Session, event_id: int, earlier_id: int | None) -> str:
    """Record ``event_id`` as a development of ``earlier_id`` (None: of nothing); one
    line saying what changed."""
    event = _event(session, event_id)
    if earlier_id is None:
        before = event.follows_event_id
        queries.set_follows(session=session, event_id=event.id, follows=None)
        if before is None:
            return f"event {event.id} followed no event; nothing changed"
        return f"event {event.id} no longer follows event {before}"
    if earlier_id == event.id:
        raise SameEventError(f"event {event.id} cannot follow itself")
    earlier = _event(session, earlier_id)
    if earlier.first_at > event.first_at:
        raise FollowLoopError(
            f"event {earlier.id} began after event {event.id}: a development follows an "
            f"earlier event (try `follow {earlier.id} {event.id}`)"
        )
    step: Event | None = earlier
    seen: set[int] = set()
    while step is not None and step.follows_event_id is not None and step.id not in seen:
        seen.add(step.id)
        if step.follows_event_id == event.id:
            raise FollowLoopError(
                f"event {earlier.id} already follows event {event.id}, through "
                f"{len(seen)} step(s): a link back would make a loop"
            )
        step = queries.events_by_id(session=session, ids=[step.follows_event_id]).get(
            step.follows_event_id
        )
    queries.set_follows(session=session, event_id=event.id, follows=earlier.id)
    return f"event {event.id} now follows event {earlier.id}"


def _story(session: Session, story_id: int) -> Story:
    story = get_story(session=session, story_id=story_id)
    if story is None:
        raise UnknownStoryError(story_id)
    return story


def _event(session: Session, event_id: int) -> Event:
    event = queries.events_by_id(session=session, ids=[event_id]).get(event_id)
    if event is None:
        raise UnknownEventError(event_id)
    return event


def _recount(session: Session, event_id: int | None, *, successor: Event) -> int:
    """Recount the event some stories left; its size, 0 when none was left and it was
    deleted. Then ``successor``, where they went, stands for it: developments that
    followed it follow ``successor``, which takes over what it followed when it
    followed nothing itself (or followed the deleted event)."""
    if event_id is None:
        return 0
    before = queries.events_by_id(session=session, ids=[event_id]).get(event_id)
    follows = before.follows_event_id if before is not None else None
    event = queries.recount(session=session, event_id=event_id)
    if event is not None:
        return event.size
    queries.retarget_follows(session=session, old=event_id, new=successor.id)
    if successor.follows_event_id in (None, event_id):
        successor.follows_event_id = follows if follows != successor.id else None
    session.flush()
    return 0


def _size(session: Session, event_id: int) -> int:
    event = queries.recount(session=session, event_id=event_id)
    return event.size if event is not None else 0
