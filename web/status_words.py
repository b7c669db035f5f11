"""The one-word states of sources and crawls, in the page's language.

The words are stored and printed in English (the CLI, the JSON API, the CSS
classes of the pages); a page shows them through the ``status`` filter.
"""

from __future__ import annotations

from core.translatable import Translatable, Translations

SOURCE = {
    "ok": Translatable.pgettext("source status", "ok"),
    "new": Translatable.pgettext("source status", "new"),
    "silent": Translatable.pgettext("source status", "silent"),
    "failing": Translatable.pgettext("source status", "failing"),
    "paused": Translatable.pgettext("source status", "paused"),
    "disabled": Translatable.pgettext("source status", "disabled"),
    "never crawled": Translatable.pgettext("source status", "never crawled"),
}
CRAWL = {
    "running": Translatable.pgettext("crawl status", "running"),
    "succeeded": Translatable.pgettext("crawl status", "succeeded"),
    "partial": Translatable.pgettext("crawl status", "partial"),
    "failed": Translatable.pgettext("crawl status", "failed"),
}
KINDS = {"source": SOURCE, "crawl": CRAWL}


def status_word(word: object, kind: str, translations: Translations | None) -> str:
    """``word`` (a status or its enum) in the reader's language; an unknown one as it is."""
    value = str(getattr(word, "value", word))
    known = KINDS[kind].get(value)
    return known.render(translations) if known is not None else value
