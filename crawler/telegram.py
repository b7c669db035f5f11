"""Public Telegram channels read through their web preview (``https://t.me/s/<channel>``).

The preview page is plain HTML listing the latest ~20 posts, so a channel can be
watched without an account or an API key. Posts come back as the feed reader's
``FeedEntry``/``ParsedFeed`` so the spider and the pipelines treat a channel
exactly like a feed. Posts have no titles and no article page behind them: the
title is cut from the text and the whole text is the content.

The text is cleaned the way a reader skims a post: emoji, a trailing
"Подробнее →"/"Read more"/"Муфассал"/"Бештар" line, lines of nothing but
hashtags and the channel's signature lines ("@channel", "Подписывайтесь на наш
канал", a last line repeated under several posts) leave the body. The post's
outbound article links are kept apart, as :attr:`TelegramPost.links`.

The page is only ever parsed (lxml, no network, nothing executed); script and
style elements are dropped with their content, and only text leaves this module.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from core.errors import SourceError
from lxml import etree, html
from w3lib.encoding import html_to_unicode

from crawler.feeds import FUTURE_TOLERANCE, FeedEntry, ParsedFeed
from crawler.text import normalise_whitespace

PREVIEW_ROOT = "https://t.me/s/"
PERMALINK_ROOT = "https://t.me/"
NOT_A_PREVIEW = "not a Telegram channel preview page"
TITLE_MAX_CHARS = 140
SUMMARY_MAX_CHARS = 600
# A sentence shorter than this ("СРОЧНО!", "Breaking.") is a kicker, not a title.
TITLE_MIN_SENTENCE_CHARS = 25

_CHANNEL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")
_TELEGRAM_HOSTS = frozenset({"t.me", "www.t.me", "telegram.me", "www.telegram.me", "telegram.dog"})
# First path segments of t.me links that are features, not channels.
_RESERVED_PATHS = frozenset(
    [
        "addemoji",
        "addlist",
        "addstickers",
        "addtheme",
        "boost",
        "confirmphone",
        "contact",
        "giftcode",
        "invoice",
        "joinchat",
        "login",
        "proxy",
        "setlanguage",
        "share",
        "socks",
    ]
)
_DATA_POST = re.compile(r"([A-Za-z][A-Za-z0-9_]{2,31})/([0-9]{1,12})")

_DROPPED_TAGS = frozenset(
    {"script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math"}
)
_PARAGRAPH_TAGS = frozenset({"p", "blockquote", "pre", "ul", "ol", "table", "h1", "h2", "h3"})
_LINE_TAGS = frozenset({"div", "li", "tr", "h4", "h5", "h6"})
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")
# End of a sentence: terminal punctuation, optional closing quotes, then space; the next
# word must start with a capital or a digit (checked in code: Tajik capitals are not in
# any regex range worth maintaining).
_SENTENCE_END = re.compile(r"([.!?…]+[\"»”')\]]*)\s+[«\"„“(\[]?(.)")
_ABBREVIATION = re.compile(
    r"(?:^|\s)(?:[^\W\d_]|г|гг|им|ул|пр|пос|тыс|млн|млрд|руб|ст|св|Mr|Mrs|Ms|Dr|St|Jr|vs)$"
)
# Which media a text-less post carries, for the "skipped" reason.
_MEDIA_KINDS = (
    ("tgme_widget_message_photo_wrap", "photo"),
    ("tgme_widget_message_video_player", "video"),
    ("tgme_widget_message_roundvideo_player", "video message"),
    ("tgme_widget_message_voice_player", "voice message"),
    ("tgme_widget_message_document_wrap", "document"),
    ("tgme_widget_message_sticker_wrap", "sticker"),
    ("tgme_widget_message_poll", "poll"),
    ("tgme_widget_message_location_wrap", "location"),
    ("message_media_not_supported_wrap", "media shown only in the app"),
)


# Emoji and their joiners: pictographs, dingbats, symbols used as bullets, variation
# selectors, keycaps and tag sequences. Letters, digits, "°", "©" and arrows stay.
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\u25a0-\u25ff"
    "\ufe00-\ufe0f\u200d\u20e3\u203c\u2049\U000e0020-\U000e007f]"
)
_SEPARATORS = r"[:—–\-→>»|.…]"
# "Read more" labels: Russian, English, Tajik, Uzbek.
_MORE_LABEL = (
    r"(?:подробнее|подробности|читать\s+(?:далее|полностью)|читайте\s+(?:подробнее|полностью)"
    r"|read\s+more|more|full\s+story|details|муфассал(?:тар)?|маълумоти\s+бештар"
    r"|бештар(?:\s+хонед)?|тафсилот|batafsil|батафсил|batafsil\s+o.qing)"
)
_MORE_WHERE = (
    r"(?:по\s+ссылке|на\s+(?:нашем\s+)?сайте|в\s+(?:нашем\s+)?материале|в\s+источнике|тут|здесь"
    r"|here|at|on\s+(?:our\s+)?(?:website|site)|дар\s+сомона|дар\s+сайт\w*|ин\s+ҷо|havolada)"
)
# A whole line that only points elsewhere: "Подробнее — на нашем сайте", "Read more: <url>".
_MORE_LINE = re.compile(
    rf"^{_MORE_LABEL}(?:\s*{_SEPARATORS}+|\s+{_MORE_WHERE}|\s+(?=https?://|www\.)|\s*$)",
    re.IGNORECASE,
)
# The same label closing a sentence: "... информацией. Подробнее: https://..."
_MORE_TAIL = re.compile(
    rf"(?<=[.!?…»\")])\s+{_MORE_LABEL}\s*(?:{_SEPARATORS}+|{_MORE_WHERE}).*$", re.IGNORECASE
)
_URL = re.compile(r"(?:https?://|www\.|t\.me/)\S+", re.IGNORECASE)
_HASHTAG_LINE = re.compile(r"^(?:#[\w.]+[\s,;·|]*)+$")
_HANDLE = re.compile(r"(?:^|\s)@[A-Za-z][A-Za-z0-9_]{3,31}\b|t\.me/", re.IGNORECASE)
_SUBSCRIBE = re.compile(
    r"подпи(?:сывайтесь|шитесь|саться)|subscribe|join\s+(?:us|our)|наш\s+(?:канал|telegram|телеграм)"
    r"|obuna|обуна|аъзо\s+шавед|канали\s+мо|присоединяйтесь",
    re.IGNORECASE,
)
_SOCIAL_NAMES = re.compile(
    r"^(?:(?:telegram|телеграм|vk|вконтакте|instagram|facebook|twitter|x|youtube|tiktok|ok"
    r"|одноклассники|whatsapp|viber|сайт|website|дзен|rutube)[\s|•·,/]*)+$",
    re.IGNORECASE,
)
_SPACES = re.compile(r"[ \t]{2,}")
SIGNATURE_MAX_WORDS = 10
MORE_MAX_WORDS = 10


@dataclass(frozen=True)
class TelegramPost(FeedEntry):
    """A post as a feed entry, plus the outbound article links it carries."""

    links: list[str] = field(default_factory=list)


def telegram_preview_url(channel_or_url: str) -> str:
    """The preview address of a public channel given by name, ``@name`` or any t.me link."""
    value = channel_or_url.strip()
    name = _channel_from_link(value) if "/" in value or "." in value else value.removeprefix("@")
    if not _CHANNEL_NAME.fullmatch(name):
        raise SourceError(
            f"{channel_or_url!r} does not name a public Telegram channel: a channel name is "
            "5-32 letters, digits or underscores and starts with a letter "
            "(e.g. https://t.me/s/asiaplus or @asiaplus)"
        )
    if name.lower() in _RESERVED_PATHS:
        raise SourceError(f"{channel_or_url!r} is a Telegram {name!r} link, not a channel")
    return PREVIEW_ROOT + name.lower()


def _channel_from_link(value: str) -> str:
    link = value if "://" in value else f"https://{value}"
    try:
        parts = urlsplit(link)
        host = (parts.hostname or "").lower()
    except ValueError as exc:
        raise SourceError(f"{value!r} is not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or host not in _TELEGRAM_HOSTS:
        raise SourceError(
            f"{value!r} is not a Telegram channel link: expected https://t.me/s/<channel>"
        )
    segments = [s for s in parts.path.split("/") if s]
    if segments[:1] == ["s"]:
        segments = segments[1:]
    if not segments or segments[0].startswith("+") or segments[0] in ("c", "joinchat"):
        raise SourceError(
            f"{value!r} is not a public channel link (private channels and invite links "
            "have no web preview)"
        )
    if len(segments) > 2 or (len(segments) == 2 and not segments[1].isdigit()):
        raise SourceError(f"{value!r} is not a Telegram channel link: unexpected path")
    return segments[0]


def parse_telegram_page(
    body: bytes, *, base_url: str, fetched_at: datetime | None = None
) -> ParsedFeed:
    """Posts of a t.me/s preview page as feed entries; never raises for bad content.

    ``base_url`` is accepted for symmetry with ``parse_feed``; permalinks always
    point at t.me, whoever served the page.
    """
    fetched_at = fetched_at or datetime.now(UTC)
    root = _parse_html(body)
    if root is None:
        return _not_a_preview()
    header = _first(root, f".//*[{_cls('tgme_channel_info_header_title')}]")
    messages = root.xpath(f".//div[{_cls('tgme_widget_message')}][@data-post]")
    if header is None and not messages:
        return _not_a_preview()
    channel_title = _channel_title(root, header)
    texts = [_message_text(message) for message in messages]
    signatures = _repeated_last_lines(texts)
    entries: list[FeedEntry] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for message, raw in zip(messages, texts, strict=True):
        text = clean_post_text(raw, channel_title, signatures)
        entry, reason = _entry(message, text, channel_title, fetched_at, seen)
        if entry is None:
            skipped.append(reason)
        else:
            entries.append(entry)
    title = channel_title or (entries[0].authors[0] if entries and entries[0].authors else "")
    return ParsedFeed(
        title=title,
        language=None,
        entries=entries,
        skipped=skipped,
        older_page=_older_page(root, base_url),
    )


def _older_page(root: Any, base_url: str) -> str | None:
    """``base_url?before=N`` when the page says older posts exist (t.me's "more" link).

    The link's own href is site-relative to t.me; the preview's address is
    what the source was configured with, so the query goes on that.
    """
    more = _first(root, f".//a[{_cls('js-messages_more')}][@data-before]")
    before = (more.get("data-before") or "").strip() if more is not None else ""
    if not before.isdigit():
        return None
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, f"before={before}", ""))


def _not_a_preview() -> ParsedFeed:
    return ParsedFeed(title="", language=None, entries=[], malformed=NOT_A_PREVIEW)


def _parse_html(body: bytes) -> Any | None:
    if not body.strip():
        return None
    _, text = html_to_unicode(None, body)
    parser = html.HTMLParser(
        encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True
    )
    try:
        return html.document_fromstring(text.encode("utf-8"), parser=parser)
    except (etree.ParserError, ValueError):
        return None


def _cls(name: str) -> str:
    """XPath test for one class token (``contains(@class, …)`` would also match prefixes)."""
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


# Inside a quoted reply or a link preview card: someone else's text.
_QUOTED = (
    f"ancestor::*[{_cls('tgme_widget_message_reply')} or "
    f"{_cls('tgme_widget_message_link_preview')}]"
)


def _first(element: Any, xpath: str) -> Any | None:
    found = element.xpath(xpath)
    return found[0] if found else None


def _channel_title(root: Any, header: Any | None) -> str:
    if header is not None:
        return _inline_text(header)
    og_title = _first(root, ".//meta[@property='og:title']/@content")
    return normalise_whitespace(str(og_title)) if og_title is not None else ""


@dataclass(frozen=True)
class _Post:
    channel: str
    number: str

    @property
    def permalink(self) -> str:
        return f"{PERMALINK_ROOT}{self.channel.lower()}/{self.number}"


def _entry(
    message: Any, text: str, channel_title: str, fetched_at: datetime, seen: set[str]
) -> tuple[FeedEntry | None, str]:
    data_post = str(message.get("data-post", "")).strip()
    match = _DATA_POST.fullmatch(data_post)
    if match is None:
        return None, f"message {data_post!r}: data-post is not <channel>/<number>"
    post = _Post(match.group(1), match.group(2))
    if post.permalink in seen:
        return None, f"message {data_post!r}: listed twice on the page"
    seen.add(post.permalink)
    if "service_message" in str(message.get("class", "")).split():
        return None, f"message {data_post!r}: service message"
    if not any(ch.isalnum() for ch in text):
        return None, f"message {data_post!r}: no text{_media_note(message)}"
    title = post_title(text)
    return (
        TelegramPost(
            link=post.permalink,
            guid=post.permalink,
            title=title,
            summary=_summary(text, title),
            content=text,
            authors=_authors(message, channel_title),
            published=_published(message, fetched_at),
            updated=None,
            links=post_links(message),
        ),
        "",
    )


def _message_text(message: Any) -> str:
    """The post's own text, not the quoted reply or the link preview's blurb."""
    element = _text_element(message)
    return _element_text(element) if element is not None else ""


def _text_element(message: Any) -> Any | None:
    for candidate in message.xpath(f".//div[{_cls('tgme_widget_message_text')}]"):
        classes = str(candidate.get("class", "")).split()
        if "js-message_reply_text" not in classes and not candidate.xpath(_QUOTED):
            return candidate
    return None


def post_links(message: Any) -> list[str]:
    """Outbound http(s) links of the post's own text and of its link preview, in order.

    Links back into Telegram (channels, hashtag searches) are not article links.
    """
    anchors: list[Any] = []
    text = _text_element(message)
    if text is not None:
        anchors += text.xpath(".//a[@href]")
    anchors += message.xpath(f".//a[{_cls('tgme_widget_message_link_preview')}][@href]")
    links: list[str] = []
    for anchor in anchors:
        href = str(anchor.get("href", "")).strip()
        try:
            parts = urlsplit(href)
            host = (parts.hostname or "").lower()
        except ValueError:
            continue
        if parts.scheme not in ("http", "https") or not host or host in _TELEGRAM_HOSTS:
            continue
        if host.endswith((".t.me", ".telegram.org")) or host == "telegram.org":
            continue
        if href not in links:
            links.append(href)
    return links


def _repeated_last_lines(texts: list[str]) -> frozenset[str]:
    """Short last lines that close two or more posts on the page: the channel's signature."""
    last = Counter(
        _signature_key(lines[-1])
        for lines in (_lines(_strip_emoji(t)) for t in texts)
        if lines and len(lines) > 1 and len(lines[-1].split()) <= SIGNATURE_MAX_WORDS
    )
    return frozenset(key for key, count in last.items() if key and count >= 2)


def _signature_key(line: str) -> str:
    return " ".join(re.findall(r"\w+", line.lower()))


def _lines(text: str) -> list[str]:
    return [line for line in (ln.strip() for ln in text.split("\n")) if line]


def _strip_emoji(text: str) -> str:
    return _EMOJI.sub("", text)


def _words_without_urls(line: str) -> int:
    return len(_URL.sub(" ", line).split())


def _is_more_line(line: str) -> bool:
    return bool(_MORE_LINE.match(line)) and _words_without_urls(line) <= MORE_MAX_WORDS


def _is_signature(line: str, channel_title: str, signatures: frozenset[str]) -> bool:
    key = _signature_key(line)
    if not key or key in signatures or _SOCIAL_NAMES.match(line.strip()):
        return True
    if _words_without_urls(line) > SIGNATURE_MAX_WORDS:
        return False
    title = _signature_key(channel_title)
    return bool(
        _HANDLE.search(line)
        or _SUBSCRIBE.search(line)
        or (title and (key == title or (len(title) > 8 and title in key)))
        or not _URL.sub("", line).strip(" |•·,.:—–-")
    )


def clean_post_text(
    text: str, channel_title: str = "", signatures: frozenset[str] = frozenset()
) -> str:
    """The post's story: no emoji, hashtag lines, "read more" tail or signature lines."""
    paragraphs: list[list[str]] = []
    for paragraph in _strip_emoji(text).split("\n\n"):
        lines = [_SPACES.sub(" ", line).strip() for line in paragraph.split("\n")]
        lines = [ln for ln in lines if ln and not _HASHTAG_LINE.match(ln)]
        if lines:
            paragraphs.append(lines)
    # From the end backwards: tails and signatures only ever close a post.
    while paragraphs:
        last = paragraphs[-1][-1]
        story_left = len(paragraphs) > 1 or len(paragraphs[-1]) > 1
        if story_left and (_is_more_line(last) or _is_signature(last, channel_title, signatures)):
            paragraphs[-1].pop()
            if not paragraphs[-1]:
                paragraphs.pop()
            continue
        tail = _MORE_TAIL.search(last)
        if tail and _words_without_urls(tail.group(0)) <= MORE_MAX_WORDS:
            paragraphs[-1][-1] = last[: tail.start()].rstrip()
        break
    return "\n\n".join("\n".join(lines) for lines in paragraphs)


def _element_text(element: Any) -> str:
    """Text of an HTML element as a reader sees it: ``<br>`` is a line break, scripts vanish."""
    parts: list[str] = []
    _collect_text(element, parts, keep_spaces=False, with_tail=False)
    return normalise_whitespace("".join(parts))


def _collect_text(
    element: Any, parts: list[str], *, keep_spaces: bool, with_tail: bool = True
) -> None:
    # Recursion is bounded: libxml2's HTML parser stops nesting at 256 levels.
    tag = element.tag.lower() if isinstance(element.tag, str) else ""
    if tag == "br":
        parts.append("\n")
    elif tag and tag not in _DROPPED_TAGS:
        separator = "\n\n" if tag in _PARAGRAPH_TAGS else "\n" if tag in _LINE_TAGS else ""
        inner_spaces = keep_spaces or tag == "pre"
        parts.append(separator)
        if element.text:
            parts.append(_spaced(element.text, inner_spaces))
        for child in element:
            _collect_text(child, parts, keep_spaces=inner_spaces)
        parts.append(separator)
    if with_tail and element.tail:
        parts.append(_spaced(element.tail, keep_spaces))


def _spaced(text: str, keep_spaces: bool) -> str:
    return text if keep_spaces else _HTML_SPACE.sub(" ", text)


def _inline_text(element: Any) -> str:
    return _element_text(element).replace("\n", " ")


def _media_note(message: Any) -> str:
    kinds = [label for cls, label in _MEDIA_KINDS if message.xpath(f"boolean(.//*[{_cls(cls)}])")]
    return f" ({', '.join(kinds)})" if kinds else ""


def _authors(message: Any, channel_title: str) -> list[str]:
    """The channel, the signed author if the channel signs posts, the origin of a forward."""
    candidates = [channel_title]
    owner = _first(message, f".//*[{_cls('tgme_widget_message_owner_name')}]")
    if owner is not None:
        candidates.append(_inline_text(owner))
    for cls in ("tgme_widget_message_from_author", "tgme_widget_message_forwarded_from_name"):
        found = _first(message, f".//*[{_cls(cls)}]")
        if found is not None:
            candidates.append(_inline_text(found))
    authors: list[str] = []
    for name in candidates:
        if name and name not in authors:
            authors.append(name)
    return authors


def _published(message: Any, fetched_at: datetime) -> datetime | None:
    stamp = _first(message, f".//a[{_cls('tgme_widget_message_date')}]//time/@datetime")
    if stamp is None:
        return None
    try:
        value = datetime.fromisoformat(str(stamp).strip())
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    # A post cannot come from the future; a skewed clock on either side can.
    return min(value, fetched_at.astimezone(UTC) + FUTURE_TOLERANCE)


def post_title(text: str) -> str:
    """A headline for a post: its first sentence or line, at most ~140 characters."""
    line = next((ln for ln in text.split("\n") if any(ch.isalnum() for ch in ln)), "")
    line = _strip_decoration(line)
    sentence = _first_sentence(line)
    title = _trim(sentence if len(sentence) >= TITLE_MIN_SENTENCE_CHARS else line)
    # Headlines carry no full stop; "!", "?" and "…" say something and stay.
    return title[:-1] if title.endswith(".") and not title.endswith("..") else title


def _strip_decoration(line: str) -> str:
    """Drop leading emoji, symbols and bullets ("⚡️ МВД …" becomes "МВД …")."""
    start = 0
    while start < len(line) and unicodedata.category(line[start])[0] in "SZCM":
        start += 1
    return line[start:].strip()


def _first_sentence(line: str) -> str:
    for match in _SENTENCE_END.finditer(line):
        following = match.group(2)
        if not (following.isupper() or following.isdigit()):
            continue
        if not _ABBREVIATION.search(line[: match.start()]):
            return line[: match.end(1)]
    return line


def _trim(text: str, limit: int = TITLE_MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if not text[limit - 1].isspace() and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:—–-") + "…"


def _summary(text: str, title: str) -> str:
    """The first paragraph, unless it only repeats the title: then the one after it."""
    paragraphs = text.split("\n\n")
    lead = paragraphs[0]
    if len(paragraphs) > 1 and _strip_decoration(lead).rstrip(".") == title:
        lead = paragraphs[1]
    return _trim(lead, SUMMARY_MAX_CHARS)
