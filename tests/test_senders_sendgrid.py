"""SendGridSender and send_with_retry against the local v3 API stand-in."""

from __future__ import annotations

import ipaddress
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from alerts.senders import (
    OutgoingMessage,
    SendGridSender,
    make_sender,
    send_with_retry,
    sendgrid_payload,
)
from core.errors import (
    PermanentDeliveryError,
    TemporaryDeliveryError,
    TransportAuthError,
)
from core.settings import Settings
from tests.servers import sendgrid_stub as stub_servers
from tests.servers.sendgrid_stub import SendGridStub, mail_send_validator, request_errors
from tests.test_senders_mime import HTML, SUBJECT, TEXT, UNSUBSCRIBE_URL, make_message

sendgrid_stub = stub_servers.sendgrid_stub  # fixture

NOW = 1_780_000_000.0


def sender_for(stub: SendGridStub, **kwargs: Any) -> SendGridSender:
    return SendGridSender(stub.api_key, host=stub.url, timeout=5, **kwargs)


def retry(sender: SendGridSender, waits: list[float], **kwargs: Any) -> Any:
    options = {"max_attempts": 5, "backoff_max": 30.0, **kwargs}
    return send_with_retry(sender, make_message(), sleep=waits.append, **options)


# -- the request we send ---------------------------------------------------------------------


def test_accepted_request_carries_headers_custom_args_and_both_parts(
    sendgrid_stub: SendGridStub,
) -> None:
    message = make_message()

    result = sender_for(sendgrid_stub).send(message)

    [body] = sendgrid_stub.accepted
    assert result.transport == "sendgrid"
    assert result.provider_id == sendgrid_stub.message_ids[0]
    [personalization] = body["personalizations"]
    assert personalization["to"] == [{"email": "farhod@example.org", "name": "Фарҳод Раҳимов"}]
    assert personalization["custom_args"] == {"digest_id": "17", "subscription_id": "42"}
    assert body["from"] == {"email": "alerts@wirewatch.example.org", "name": "wirewatch"}
    assert body["subject"] == SUBJECT
    assert body["content"] == [
        {"type": "text/plain", "value": TEXT},
        {"type": "text/html", "value": HTML},
    ]
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert UNSUBSCRIBE_URL in body["headers"]["List-Unsubscribe"]
    assert body["headers"]["Message-ID"] == message.message_id
    [request] = sendgrid_stub.requests
    assert request.headers["Authorization"] == f"Bearer {sendgrid_stub.api_key}"


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(lambda: make_message(html="", custom_args={}, headers={}), id="text-only"),
        pytest.param(
            lambda: make_message(to="farhod@example.org", from_addr="alerts@example.org"),
            id="bare-addresses",
        ),
        pytest.param(lambda: make_message(subject="Police liaison office"), id="ascii"),
    ],
)
def test_every_payload_shape_satisfies_the_published_schema(message: Any) -> None:
    validator = _validator_or_skip()
    payload = sendgrid_payload(message())
    assert request_errors(payload, validator) == []
    assert request_errors(sendgrid_payload(message(), sandbox=True), validator) == []


def _validator_or_skip() -> Any:
    try:
        return mail_send_validator()
    except stub_servers.SchemaMissingError as exc:
        pytest.skip(str(exc))


class _BrokenBodySender(SendGridSender):
    """Sends what the API documents as invalid, to see its answer surface to the user."""

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        return {**super().payload(message), "personalizations": []}


def test_invalid_body_is_permanent_and_carries_the_apis_explanation(
    sendgrid_stub: SendGridStub,
) -> None:
    sender = _BrokenBodySender(sendgrid_stub.api_key, host=sendgrid_stub.url)
    waits: list[float] = []
    with pytest.raises(PermanentDeliveryError) as caught:
        retry(sender, waits)
    assert type(caught.value) is PermanentDeliveryError
    assert "HTTP 400" in str(caught.value)
    assert "personalizations: The personalizations field is required" in str(caught.value)
    assert waits == [] and len(sendgrid_stub.requests) == 1
    assert sendgrid_stub.accepted == []


def test_debug_logging_never_shows_the_key_or_the_recipient(
    sendgrid_stub: SendGridStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sender_for(sendgrid_stub).send(make_message())
    assert "python_http_client" in caplog.text  # the client did log at DEBUG
    assert sendgrid_stub.api_key not in caplog.text
    assert "farhod@example.org" not in caplog.text


def test_sandbox_mode_answer_200_counts_as_success(sendgrid_stub: SendGridStub) -> None:
    result = sender_for(sendgrid_stub, sandbox=True).send(make_message())
    assert result.accepted and result.provider_id is None
    assert [r.status for r in sendgrid_stub.requests] == [200]
    assert len(sendgrid_stub.sandboxed) == 1 and sendgrid_stub.accepted == []


# -- errors and retries ----------------------------------------------------------------------


def test_rate_limit_waits_as_retry_after_says_then_succeeds(sendgrid_stub: SendGridStub) -> None:
    sendgrid_stub.fail_next(429, headers={"Retry-After": "7"})
    waits: list[float] = []

    result = retry(sender_for(sendgrid_stub), waits)

    assert waits == [7.0]
    assert [r.status for r in sendgrid_stub.requests] == [429, 202]
    assert result.provider_id == sendgrid_stub.message_ids[0]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-RateLimit-Reset": str(int(NOW) + 12)}, 12.0),
        ({"Retry-After": formatdate(NOW + 30, usegmt=True)}, 30.0),
        ({"X-RateLimit-Reset": str(int(NOW) - 5)}, 0.0),
    ],
    ids=["ratelimit-reset-epoch", "retry-after-http-date", "reset-in-the-past"],
)
def test_rate_limit_reset_headers_become_a_delay(
    sendgrid_stub: SendGridStub, headers: dict[str, str], expected: float
) -> None:
    sendgrid_stub.fail_next(429, headers=headers)
    waits: list[float] = []
    retry(sender_for(sendgrid_stub, clock=lambda: NOW), waits)
    assert waits == [expected]


def test_rate_limit_longer_than_backoff_max_gives_up_at_once(sendgrid_stub: SendGridStub) -> None:
    sendgrid_stub.fail_next(429, headers={"Retry-After": "3600"})
    waits: list[float] = []
    with pytest.raises(TemporaryDeliveryError) as caught:
        retry(sender_for(sendgrid_stub), waits, backoff_max=60)
    assert caught.value.retry_after == 3600.0
    assert waits == [] and len(sendgrid_stub.requests) == 1


def test_server_errors_back_off_exponentially_then_succeed(sendgrid_stub: SendGridStub) -> None:
    sendgrid_stub.fail_next(500, times=2)
    waits: list[float] = []

    result = retry(sender_for(sendgrid_stub), waits)

    assert [r.status for r in sendgrid_stub.requests] == [500, 500, 202]
    assert result.accepted and len(sendgrid_stub.accepted) == 1
    first, second = waits
    assert 1.0 <= first <= 2.0 and 2.0 <= second <= 3.0


def test_exhausted_attempts_reraise_the_last_temporary_error(sendgrid_stub: SendGridStub) -> None:
    sendgrid_stub.fail_next(503, times=10)
    waits: list[float] = []
    with pytest.raises(TemporaryDeliveryError, match="HTTP 503: service unavailable"):
        retry(sender_for(sendgrid_stub), waits, max_attempts=3)
    assert len(sendgrid_stub.requests) == 3 and len(waits) == 2
    assert sendgrid_stub.accepted == []


def test_gateway_error_page_is_temporary_and_quoted(sendgrid_stub: SendGridStub) -> None:
    sendgrid_stub.fail_next(502, body="<html><h1>502 Bad Gateway</h1></html>")
    with pytest.raises(TemporaryDeliveryError, match="502 Bad Gateway") as caught:
        sender_for(sendgrid_stub).send(make_message())
    assert caught.value.retry_after is None


def test_wrong_key_stops_at_once(sendgrid_stub: SendGridStub) -> None:
    sender = SendGridSender("SG.not-the-right-key", host=sendgrid_stub.url)
    waits: list[float] = []
    with pytest.raises(TransportAuthError, match=r"HTTP 401.*SENDGRID_API_KEY"):
        retry(sender, waits)
    assert waits == [] and len(sendgrid_stub.requests) == 1


def test_forbidden_scope_is_an_auth_error(sendgrid_stub: SendGridStub) -> None:
    sendgrid_stub.fail_next(403)
    with pytest.raises(TransportAuthError, match="HTTP 403: access forbidden"):
        retry(sender_for(sendgrid_stub), [])


def test_bad_request_is_not_retried(sendgrid_stub: SendGridStub) -> None:
    api_error = {"errors": [{"field": "from.email", "message": "does not match a verified Sender"}]}
    sendgrid_stub.fail_next(400, body=api_error, times=3)
    waits: list[float] = []
    with pytest.raises(PermanentDeliveryError, match=r"from\.email: does not match a verified"):
        retry(sender_for(sendgrid_stub), waits)
    assert waits == [] and len(sendgrid_stub.requests) == 1


def test_unreachable_api_is_temporary(sendgrid_stub: SendGridStub) -> None:
    sender = sender_for(sendgrid_stub)
    sendgrid_stub.__exit__(None, None, None)
    with pytest.raises(TemporaryDeliveryError, match="cannot reach SendGrid"):
        sender.send(make_message())


# -- no traffic leaves the machine -----------------------------------------------------------

_recording: list[tuple[str, object]] | None = None
_hook_lock = threading.Lock()
_hook_installed = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recording is not None and event in ("socket.connect", "socket.getaddrinfo"):
        target = args[1] if event == "socket.connect" else args[0]
        _recording.append((event, target))


@contextmanager
def network_calls() -> Iterator[list[tuple[str, object]]]:
    """Every socket connect and name lookup made in this process meanwhile."""
    global _recording, _hook_installed
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_audit)  # audit hooks cannot be removed; it idles when not recording
            _hook_installed = True
    _recording = []
    try:
        yield _recording
    finally:
        _recording = None


def _is_loopback(target: object) -> bool:
    host = target[0] if isinstance(target, tuple) else target
    if isinstance(host, bytes):
        host = host.decode()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False


def test_configured_sender_talks_only_to_the_local_stub(
    sendgrid_stub: SendGridStub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SENDGRID_API_KEY", sendgrid_stub.api_key)
    monkeypatch.setenv("SENDGRID_HOST", sendgrid_stub.url)
    monkeypatch.setenv("WIREWATCH_DATA_DIR", str(tmp_path))
    sender = make_sender(Settings())
    assert isinstance(sender, SendGridSender) and sender.host == sendgrid_stub.url

    with network_calls() as calls:
        send_with_retry(sender, make_message(), max_attempts=2, backoff_max=0, sleep=lambda _: None)

    port = int(sendgrid_stub.url.rsplit(":", 1)[1])
    assert ("socket.connect", ("127.0.0.1", port)) in calls
    assert [call for call in calls if not _is_loopback(call[1])] == []
    assert len(sendgrid_stub.accepted) == 1


def test_the_network_recorder_would_notice_an_outside_host() -> None:
    with network_calls() as calls:
        _audit("socket.connect", (None, ("192.0.2.10", 443)))
    assert [call for call in calls if not _is_loopback(call[1])] == [
        ("socket.connect", ("192.0.2.10", 443))
    ]


# -- what we can know afterwards -------------------------------------------------------------


def test_sendgrid_cannot_be_asked_what_it_took(sendgrid_stub: SendGridStub) -> None:
    """The Mail Send API has no look-up; the Event Webhook settles such digests instead."""
    sender = sender_for(sendgrid_stub)
    message = make_message()
    sender.send(message)
    assert sendgrid_stub.accepted
    assert sender.was_delivered(message.message_id) is None


@pytest.mark.parametrize(
    ("message", "categories"),
    [
        pytest.param(make_message, ["digest"], id="digest"),
        pytest.param(
            lambda: make_message(custom_args={}, categories=("confirm",)), ["confirm"], id="confirm"
        ),
    ],
)
def test_links_are_not_tracked_and_each_kind_of_mail_has_its_category(
    sendgrid_stub: SendGridStub, message: Any, categories: list[str]
) -> None:
    """Click tracking would rewrite the signed confirm and unsubscribe links through
    SendGrid's redirect domain; the payload turns it (and open tracking) off."""
    sender_for(sendgrid_stub).send(message())
    [body] = sendgrid_stub.accepted  # the stand-in checked it against the published schema
    assert body["tracking_settings"]["click_tracking"] == {"enable": False, "enable_text": False}
    assert body["tracking_settings"]["open_tracking"] == {"enable": False}
    assert body["tracking_settings"]["subscription_tracking"] == {"enable": False}
    assert body["categories"] == categories
    assert request_errors(body, _validator_or_skip()) == []
