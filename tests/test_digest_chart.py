"""The stories-per-day picture in a weekly digest's footer, through every mail transport.

What arrives is read as a mail client reads it: the HTML alternative is a
multipart/related whose HTML shows ``cid:X`` and whose part ``<X>`` is a PNG;
the PNG is opened and its pixels looked at (a day with stories has a bar, a
day without has none, the digest's own week is darker than the weeks before);
the alt text and the caption give the figures. A daily digest, or a weekly one
with the chart switched off, has no picture, and a message that would be over
the byte cap with the picture goes without it, keeping every entry.
"""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from alerts.chartpng import BAR, EARLIER_BAR, FRAME, SCALE, ChartTextError, bar_png
from alerts.digest import send_due_digests
from alerts.matching import match_pending
from alerts.senders import make_sender
from alerts.senders.mime import wire_size
from core.charts import Bar, day_bars, layout_bars
from core.settings import Settings
from db import deliveries, queries
from db.models import Frequency
from db.session import unit_of_work
from tests.factories import story_record
from tests.servers.sendgrid_stub import DEFAULT_API_KEY, SendGridStub
from tests.servers.smtp import SmtpTestServer

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday: weekly digests (weekday 0) are due
FIRST_DAY = date(2026, 11, 3)  # the chart's 28 days end today
# Stories of the topic per day (UTC): three days of the digest's week, one day weeks before.
PER_DAY = {date(2026, 11, 30): 2, date(2026, 11, 29): 3, date(2026, 11, 28): 1}
PER_DAY_EARLIER = {date(2026, 11, 15): 2}
QUIET_DAY = date(2026, 11, 20)
TOPIC = "Миграция: МВД"  # not Latin: it must stay out of the picture, in the words around it


def _seed(
    factory: sessionmaker[Session], frequency: Frequency, *, bulky: int = 0, old: int = 0
) -> None:
    """The topic's stories on the days of PER_DAY (and ``bulky`` long ones on the 29th)."""
    days = {**PER_DAY, **PER_DAY_EARLIER}
    with unit_of_work(factory) as session:
        source, _ = queries.upsert_source(
            session=session, name="herald", url="https://herald.example/rss"
        )
        key = 0
        for day, count in sorted(days.items()):
            for n in range(count + (bulky if day == date(2026, 11, 29) else 0)):
                key += 1
                published = datetime(day.year, day.month, day.day, 9, n % 60, tzinfo=UTC)
                queries.insert_story_if_new(
                    session=session,
                    record=story_record(
                        key,
                        f"https://herald.example/{key}",
                        source_id=source.id,
                        title=f"МВД сообщает новость номер {key}",
                        body=("Представительство МВД откроется в Москве. " * 40) + str(key),
                        language="ru",
                        published_at=published,
                        fetched_at=published,
                    ),
                )
        # Matched, but published before the chart's days: in no bar.
        for _ in range(old):
            key += 1
            queries.insert_story_if_new(
                session=session,
                record=story_record(
                    key,
                    f"https://herald.example/{key}",
                    source_id=source.id,
                    title=f"МВД: давняя новость {key}",
                    language="ru",
                    published_at=NOW - timedelta(days=40),
                    fetched_at=NOW - timedelta(days=40),
                ),
            )
        topic, _ = queries.upsert_topic(session=session, slug="mvd", name=TOPIC, query="МВД")
        queries.subscribe(
            session=session,
            email="desk@newsroom.example",
            topic=topic,
            frequency=frequency,
            token="tok-1",
            confirmed=True,
            send_weekday=0,
            send_hour=8,
        )
    with unit_of_work(factory) as session:
        while match_pending(session):
            pass


def _related_image(message: EmailMessage) -> tuple[str, EmailMessage]:
    """The HTML and the image part its ``cid:`` names, checking the MIME structure."""
    assert message.get_content_type() == "multipart/alternative"
    text, related = message.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, image_part = related.iter_parts()
    assert html_part.get_content_type() == "text/html"
    assert isinstance(image_part, EmailMessage)
    return html_part.get_content(), image_part


def _content_id(html: str) -> str:
    start = html.index('src="cid:') + len('src="cid:')
    return html[start : html.index('"', start)]


def _check_png(data: bytes, *, darker: tuple[date, ...] = tuple(PER_DAY)) -> None:
    """A PNG of the expected size whose bars are where the figures say, ``darker`` ones
    (the digest's own days) in the strong colour, those of the days before lighter."""
    assert 1_000 < len(data) < 60_000
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    assert image.size == (FRAME.width * SCALE, FRAME.height * SCALE)
    rgb = image.convert("RGB")
    bars = day_bars({**PER_DAY, **PER_DAY_EARLIER}, FIRST_DAY, NOW.date())
    boxes = {box.bar.label: box for box in layout_bars(bars, FRAME).boxes}

    def colour(day: date) -> tuple[int, int, int]:
        box = boxes[day.isoformat()]
        x = (box.x + box.width / 2) * SCALE
        y = (FRAME.baseline - 3) * SCALE  # just above the axis, inside any bar
        pixel = rgb.getpixel((round(x), round(y)))
        assert isinstance(pixel, tuple)
        return pixel[0], pixel[1], pixel[2]

    def near(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
        return all(abs(x - y) <= 12 for x, y in zip(a, b, strict=True))

    for day in (*PER_DAY, *PER_DAY_EARLIER):
        assert near(colour(day), BAR if day in darker else EARLIER_BAR), day
    assert near(colour(QUIET_DAY), (255, 255, 255))  # no stories, no bar
    # The busiest day's bar reaches higher than a day with one story.
    top3 = boxes["2026-11-29"].y * SCALE
    top1 = boxes["2026-11-28"].y * SCALE
    assert top3 < top1
    between = round(top3 + (top1 - top3) / 4)  # 2.5 stories high: off the grid lines
    for label, expected in (
        ("2026-11-29", BAR if date(2026, 11, 29) in darker else EARLIER_BAR),
        ("2026-11-28", (255, 255, 255)),
    ):
        x = round((boxes[label].x + boxes[label].width / 2) * SCALE)
        pixel = rgb.getpixel((x, between))
        assert isinstance(pixel, tuple)
        assert near((pixel[0], pixel[1], pixel[2]), expected), label


def _check_words(html: str, text: str) -> None:
    """The alt text lists every day's figure; the caption and the text part total them."""
    alt = html[html.index('alt="') + 5 : html.index('"', html.index('alt="') + 5)]
    assert "2026-11-03: 0" in alt and "2026-11-15: 2" in alt and "2026-11-20: 0" in alt
    assert "2026-11-28: 1" in alt and "2026-11-29: 3" in alt and "2026-11-30: 2" in alt
    assert len(re.findall(r"\b2026-\d\d-\d\d: \d+\b", alt)) == 28  # every day of the chart
    assert TOPIC in alt
    caption = (
        f"Stories matching “{TOPIC}” per day (UTC), 2026-11-03 to 2026-11-30: "
        "6 in the last 7 days (darker bars), 2 in the 21 days before."
    )
    assert caption in html
    assert caption.replace(" (darker bars)", "") in text  # no picture there to point at
    assert "https://ww.example/topics/mvd" in html and "https://ww.example/topics/mvd" in text


def _settings(tmp_path: Path, database_url: str, **extra: Any) -> Settings:
    return Settings(
        data_dir=tmp_path, database_url=database_url, base_url="https://ww.example", **extra
    )


def test_weekly_digest_over_smtp_shows_stories_per_day_inline(
    session_factory: sessionmaker[Session],
    smtp_server: SmtpTestServer,
    tmp_path: Path,
    database_url: str,
) -> None:
    _seed(session_factory, Frequency.WEEKLY, old=2)
    settings = _settings(tmp_path, database_url, smtp_url=smtp_server.url)
    summary = send_due_digests(session_factory, settings, make_sender(settings), now=NOW)
    assert summary.sent == 1, summary.errors
    [received] = smtp_server.messages
    html, image = _related_image(received.message)
    cid = _content_id(html)
    assert image["Content-ID"] == f"<{cid}>"
    assert image.get_content_type() == "image/png"
    assert image.get_content_disposition() == "inline"
    assert image["Content-Transfer-Encoding"] == "base64"
    _check_png(image.get_content())
    text = received.message.get_body(preferencelist=("plain",))
    assert isinstance(text, EmailMessage)
    _check_words(html, text.get_content())
    assert received.message["Subject"] == f"10 new stories: {TOPIC}"  # 8 charted, 2 older


def test_weekly_digest_through_sendgrid_attaches_the_chart_inline(
    session_factory: sessionmaker[Session],
    sendgrid_stub: SendGridStub,
    tmp_path: Path,
    database_url: str,
) -> None:
    _seed(session_factory, Frequency.WEEKLY)
    settings = _settings(
        tmp_path,
        database_url,
        sendgrid_api_key=DEFAULT_API_KEY,
        sendgrid_host=sendgrid_stub.url,
    )
    summary = send_due_digests(session_factory, settings, make_sender(settings), now=NOW)
    assert summary.sent == 1, summary.errors  # the stub checked the body against the schema
    [body] = sendgrid_stub.accepted
    [attachment] = body["attachments"]
    [text, html] = [part["value"] for part in body["content"]]
    assert attachment["disposition"] == "inline"
    assert attachment["type"] == "image/png"
    assert attachment["filename"] == "stories-per-day.png"
    assert f'src="cid:{attachment["content_id"]}"' in html
    _check_png(base64.b64decode(attachment["content"], validate=True))
    _check_words(html, text)


def test_weekly_digest_in_the_outbox_is_a_complete_eml(
    session_factory: sessionmaker[Session], tmp_path: Path, database_url: str
) -> None:
    _seed(session_factory, Frequency.WEEKLY)
    settings = _settings(tmp_path, database_url)
    summary = send_due_digests(session_factory, settings, make_sender(settings), now=NOW)
    assert summary.sent == 1, summary.errors
    assert settings.outbox_dir is not None
    [path] = settings.outbox_dir.glob("*.eml")
    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert isinstance(message, EmailMessage)
    html, image = _related_image(message)
    assert image["Content-ID"] == f"<{_content_id(html)}>"
    _check_png(image.get_content())


@pytest.mark.parametrize(
    ("frequency", "setting", "charted"),
    [
        (Frequency.DAILY, "weekly", False),
        (Frequency.WEEKLY, "off", False),
        (Frequency.DAILY, "daily,weekly", True),
    ],
)
def test_which_digests_carry_the_chart(
    session_factory: sessionmaker[Session],
    smtp_server: SmtpTestServer,
    tmp_path: Path,
    database_url: str,
    frequency: Frequency,
    setting: str,
    charted: bool,
) -> None:
    _seed(session_factory, frequency)
    settings = _settings(tmp_path, database_url, smtp_url=smtp_server.url, digest_chart=setting)
    summary = send_due_digests(session_factory, settings, make_sender(settings), now=NOW)
    assert summary.sent == 1, summary.errors
    [received] = smtp_server.messages
    parts = [part.get_content_type() for part in received.message.walk()]
    html = received.message.get_body(preferencelist=("html",))
    assert isinstance(html, EmailMessage)
    if not charted:
        assert parts == ["multipart/alternative", "text/plain", "text/html"]
        assert "<img" not in html.get_content() and "per day (UTC)" not in html.get_content()
        return
    _, image = _related_image(received.message)
    # A daily digest's own days are one: only today's bar is dark.
    _check_png(image.get_content(), darker=(NOW.date(),))
    assert "2 on the last day (darker bar), 6 in the 27 days before." in html.get_content()


def test_a_message_over_the_cap_with_the_chart_goes_without_it_and_keeps_every_entry(
    session_factory: sessionmaker[Session], tmp_path: Path, database_url: str
) -> None:
    _seed(session_factory, Frequency.WEEKLY, bulky=60)
    roomy = _settings(tmp_path, database_url, digest_max_items=500, digest_max_bytes=25_000_000)
    [preview] = send_due_digests(
        session_factory, roomy, make_sender(roomy), now=NOW, dry_run=True
    ).previews
    [image] = preview.inline_images
    with_chart = wire_size(preview)
    assert with_chart > 100_000  # the smallest cap allowed, so one can sit just below
    entries = preview.subject

    # Just too small for the message with its chart: the chart goes, not an entry.
    settings = _settings(
        tmp_path, database_url, digest_max_items=500, digest_max_bytes=with_chart - 1
    )
    summary = send_due_digests(session_factory, settings, make_sender(settings), now=NOW)
    assert summary.sent == 1, summary.errors
    assert settings.outbox_dir is not None
    [path] = settings.outbox_dir.glob("*.eml")
    sent = path.read_bytes()
    assert len(sent) <= settings.digest_max_bytes  # measured as sent, on the wire
    assert len(sent) < with_chart - len(image.data)  # the picture, base64 and all, is gone
    message = BytesParser(policy=policy.default).parsebytes(sent)
    assert message["Subject"] == entries  # every entry is in it
    assert "multipart/related" not in [part.get_content_type() for part in message.walk()]
    assert "cid:" not in sent.decode("ascii")


def test_stories_per_day_count_each_story_once_on_its_utc_day(
    session_factory: sessionmaker[Session],
) -> None:
    _seed(session_factory, Frequency.WEEKLY, old=3)
    with session_factory() as session:
        [topic] = queries.list_topics(session=session)
        counts = deliveries.topic_stories_by_day(
            session=session,
            topic_id=topic.id,
            since=datetime(2026, 11, 3, tzinfo=UTC),
            until=NOW,
        )
    assert counts == {**PER_DAY_EARLIER, **PER_DAY}


def test_the_picture_keeps_words_in_other_scripts_out() -> None:
    with pytest.raises(ChartTextError, match="caption or the alt text"):
        bar_png([Bar("2026-11-01", 1)], x_title="день", y_title="stories")
    png = bar_png([Bar("2026-11-01", 1)], x_title="day", y_title="stories")
    assert Image.open(io.BytesIO(png)).size == (FRAME.width * SCALE, FRAME.height * SCALE)


def test_chart_setting_names_frequencies_or_off() -> None:
    assert Settings(digest_chart="Weekly, daily").digest_chart == "daily,weekly"
    assert Settings(digest_chart="off").digest_chart_for("weekly") is False
    assert Settings().digest_chart_for("weekly") and not Settings().digest_chart_for("daily")
    assert Settings(digest_chart="none").to_env()["WIREWATCH_DIGEST_CHART"] == "off"
    with pytest.raises(ValueError, match="monthly is not a digest frequency"):
        Settings(digest_chart="monthly")


def test_the_chart_is_worded_in_the_subscribers_language(
    session_factory: sessionmaker[Session],
    smtp_server: SmtpTestServer,
    tmp_path: Path,
    database_url: str,
) -> None:
    _seed(session_factory, Frequency.WEEKLY)
    settings = _settings(tmp_path, database_url, smtp_url=smtp_server.url, default_locale="ru")
    summary = send_due_digests(session_factory, settings, make_sender(settings), now=NOW)
    assert summary.sent == 1, summary.errors
    [received] = smtp_server.messages
    html, _ = _related_image(received.message)
    text = received.message.get_body(preferencelist=("plain",))
    assert isinstance(text, EmailMessage)
    assert f"Столбчатая диаграмма: материалы по теме «{TOPIC}» по дням (UTC)" in html
    assert "(тёмные столбцы)" in html and "Подробнее на странице темы" in html
    assert "за последние 7 дн." in text.get_content()
    assert "Страница темы:" in text.get_content()
    assert "Stories matching" not in html + text.get_content()
