"""Readers' feedback: "relevant" / "not relevant" for one story in one topic.

Two ways in, both kept per topic with one judgment per (topic, story, who),
a later one replacing the earlier:

* a signed link in every digest entry (``alerts.tokens``: subscriber, topic,
  story and verdict), usable without logging in. Opening the link only shows
  a confirmation page (mail scanners fetch links); its button POSTs;
* a button on the story's page in the web app, for the admin session.

Judgments train the topic's relevance model (``alerts.relevance``), which
retrains the next time matching runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.errors import NotFoundError
from db import archive, feedback, queries
from db.models import Story, Subscriber, Topic
from sqlalchemy.orm import Session

from alerts.tokens import TokenError, Tokens


@dataclass(frozen=True)
class FeedbackLink:
    """A checked feedback link: who judges which story for which topic, and how."""

    subscriber: Subscriber
    topic: Topic
    story: Story
    relevant: bool


def feedback_link(session: Session, tokens: Tokens, token: str) -> FeedbackLink:
    """Check a link from a digest; raises TokenError when it is forged, revoked or stale."""
    request = tokens.check_feedback(token)
    subscriber = queries.subscriber_by_token(session=session, token=request.subscriber_secret)
    if subscriber is None:
        raise TokenError("this feedback link is no longer valid")
    topic = feedback.topic_by_id(session=session, topic_id=request.topic_id)
    if (
        topic is None
        or queries.subscription_for(session=session, subscriber=subscriber, topic=topic) is None
    ):
        raise TokenError("this feedback link is no longer valid")
    story = archive.story_with_source(session=session, story_id=request.story_id)
    if story is None:
        raise TokenError("this story is no longer in the archive")
    return FeedbackLink(subscriber, topic, story, request.relevant)


def record_from_link(
    session: Session, tokens: Tokens, token: str, *, now: datetime
) -> FeedbackLink:
    """The POST behind a digest's feedback link: store the subscriber's verdict."""
    link = feedback_link(session, tokens, token)
    feedback.record_judgment(
        session=session,
        topic_id=link.topic.id,
        story_id=link.story.id,
        who=feedback.subscriber_judge(link.subscriber.id),
        subscriber_id=link.subscriber.id,
        relevant=link.relevant,
        when=now,
    )
    return link


def record_by_admin(
    session: Session, *, topic_slug: str, story_id: int, relevant: bool, now: datetime
) -> Topic:
    """The story page's buttons: the admin's verdict (raises NotFoundError)."""
    topic = queries.get_topic(session=session, slug=topic_slug)
    if archive.story_with_source(session=session, story_id=story_id) is None:
        raise NotFoundError(f"no story with id {story_id}")
    feedback.record_judgment(
        session=session,
        topic_id=topic.id,
        story_id=story_id,
        who=feedback.ADMIN,
        relevant=relevant,
        when=now,
    )
    return topic


def verdict(relevant: bool) -> str:
    return "relevant" if relevant else "not relevant"
