"""Channel previews served page by page, the way t.me/s/<channel>?before=N pages them.

A fixture file holds a channel's whole history. t.me shows the newest posts
(20 at most) with a "more" link carrying ``data-before`` (the oldest post id
shown) while older posts exist; ``?before=N`` shows the posts older than N.
The crawler's backfill follows those links, so the fixture must page the same
way to test it. Blocks are cut on t.me's own markers, not parsed: the page
is served as written, only shortened.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

# t.me's page size; tests use smaller pages to exercise paging on short fixtures.
TELEGRAM_PAGE_SIZE = 20

_HISTORY_OPEN = '<section class="tgme_channel_history js-message_history">'
_HISTORY_CLOSE = "</section>"
_MESSAGE_OPEN = '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
_MORE_LINK = re.compile(
    r'\s*<div class="tgme_widget_message_centered js-messages_more_wrap">.*?</div>', re.DOTALL
)
_POST_ID = re.compile(r'data-post="[^"/]+/(\d+)"')


def before_of(query: str) -> int | None:
    """The ``before`` post id of a query string, None when absent or not a number."""
    values = parse_qs(query).get("before", [])
    return int(values[0]) if values and values[0].isdigit() else None


def page_of(html: str, channel: str, *, before: int | None, size: int = TELEGRAM_PAGE_SIZE) -> str:
    """The page of posts older than ``before`` (the newest ``size`` of them)."""
    head, opened, rest = html.partition(_HISTORY_OPEN)
    history, closed, tail = rest.partition(_HISTORY_CLOSE)
    if not opened or not closed:
        return html  # not a channel history: serve it as written
    history = _MORE_LINK.sub("", history)
    lead, *chunks = history.split(_MESSAGE_OPEN)
    posts: list[tuple[int, str]] = []
    for chunk in chunks:
        found = _POST_ID.search(chunk)
        if found is not None:
            posts.append((int(found.group(1)), _MESSAGE_OPEN + chunk))
    older = [post for post in posts if before is None or post[0] < before]
    shown = older[-size:] if size > 0 else older
    more = ""
    if len(shown) < len(older):
        oldest = shown[0][0]
        more = (
            '\n          <div class="tgme_widget_message_centered js-messages_more_wrap">\n'
            f'            <a href="/s/{channel}?before={oldest}" data-before="{oldest}" '
            'class="tme_messages_more js-messages_more"></a>\n          </div>\n          '
        )
    body = "".join(block for _, block in shown)
    return head + opened + lead.rstrip() + more + body + closed + tail
