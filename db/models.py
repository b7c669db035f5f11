"""The archive's tables, as typed SQLAlchemy 2 models.

The database is the single source of truth for everything that must survive a
crash: what was fetched (stories, crawl runs), what matched (topic matches),
and what was sent (digests, deliveries). Uniqueness that protects users from
duplicates is enforced here by constraints, not by code that checks first.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false, true
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both engines (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored; attach a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class SourceKind(enum.StrEnum):
    """How a source is read; stored as text (non-native enum), so new kinds need no migration."""

    FEED = "feed"  # RSS, Atom, RDF or JSON Feed
    TELEGRAM = "telegram"  # a public channel's web preview
    SITEMAP = "sitemap"  # a sitemap or news sitemap: recent URLs are followed
    SECTION = "section"  # an HTML page listing articles, for sites without a feed
    SEARCH = "search"  # a search engine's feed, URL template with {query}


class Frequency(enum.StrEnum):
    INSTANT = "instant"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"


class DeliveryStatus(enum.StrEnum):
    """pending → sending → sent | failed | unknown (sent state could not be confirmed)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"


class CrawlStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # some sources failed, the rest were stored
    FAILED = "failed"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=16, values_callable=_values)


def _values(cls: type[enum.StrEnum]) -> list[str]:
    return [member.value for member in cls]


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[SourceKind] = mapped_column(_enum(SourceKind, "source_kind"))
    url: Mapped[str] = mapped_column(String(2000))
    homepage: Mapped[str | None] = mapped_column(String(2000))
    language: Mapped[str | None] = mapped_column(String(8))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    interval_minutes: Mapped[int] = mapped_column(Integer, default=30)
    # Conditional GET state, remembered per source.
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    # Health, shown to the user next to the source.
    last_crawled_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_new_story_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    error_count: Mapped[int] = mapped_column(Integer, default=0)  # failures in a row
    # The class of the last failure (core.failures.FailureKind), since when it has
    # failed without a success, when it was paused for that (re-probed daily), and
    # when the operator was told about this incident (once per incident).
    failure_kind: Mapped[str | None] = mapped_column(String(20))
    failing_since: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    alerted_at: Mapped[datetime | None]
    # Polls answered, and of those answered 304 Not Modified.
    fetch_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    not_modified_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Adaptive polling (crawler.polling): when the source is next due, and the
    # interval it was last given (from its publishing rate and what the server
    # asked for: ttl, sy:updatePeriod, Cache-Control, Retry-After).
    next_poll_at: Mapped[datetime | None] = mapped_column(index=True)
    poll_minutes: Mapped[int | None] = mapped_column(Integer)
    # A section source's own rules for finding article links (crawler.sections):
    # {"css": "...", "xpath": "..."}; None: the default heuristics.
    link_rules: Mapped[dict[str, Any] | None] = mapped_column()

    stories: Mapped[list[Story]] = relationship(back_populates="source")


class Cluster(Base):
    """One real-world story, reported by one or more outlets.

    Its id names it in ``/?cluster=N`` links, API results and CLI output, so
    it is never reused, though clusters are deleted in normal operation
    (merged away, or their last story deleted): SQLite needs AUTOINCREMENT for
    that, as for ``Story``.
    """

    __tablename__ = "clusters"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Not a foreign key: clusters and stories reference each other, and the
    # first story may be deleted while its copies live on.
    first_story_id: Mapped[int | None] = mapped_column(Integer)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    size: Mapped[int] = mapped_column(Integer, default=1)
    languages: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Event(Base):
    """One happening, reported by one or more clusters of stories, in any language.

    A cluster holds copies of one text; an event holds independent reports of
    one act (crawler/events places each new story). Like clusters, its id is
    never reused, and operators may split and merge events: a story an
    operator placed is ``event_pinned`` and never moved by the placement.
    ``follows_event_id`` links a later development to the event it continues.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_first_at", "first_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_story_id: Mapped[int | None] = mapped_column(Integer)
    lead_story_id: Mapped[int | None] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(default=utcnow)
    size: Mapped[int] = mapped_column(Integer, default=1)
    languages: Mapped[dict[str, Any]] = mapped_column(default=dict)
    follows_event_id: Mapped[int | None] = mapped_column(Integer)


class EventSignatureRow(Base):
    """A story's event signature (crawler.events.signature), kept to compare later reports."""

    __tablename__ = "event_signatures"

    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[dict[str, Any]] = mapped_column()


class EventKey(Base):
    """Inverted index of signature keys (concepts, names, figures), to find candidate events.

    ``key`` is a 63-bit hash of the key text; ``at`` is the story's time, so a
    lookup reads only the keys of stories inside the placement window.
    """

    __tablename__ = "event_keys"
    __table_args__ = (
        # story_id too: the candidate lookup counts shared keys from the index alone.
        Index("ix_event_keys_key_at_story", "key", "at", "story_id"),
        Index("ix_event_keys_story_id", "story_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[int] = mapped_column(BigInteger)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column()


class TermFrequency(Base):
    """How many stored stories carry each signature key: rare keys weigh more.

    The row with the empty key counts the stories themselves.
    """

    __tablename__ = "term_frequencies"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    df: Mapped[int] = mapped_column(Integer, default=0)


class Story(Base):
    """One stored article; its id names it in links and emails, so it is never reused.

    SQLite needs AUTOINCREMENT for that: a plain INTEGER PRIMARY KEY hands the
    id of the newest story, once deleted, to the next one stored. PostgreSQL's
    sequence never goes back.
    """

    __tablename__ = "stories"
    __table_args__ = (
        Index("ix_stories_published_at", "published_at"),
        Index("ix_stories_fetched_at", "fetched_at"),
        Index("ix_stories_fingerprint", "fingerprint"),
        Index("ix_stories_cluster_id", "cluster_id"),
        Index("ix_stories_event_id", "event_id"),
        Index("ix_stories_source_id", "source_id"),
        # Stories waiting for topic matching: the scheduler asks every few seconds.
        Index(
            "ix_stories_unmatched",
            "id",
            sqlite_where=text("matched_at IS NULL"),
            postgresql_where=text("matched_at IS NULL"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The canonical URL is the story's identity; url_key is its SHA-256 so the
    # unique index stays small whatever the URL length.
    url_key: Mapped[str] = mapped_column(String(64), unique=True)
    canonical_url: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    canonicalizer_version: Mapped[int] = mapped_column(Integer, default=1)
    guid: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    # Provenance: the kind of the source that found it first (kept if the source
    # goes), and seconds from its published time to being found (None: unknown).
    found_kind: Mapped[str | None] = mapped_column(String(16))
    found_delay_seconds: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    authors: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str | None] = mapped_column(String(8))
    published_at: Mapped[datetime | None]
    published_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]
    fingerprint: Mapped[str] = mapped_column(String(64))
    extraction_method: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id", ondelete="SET NULL"))
    # Not a foreign key: adding one to SQLite's stories table would rebuild it
    # (a million rows, search triggers and all); events are only deleted by
    # merging, which moves their stories first.
    event_id: Mapped[int | None] = mapped_column(Integer)
    # A server default, not a Python one: inserts that do not name it (older
    # schema revisions, bulk loads) leave it to the database.
    event_pinned: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # Set once topic matching has looked at this version of the story.
    matched_at: Mapped[datetime | None]

    source: Mapped[Source | None] = relationship(back_populates="stories")


class StoryVersion(Base):
    """An earlier text of a story whose page changed after we stored it."""

    __tablename__ = "story_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)


class Tombstone(Base):
    """A deleted story's identity, so the next crawl does not bring it back."""

    __tablename__ = "tombstones"

    url_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    canonical_url: Mapped[str] = mapped_column(Text)
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow)


class LshBand(Base):
    """MinHash LSH band hashes: the near-duplicate index lives in the database.

    Ordered by (band, hash, story_id) in one B-tree (``WITHOUT ROWID`` on
    SQLite), so a lookup reads only the index and a story's 40 inserts (32
    full-text bands, 8 lead bands) touch one tree at random, not two;
    ``story_id`` is indexed for deletes.
    """

    __tablename__ = "lsh_bands"
    __table_args__ = (
        Index("ix_lsh_bands_story_id", "story_id"),
        {"sqlite_with_rowid": False},
    )

    band: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )


class Topic(Base):
    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(Text, default="")
    query: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Whether the topic's relevance model (alerts.relevance) may add stories the
    # query missed and judge previews; the query alone decides when it is off.
    model_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


VIA_QUERY = "query"
VIA_MODEL = "model"


class TopicMatch(Base):
    __tablename__ = "topic_matches"
    __table_args__ = (
        UniqueConstraint("story_id", "topic_id"),
        Index("ix_topic_matches_topic_matched", "topic_id", "matched_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    matched_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Which terms fired, for the "why it matched" line.
    why: Mapped[list[Any]] = mapped_column(default=list)
    # What matched it: "query" (the topic's query) or "model" (the topic's
    # relevance model, for a story the query missed; see alerts.relevance).
    via: Mapped[str] = mapped_column(String(16), default=VIA_QUERY, server_default=VIA_QUERY)


class TopicFeedback(Base):
    """One reader's judgment of one story for one topic: relevant or not.

    ``who`` names the judge (``subscriber:<id>`` for a signed link from a
    digest, ``admin`` for the web app), so a later judgment by the same person
    replaces the earlier one. Judgments train the topic's relevance model.
    """

    __tablename__ = "topic_feedback"
    __table_args__ = (
        UniqueConstraint("topic_id", "story_id", "who"),
        Index("ix_topic_feedback_topic_judged", "topic_id", "judged_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    who: Mapped[str] = mapped_column(String(100))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL")
    )
    relevant: Mapped[bool] = mapped_column(Boolean)
    judged_at: Mapped[datetime] = mapped_column(default=utcnow)


class Subscriber(Base):
    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # The language of the digests and notices ("ru", "en"); None: the default_locale setting.
    locale: Mapped[str | None] = mapped_column(String(16))
    # Set when the mail provider reports a bounce or spam report: never mail again.
    suppressed_at: Mapped[datetime | None]
    suppressed_reason: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A random secret that signed confirmation and preferences links name;
    # replacing it revokes every such link sent before.
    token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # When the last confirmation email left: at most one per address per few
    # minutes, however often someone submits the form with this address.
    confirmation_sent_at: Mapped[datetime | None]

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan"
    )


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("subscriber_id", "topic_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    frequency: Mapped[Frequency] = mapped_column(_enum(Frequency, "frequency"))
    # Local hour for daily/weekly digests and weekday (0 = Monday) for weekly ones.
    send_hour: Mapped[int] = mapped_column(Integer, default=8)
    send_weekday: Mapped[int] = mapped_column(Integer, default=0)
    include_updates: Mapped[bool] = mapped_column(Boolean, default=True)
    # Digest entry order: "newest" first or most "coverage" (outlets) first.
    ordering: Mapped[str] = mapped_column(String(16), default="newest", server_default="newest")
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_at: Mapped[datetime | None]
    unsubscribe_token: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Stories matched at or before this moment have been considered for this
    # subscription; a digest covers what matched after it.
    last_sent_through: Mapped[datetime | None]
    last_digest_at: Mapped[datetime | None]

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    topic: Mapped[Topic] = relationship()


class Digest(Base):
    """One email (or webhook call): a batch of deliveries sent together."""

    __tablename__ = "digests"
    __table_args__ = (
        # One live digest per subscription and period; a released one (its
        # stories given back to the queue) no longer holds its period.
        Index(
            "uq_digests_unreleased_period",
            "subscription_id",
            "period_key",
            unique=True,
            sqlite_where=text("released_at IS NULL"),
            postgresql_where=text("released_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    # The period this digest covers in the subscriber's time zone
    # ("2026-11-28" daily, "2026-W48" weekly, "2026-11-28T14" hourly, a
    # timestamp for instant batches): two schedulers cannot both send it.
    period_key: Mapped[str] = mapped_column(String(40))
    # When the digest gave its stories back to the queue (the transport was
    # away, or an operator chose to send it again); it then holds no period.
    released_at: Mapped[datetime | None]
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus, "digest_status"))
    transport: Mapped[str | None] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(200))
    # When the transport said it took the message (SMTP 250, SendGrid 202), written
    # the moment it answered, and the id it gave: proof the digest went out even if
    # the process died before settling it.
    accepted_at: Mapped[datetime | None]
    provider_id: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class Delivery(Base):
    """A story promised to a subscriber: one row per (subscriber, story), ever."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "story_id"),
        Index("ix_deliveries_digest_id", "digest_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL")
    )
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id", ondelete="SET NULL"))
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus, "delivery_status"))
    story_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class UpdateDelivery(Base):
    """A later version of a story promised to a subscriber who was sent an earlier one.

    One row per (subscriber, story, version): an update is announced at most once.
    """

    __tablename__ = "update_deliveries"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "story_id", "story_version"),
        Index("ix_update_deliveries_digest_id", "digest_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="SET NULL")
    )
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digests.id", ondelete="SET NULL"))
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus, "update_status"))
    story_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class MailEvent(Base):
    """A mail provider's event (bounce, spam report, delivered...) that changed something.

    Providers retry their callbacks and re-number them, so the natural key
    (message, event, time, address) makes handling one event twice a no-op.
    """

    __tablename__ = "mail_events"
    __table_args__ = (UniqueConstraint("message_id", "event", "timestamp", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), default="")
    event: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    email: Mapped[str] = mapped_column(String(320))
    digest_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Webhook(Base):
    """A URL that receives a topic's new stories as signed JSON, for chat tools and scripts."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    # Shared with the receiver, which checks the HMAC-SHA256 signature with it.
    secret: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=0)

    topic: Mapped[Topic] = relationship()


class WebhookDelivery(Base):
    """A story version promised to a webhook; ``batch_id`` is the POST's idempotency key."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "story_id", "story_version"),
        Index("ix_webhook_deliveries_batch_id", "batch_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    story_version: Mapped[int] = mapped_column(Integer, default=1)
    batch_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus, "webhook_status"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class CrawlRun(Base):
    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None when the run covered every due source.
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    trigger: Mapped[str] = mapped_column(String(20), default="manual")
    status: Mapped[CrawlStatus] = mapped_column(_enum(CrawlStatus, "crawl_status"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # The process that settles the run (see core.process): a reader tells a run
    # whose owner died from one still going, by these or by the heartbeat.
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    pid_started: Mapped[str | None] = mapped_column(String(80))
    heartbeat_at: Mapped[datetime | None]
    sources_total: Mapped[int] = mapped_column(Integer, default=0)
    sources_done: Mapped[int] = mapped_column(Integer, default=0)
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    sources_failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    not_modified: Mapped[int] = mapped_column(Integer, default=0)
    # [{"source": name, "url": ..., "error": ...}, ...]
    errors: Mapped[list[Any]] = mapped_column(default=list)


class SchedulerLease(Base):
    """Who is the one scheduler allowed to run jobs right now."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
