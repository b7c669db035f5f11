"""Stories tied by a link: a Telegram post and the article it points to.

A channel post that links to an article is that article's news, whatever its
words (often a headline and a line). When both are stored they belong to one
event, in either order of arrival:

* the post comes second: the stories at its links' addresses are looked up by
  URL key;
* the article comes second: the posts filed under the link key of its address
  (``codec.index_keys`` files a story under ``l:<address>`` for each link it
  carries) are looked up.

A post that links to reports of several events ties to none of them (a digest
post of the day's news); the ordinary placement decides then.
"""

from __future__ import annotations

from db import events as queries
from db.models import Story
from sqlalchemy.orm import Session

from crawler.events.codec import link_key
from crawler.events.signature import EventSignature
from crawler.urls import canonicalize_url, url_key


def linked_to(session: Session, links: frozenset[str] | set[str], exclude: int) -> list[Story]:
    """Stored stories at the addresses these links point to."""
    return queries.stories_by_url_keys(session=session, url_keys=_targets(links), exclude=exclude)


def linking_to(session: Session, story: Story) -> list[Story]:
    """Stored stories that carry a link to this story's address."""
    return queries.stories_filed_under(session=session, keys=_addresses(story), exclude=story.id)


def linking_ids(session: Session, story: Story) -> list[tuple[int, int | None]]:
    """(story id, event id) of ``linking_to``: placement needs no more of them."""
    return queries.events_filed_under(session=session, keys=_addresses(story), exclude=story.id)


def _targets(links: frozenset[str] | set[str]) -> set[str]:
    """The url keys of the stories these links point to."""
    return {url_key(canonicalize_url(link)) for link in links}


def _addresses(story: Story) -> set[int]:
    """The link keys a story linking to this one is filed under."""
    return {link_key(address) for address in (story.canonical_url, story.url) if address}


def linked_event_id(session: Session, story: Story, signature: EventSignature) -> int | None:
    """The one event the story is tied to by links, either way; None when none or several."""
    tied = []
    if signature.links:
        tied = queries.events_by_url_keys(
            session=session, url_keys=_targets(signature.links), exclude=story.id
        )
    tied += linking_ids(session, story)
    found = {event_id for _, event_id in tied if event_id is not None}
    return found.pop() if len(found) == 1 else None
