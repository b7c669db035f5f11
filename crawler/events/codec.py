"""Signatures to and from the JSON kept in ``event_signatures``, and their index keys.

A signature keeps only what later comparisons need (its words are capped at
``signature.MAX_WORDS``), so it stays a few hundred bytes however long the story.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from crawler.events.signature import EventSignature
from crawler.urls import canonicalize_url

# Index keys: what two reports of one event in different languages share.
_KEY_PREFIXES = ("c", "n", "d")


def to_json(signature: EventSignature) -> dict[str, Any]:
    return {
        "c": sorted(signature.concepts),
        "w": signature.words,
        "t": sorted(signature.title_words),
        "tc": sorted(signature.title_concepts),
        "r": signature.title_repeat,
        "n": sorted(signature.names),
        "d": sorted(signature.numbers),
        "dt": sorted(signature.dates),
        "l": signature.lang,
        "p": signature.published.isoformat() if signature.published else None,
        "u": signature.url,
        "k": sorted(signature.links),
        "s": signature.source,
    }


def from_json(data: dict[str, Any]) -> EventSignature:
    published = data.get("p")
    return EventSignature(
        concepts=frozenset(data.get("c", ())),
        words={str(k): int(v) for k, v in (data.get("w") or {}).items()},
        names=frozenset(data.get("n", ())),
        numbers=frozenset(data.get("d", ())),
        dates=frozenset(data.get("dt", ())),
        title_words=frozenset(data.get("t", ())),
        title_concepts=frozenset(data.get("tc", ())),
        title_repeat=bool(data.get("r", False)),
        lang=data.get("l"),
        published=datetime.fromisoformat(published) if published else None,
        url=data.get("u"),
        links=frozenset(data.get("k", ())),
        source=data.get("s"),
    )


def index_keys(signature: EventSignature, *, common: frozenset[str] = frozenset()) -> list[int]:
    """Hashed keys a report is filed under: its concepts, names, figures and links.

    ``common`` lists concept names too frequent to narrow a lookup (every
    story of the beat mentions the police); they are still compared, just not
    used to find candidates.
    """
    texts = [f"c:{c}" for c in signature.concepts if c not in common]
    texts += [f"n:{n}" for n in signature.names]
    texts += [f"d:{d}" for d in signature.numbers]
    keys = {key_hash(text) for text in texts}
    # Filed under each address it links to, so the article, stored later, finds it.
    keys |= {link_key(link) for link in signature.links}
    return sorted(keys)


def link_key(address: str) -> int:
    """The key a story linking to ``address`` is filed under (canonical form)."""
    return key_hash(f"l:{canonicalize_url(address)}")


def key_hash(text: str) -> int:
    """A signed 63-bit hash (fits BIGINT on PostgreSQL and INTEGER on SQLite)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") >> 1
