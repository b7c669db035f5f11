"""The message model, its MIME form, and the outbox transport that writes it to disk."""

from __future__ import annotations

import email
import io
import os
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from PIL import Image

from alerts.senders import (
    InlineImage,
    MockSender,
    OutboxSender,
    OutgoingMessage,
    SendResult,
    build_mime,
    custom_args_from_headers,
    mime_bytes,
)
from alerts.senders.outbox import outbox_filename
from core.errors import PermanentDeliveryError, TemporaryDeliveryError

UNSUBSCRIBE_URL = (
    "https://wirewatch.example.org/unsubscribe/"
    "eyJzdWJzY3JpcHRpb25faWQiOjQyLCJkaWdlc3RfaWQiOjE3fQ.ZkY3Ng.c2lnbmF0dXJlLXRoYXQtaXMtbG9uZw"
)
SUBJECT = "Сводка: МВД Таджикистана открыло представительство в Москве — 3 новых материала"
TEXT = "МВД Таджикистана и Министерство труда, миграции и занятости открыли офисы в Москве.\n"
HTML = "<p>Вазорати корҳои дохилӣ намояндагӣ кушод.</p>"


def make_message(**overrides: object) -> OutgoingMessage:
    fields: dict[str, object] = {
        "to": "Фарҳод Раҳимов <farhod@example.org>",
        "from_addr": "wirewatch <alerts@wirewatch.example.org>",
        "subject": SUBJECT,
        "text": TEXT,
        "html": HTML,
        "headers": {
            "List-Unsubscribe": f"<{UNSUBSCRIBE_URL}>, <mailto:unsubscribe@example.org?subject=17>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "custom_args": {"digest_id": "17", "subscription_id": "42"},
    }
    fields.update(overrides)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def reparse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def body_text(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    content = part.get_content()
    assert isinstance(content, str)
    return content.replace("\r\n", "\n")


# -- OutgoingMessage -------------------------------------------------------------------------


def test_message_id_is_generated_in_the_senders_domain() -> None:
    first, second = make_message(), make_message()
    assert first.message_id.startswith("<") and first.message_id.endswith("@wirewatch.example.org>")
    assert first.message_id != second.message_id


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"to": "not an address"}, "to="),
        ({"to": "a@example.org, b@example.org"}, "exactly one"),
        ({"subject": "  "}, "subject"),
        ({"subject": "Сводка\r\nBcc: victim@example.org"}, "subject"),
        ({"text": ""}, "plain-text"),
        ({"headers": {"Subject": "x"}}, "set from the message fields"),
        ({"headers": {"X-Evil": "a\r\nBcc: victim@example.org"}}, "line break"),
        ({"headers": {"Bad Name": "x"}}, "field name"),
        ({"custom_args": {"digest id": "1"}}, "custom arg name"),
        ({"message_id": "no-angle-brackets@example.org"}, "<local@domain>"),
    ],
)
def test_unusable_messages_are_refused_with_the_reason(
    overrides: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        make_message(**overrides)


def test_non_string_custom_args_are_refused() -> None:
    with pytest.raises(TypeError, match="digest_id"):
        make_message(custom_args={"digest_id": 17})


def test_headers_cannot_be_changed_after_construction() -> None:
    source = {"List-Id": "<digests.wirewatch.example.org>"}
    message = make_message(headers=source)
    source["List-Id"] = "changed"
    assert message.headers["List-Id"] == "<digests.wirewatch.example.org>"
    with pytest.raises(TypeError):
        message.headers["X-New"] = "x"  # type: ignore[index]


# -- build_mime ------------------------------------------------------------------------------


def test_mime_round_trip_keeps_every_header_and_both_parts() -> None:
    message = make_message()
    parsed = reparse(mime_bytes(build_mime(message)))

    assert parsed["Subject"] == SUBJECT
    assert parsed["To"] == message.to
    assert parsed["From"] == message.from_addr
    assert parsed["Message-ID"] == message.message_id
    assert parsed["Date"] is not None
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert body_text(parsed, "plain") == TEXT
    assert body_text(parsed, "html").strip() == HTML
    assert custom_args_from_headers(parsed) == {"digest_id": "17", "subscription_id": "42"}


def test_list_unsubscribe_url_stays_readable_on_the_wire() -> None:
    """Clients look for the literal <https://...> in the raw header (RFC 2369/8058)."""
    raw = mime_bytes(build_mime(make_message()))
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert f"<{UNSUBSCRIBE_URL}>,".encode() in header_block
    assert b"=?utf-8?q?=3Chttps" not in header_block
    unfolded = reparse(raw)["List-Unsubscribe"]
    assert unfolded == f"<{UNSUBSCRIBE_URL}>, <mailto:unsubscribe@example.org?subject=17>"


def test_wire_form_is_seven_bit_with_crlf_and_short_lines() -> None:
    raw = mime_bytes(build_mime(make_message()))
    assert raw.isascii(), "Cyrillic must be encoded for servers without 8BITMIME"
    lines = raw.split(b"\r\n")
    assert b"\n" not in b"".join(lines)
    assert max(len(line) for line in lines) <= 998
    assert b"Subject: =?utf-8?" in raw


def test_message_without_html_is_plain_text_only() -> None:
    parsed = reparse(mime_bytes(build_mime(make_message(html=""))))
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content().replace("\r\n", "\n") == TEXT


# -- outbox ----------------------------------------------------------------------------------


def test_outbox_writes_one_parseable_eml_per_message(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet" / "there"
    sender = OutboxSender(folder)
    first, second = make_message(), make_message(subject="Второе письмо")

    results = [sender.send(first), sender.send(second)]

    files = sorted(folder.iterdir())
    assert [path.name for path in files] == sorted(result.provider_id or "" for result in results)
    assert all(result.transport == "outbox" and result.accepted for result in results)
    parsed = [reparse(path.read_bytes()) for path in files]
    assert {p["Message-ID"] for p in parsed} == {first.message_id, second.message_id}
    assert {p["Subject"] for p in parsed} == {SUBJECT, "Второе письмо"}
    assert all(path.suffix == ".eml" for path in files)


def test_outbox_knows_what_it_wrote_by_message_id_or_file_name(tmp_path: Path) -> None:
    sender = OutboxSender(tmp_path / "outbox")
    written, never = make_message(), make_message()
    assert sender.was_delivered(written.message_id) is False  # no folder yet
    result = sender.send(written)
    assert sender.was_delivered(written.message_id) is True
    assert sender.was_delivered(result.provider_id or "") is True
    assert sender.was_delivered(never.message_id) is False
    (tmp_path / "outbox" / (result.provider_id or "")).unlink()  # the operator moved it away
    assert sender.was_delivered(written.message_id) is False


def test_outbox_filename_is_time_ordered_and_filesystem_safe() -> None:
    message = make_message(message_id="<a/b\\c:d*e?f@wirewatch.example.org>")
    name = outbox_filename(message, datetime(2026, 3, 1, 8, 30, 5, 123456, tzinfo=UTC))
    assert name == "20260301T083005123456Z-a_b_c_d_e_f_wirewatch.example.org.eml"


def test_outbox_leaves_no_temporary_files(tmp_path: Path) -> None:
    sender = OutboxSender(tmp_path)
    for _ in range(3):
        sender.send(make_message())
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".eml")] == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders")
def test_unwritable_outbox_is_a_temporary_error_naming_the_folder(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(TemporaryDeliveryError, match=str(tmp_path)):
            OutboxSender(tmp_path / "outbox").send(make_message())
    finally:
        tmp_path.chmod(0o700)


def test_outbox_path_that_is_a_file_is_a_temporary_error(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(TemporaryDeliveryError, match="outbox"):
        OutboxSender(blocker).send(make_message())


# -- mock ------------------------------------------------------------------------------------


def test_mock_sender_records_and_lets_the_handler_decide() -> None:
    def handler(message: OutgoingMessage) -> SendResult | None:
        if message.subject == "fail":
            raise TemporaryDeliveryError("scripted")
        return None

    sender = MockSender(handler)
    ok = sender.send(make_message())
    with pytest.raises(TemporaryDeliveryError):
        sender.send(make_message(subject="fail"))
    assert ok.transport == "mock"
    assert [m.subject for m in sender.offered] == [SUBJECT, "fail"]
    assert [m.subject for m in sender.sent] == [SUBJECT]


def test_mock_sender_knows_what_it_accepted() -> None:
    def refuse(message: OutgoingMessage) -> SendResult | None:
        raise PermanentDeliveryError("scripted")

    accepted, refused = make_message(), make_message()
    sender = MockSender()
    sender.send(accepted)
    sender.handler = refuse
    with pytest.raises(PermanentDeliveryError):
        sender.send(refused)
    assert sender.was_delivered(accepted.message_id) is True
    assert sender.was_delivered(refused.message_id) is False


def _pixel_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1, 1), (91, 127, 179)).save(out, "PNG")
    return out.getvalue()


PIXEL_PNG = _pixel_png()


def test_an_inline_image_rides_next_to_the_html_it_is_shown_in() -> None:
    image = InlineImage("chart.17@wirewatch.example.org", PIXEL_PNG, "chart.png")
    html = f'{HTML}<img src="{image.src}" alt="chart">'
    message = reparse(mime_bytes(build_mime(make_message(html=html, inline_images=(image,)))))
    kinds = [part.get_content_type() for part in message.walk()]
    assert kinds == [
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
    ]
    [png] = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert png["Content-ID"] == "<chart.17@wirewatch.example.org>"
    assert png.get_content_disposition() == "inline"
    assert png.get_content() == PIXEL_PNG
    assert body_text(message, "plain") == TEXT
    assert 'src="cid:chart.17@wirewatch.example.org"' in body_text(message, "html")


@pytest.mark.parametrize(
    ("content_id", "html_shows_it", "error"),
    [
        ("chart.17@wirewatch.example.org", False, "the HTML never shows it"),
        ("<chart.17@wirewatch.example.org>", True, "must look like local@domain"),
        ("chart 17@example.org", True, "must look like local@domain"),
    ],
)
def test_an_inline_image_must_be_named_plainly_and_shown(
    content_id: str, html_shows_it: bool, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        image = InlineImage(content_id, PIXEL_PNG, "chart.png")
        html = f'{HTML}<img src="{image.src}">' if html_shows_it else HTML
        make_message(html=html, inline_images=(image,))
