"""The catalog of sources and topics: one set of rules, whoever adds or changes them.

The web forms, the JSON API, the CLI and the YAML files (``wirewatch init``,
``sources load``, ``topics load``) all go through these functions, so what one
of them refuses the others refuse too, with the same message:

* a source name is 1-100 letters, digits, ``.``, ``_`` or ``-`` and starts
  with a letter or digit (``asia-wire``);
* a topic slug is 1-100 lowercase letters, digits or ``-`` and starts with a
  letter or digit (``police-liaison-migration``);
* a topic's name is 1-200 characters, its definition at most 5,000 and its
  query at most 10,000; the query must parse (the message shows where not);
* a source URL is http or https (for a Telegram source: a public channel,
  stored as its preview address). With an address policy, for URLs a person
  types into the CLI or the web app, its host must also resolve only to public
  addresses or to ones ``WIREWATCH_ALLOW_PRIVATE_HOSTS`` allows
  (``core.netguard``). A name that does not resolve right now is accepted:
  every fetch checks the address again anyway;
* a language is a code such as ``ru``, ``tg``, ``en`` or ``pt-BR``; a crawl
  interval is 1 to 10,080 minutes (7 days); a kind is ``feed``, ``telegram``,
  ``sitemap``, ``section`` or ``search`` (docs/sources.md);
* a search source's URL holds ``{query}``, where each topic's words go;
* a section source's link rules are a CSS selector and/or an XPath expression
  that compile;
* a new source may not take an existing source's name unless the caller says
  to replace it (``--replace``); the YAML files redefine sources by name.

What is *at* a URL (feed, sitemap, page naming a feed, section page...) is
found by fetching it, in ``wirewatch.sourcecheck``.

A refusal is a ``CatalogError`` (``field`` names the value) raised before
anything is written. Functions that write take the caller's session and never
commit: the caller's unit of work (a request, a command, a whole YAML file)
owns the transaction.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from core.errors import BlockedURLError, QueryError, SourceError, WirewatchError
from core.netguard import AddressPolicy, check_scheme_only, vet_host
from core.query import parse
from core.translatable import Translatable, Translations
from db import catalog as catalog_queries
from db import queries, sources
from db.models import Source, SourceKind, Topic
from sqlalchemy.orm import Session

# The API's OpenAPI schema publishes these same patterns and limits (web/schemas.py).
SOURCE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
TOPIC_SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,99}$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$"
MAX_URL = 2000
MAX_LANGUAGE = 8
MAX_INTERVAL = 7 * 24 * 60
MAX_TOPIC_NAME = 200
MAX_QUERY = 10_000
MAX_DEFINITION = 5000


class CatalogError(WirewatchError):
    """A source or topic breaks one of the catalog's rules; nothing was saved."""

    field = ""


class SourceNameError(CatalogError, SourceError):
    field = "name"


class SourceURLError(CatalogError, SourceError):
    field = "url"


class SourceKindError(CatalogError, SourceError):
    field = "kind"


class LanguageError(CatalogError, SourceError):
    field = "language"


class SourceExistsError(CatalogError, SourceError):
    field = "name"


class IntervalError(CatalogError, SourceError):
    field = "interval_minutes"


class HomepageError(CatalogError, SourceError):
    field = "homepage"


class LinkRulesError(CatalogError, SourceError):
    field = "link_rules"


class TopicSlugError(CatalogError):
    field = "slug"


class TopicNameError(CatalogError):
    field = "name"


class TopicDefinitionError(CatalogError):
    field = "definition"


class TopicQueryError(CatalogError, QueryError):
    """The topic's query does not parse: names the topic, and ``position`` says where."""

    field = "query"

    def __init__(self, slug: str, error: QueryError, summary: Translatable | None = None) -> None:
        QueryError.__init__(self, error.reason_text, error.query, error.position)
        self.slug = slug
        self.summary = summary
        self.args = (
            str(summary)
            if summary
            else f"topic {slug!r} not saved: its query does not parse: {error}",
        )

    def localized(self, translations: Translations) -> str:
        if self.summary:
            return self.summary.render(translations)
        return Translatable.gettext(
            "topic %(slug)r not saved: its query does not parse: %(error)s",
            slug=self.slug,
            error=QueryError.localized(self, translations),
        ).render(translations)


# --- the rules, one value at a time ------------------------------------------------------


def check_source_name(value: str) -> str:
    name = value.strip()
    if not re.fullmatch(SOURCE_NAME_PATTERN, name):
        raise SourceNameError(
            Translatable.gettext(
                "source name %(name)r is not allowed: use 1-100 letters, digits, '.', '_' or "
                "'-', starting with a letter or digit (e.g. asia-wire)",
                name=value,
            )
        )
    return name


def check_topic_slug(value: str) -> str:
    if not re.fullmatch(TOPIC_SLUG_PATTERN, value):
        raise TopicSlugError(
            Translatable.gettext(
                "topic slug %(slug)r is not allowed: use 1-100 lowercase letters, digits or '-', "
                "starting with a letter or digit (e.g. police-liaison-migration)",
                slug=value,
            )
        )
    return value


def check_kind(value: SourceKind | str) -> SourceKind:
    try:
        return SourceKind(value)
    except ValueError:
        known = " or ".join(k.value for k in SourceKind)
        raise SourceKindError(
            Translatable.gettext(
                "source kind %(kind)r is unknown: use %(known)s", kind=value, known=known
            )
        ) from None


def check_language(value: str | None) -> str | None:
    """A language code, or None for none given."""
    code = (value or "").strip()
    if not code:
        return None
    if len(code) > MAX_LANGUAGE or not re.fullmatch(LANGUAGE_PATTERN, code):
        raise LanguageError(
            Translatable.gettext(
                "language %(language)r is not a language code: use two or three lowercase "
                "letters, optionally with a region (ru, tg, en, pt-BR)",
                language=value,
            )
        )
    return code


def check_interval(value: int | str | None, *, default: int) -> int:
    """Minutes between crawls; None takes ``default`` (the operator's setting)."""
    if value is None or value == "":
        return default
    minutes: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        minutes = value
    elif isinstance(value, str) and value.strip().isdigit():
        minutes = int(value.strip())
    if minutes is None or not 1 <= minutes <= MAX_INTERVAL:
        raise IntervalError(
            Translatable.gettext(
                "crawl interval %(interval)r is not allowed: give a whole number of minutes "
                "from 1 to %(max)s (7 days)",
                interval=value,
                max=MAX_INTERVAL,
            )
        )
    return minutes


def check_source_url(value: str, kind: SourceKind, policy: AddressPolicy | None = None) -> str:
    """The URL to store for a source.

    With a policy (user input: the CLI, the web app, the API) the host must
    also resolve only to public (or allowed) addresses.
    """
    url = value.strip()
    if not url:
        raise SourceURLError(
            Translatable.gettext("a source needs a URL (for Telegram: the channel, e.g. @asiaplus)")
        )
    if len(url) > MAX_URL:
        raise SourceURLError(
            Translatable.ngettext(
                "the URL is %(num)s character long; at most %(max)s are kept",
                "the URL is %(num)s characters long; at most %(max)s are kept",
                len(url),
                max=MAX_URL,
            )
        )
    if kind == SourceKind.SEARCH:
        from crawler.search_feeds import SearchTemplateError, check_template

        try:
            check_template(url)
        except SearchTemplateError as exc:
            raise SourceURLError(str(exc)) from exc
    if kind == SourceKind.TELEGRAM:
        from crawler.telegram import telegram_preview_url

        try:
            return telegram_preview_url(url)
        except SourceError as exc:
            raise SourceURLError(str(exc)) from exc
    try:
        check_scheme_only(url)
        if policy is not None:
            parts = urlsplit(url)
            # A name that does not resolve now is checked again at every fetch.
            with contextlib.suppress(OSError):
                vet_host(parts.hostname or "", policy, port=parts.port)
    except BlockedURLError as exc:
        raise SourceURLError(
            Translatable.gettext("refusing %(url)r: %(reason)s", url=url, reason=exc.reason)
        ) from exc
    return url


def check_link_rules(value: dict[str, Any] | None) -> dict[str, str] | None:
    """A section source's CSS/XPath rules for its article links, once they compile."""
    from crawler.sections import LinkRulesError as RuleError
    from crawler.sections import check_rules

    if value is not None and not isinstance(value, dict):
        raise LinkRulesError("link rules are a mapping: {css: '...', xpath: '...'}")
    try:
        return check_rules(value)
    except RuleError as exc:
        raise LinkRulesError(str(exc)) from exc


def check_homepage(value: str | None) -> str | None:
    """A source's home page is only shown and linked, never fetched: http(s) is enough."""
    url = (value or "").strip()
    if not url:
        return None
    try:
        check_scheme_only(url)
    except BlockedURLError as exc:
        raise HomepageError(f"homepage {value!r} is not allowed: {exc.reason}") from exc
    return url


def check_topic_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise TopicNameError(Translatable.gettext("a topic needs a name (1-200 characters)"))
    if len(name) > MAX_TOPIC_NAME:
        raise TopicNameError(
            Translatable.ngettext(
                "the topic name is %(num)s character long; at most %(max)s",
                "the topic name is %(num)s characters long; at most %(max)s",
                len(name),
                max=MAX_TOPIC_NAME,
            )
        )
    return name


def check_definition(value: str) -> str:
    if len(value) > MAX_DEFINITION:
        raise TopicDefinitionError(
            Translatable.ngettext(
                "the topic definition is %(num)s character long; at most %(max)s",
                "the topic definition is %(num)s characters long; at most %(max)s",
                len(value),
                max=MAX_DEFINITION,
            )
        )
    return value


def check_query(slug: str, value: str) -> str:
    """The query as given, once it parses; a TopicQueryError shows where it does not."""
    if len(value) > MAX_QUERY:
        raise TopicQueryError(
            slug,
            QueryError(Translatable.gettext("the query is too long"), value, MAX_QUERY),
            Translatable.ngettext(
                "topic %(slug)r not saved: its query is %(num)s character long; at most %(max)s",
                "topic %(slug)r not saved: its query is %(num)s characters long; at most %(max)s",
                len(value),
                slug=slug,
                max=MAX_QUERY,
            ),
        )
    try:
        parse(value)
    except QueryError as exc:
        raise TopicQueryError(slug, exc) from exc
    return value


# --- whole definitions -----------------------------------------------------------------


@dataclass(frozen=True)
class SourceSpec:
    """A source definition that passed every rule."""

    name: str
    url: str
    kind: SourceKind
    language: str | None
    interval_minutes: int
    homepage: str | None = None
    enabled: bool = True
    link_rules: dict[str, str] | None = None


@dataclass(frozen=True)
class TopicSpec:
    """A topic definition that passed every rule."""

    slug: str
    name: str
    query: str
    definition: str = ""


def check_source(
    *,
    name: str,
    url: str,
    kind: SourceKind | str = SourceKind.FEED,
    language: str | None = None,
    interval_minutes: int | str | None = None,
    homepage: str | None = None,
    enabled: bool = True,
    link_rules: dict[str, Any] | None = None,
    default_interval: int,
    policy: AddressPolicy | None,
) -> SourceSpec:
    """Every rule, cheapest first: the URL (maybe a DNS lookup) is checked last."""
    checked_name = check_source_name(name)
    checked_kind = check_kind(kind)
    return SourceSpec(
        name=checked_name,
        kind=checked_kind,
        language=check_language(language),
        interval_minutes=check_interval(interval_minutes, default=default_interval),
        homepage=check_homepage(homepage),
        enabled=enabled,
        link_rules=check_link_rules(link_rules),
        url=check_source_url(url, checked_kind, policy),
    )


def check_topic(
    *, slug: str, query: str, name: str | None = None, definition: str = ""
) -> TopicSpec:
    """Every rule; a topic without a name is named by its slug."""
    checked_slug = check_topic_slug(slug)
    return TopicSpec(
        slug=checked_slug,
        name=check_topic_name(checked_slug if name is None else name),
        query=check_query(checked_slug, query),
        definition=check_definition(definition),
    )


# --- writing -------------------------------------------------------------------------------


def save_source(*, session: Session, spec: SourceSpec, replace: bool = True) -> tuple[Source, bool]:
    """Add the source, or redefine the one with this name; returns (source, created).

    With ``replace=False`` (what a person adding one source gets unless they say
    otherwise) an existing name is a SourceExistsError and nothing changes.
    """
    if not replace:
        existing = catalog_queries.find_source(session=session, name=spec.name)
        if existing is not None:
            raise SourceExistsError(
                Translatable.gettext(
                    "a source named %(name)r already exists (%(url)s): choose another name, or "
                    "replace it (--replace on the command line)",
                    name=spec.name,
                    url=existing.url,
                )
            )
    source, created = queries.upsert_source(
        session=session,
        name=spec.name,
        url=spec.url,
        kind=spec.kind,
        homepage=spec.homepage,
        language=spec.language,
        interval_minutes=spec.interval_minutes,
        enabled=spec.enabled,
    )
    source.link_rules = spec.link_rules
    return source, created


def set_link_rules(
    *, session: Session, name: str, css: str | None = None, xpath: str | None = None
) -> Source:
    """Give a section source its own article-link rules (neither: back to the heuristics)."""
    rules = check_link_rules({k: v for k, v in (("css", css), ("xpath", xpath)) if v})
    return sources.set_link_rules(session=session, name=name, rules=rules)


def save_topic(*, session: Session, spec: TopicSpec) -> tuple[Topic, bool]:
    """Add the topic, or redefine the one with this slug; returns (topic, created)."""
    return queries.upsert_topic(
        session=session,
        slug=spec.slug,
        name=spec.name,
        query=spec.query,
        definition=spec.definition,
    )


def set_source_enabled(*, session: Session, name: str, enabled: bool) -> Source:
    """A disabled source is not crawled; its stories stay in the archive."""
    source = queries.get_source(session=session, name=name)
    source.enabled = enabled
    session.flush()
    return source


def remove_source(*, session: Session, name: str) -> int:
    """Delete the source; its stories stay in the archive, no longer tied to a source.

    Returns how many stories it had. Deleting stories is a separate, deliberate
    act (``wirewatch stories delete``): their URLs are then never stored again.
    """
    source = queries.get_source(session=session, name=name)
    return catalog_queries.delete_source(session=session, source_id=source.id)


def set_topic_enabled(*, session: Session, slug: str, enabled: bool) -> Topic:
    """A disabled topic matches no new stories; its earlier matches stay."""
    topic = queries.get_topic(session=session, slug=slug)
    topic.enabled = enabled
    session.flush()
    return topic
