"""send_with_retry's policy, driven by scripted senders, and choosing a transport from settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.senders import (
    MockSender,
    OutboxSender,
    OutgoingMessage,
    SendGridSender,
    SendResult,
    SmtpSender,
    make_sender,
    send_with_retry,
)
from core.errors import (
    PermanentDeliveryError,
    TemporaryDeliveryError,
    TransportAuthError,
)
from core.settings import Settings
from tests.test_senders_mime import make_message


def scripted(*outcomes: Exception | None) -> MockSender:
    """A sender that raises each given error in turn, then accepts."""
    queue: Iterator[Exception | None] = iter(outcomes)

    def handler(message: OutgoingMessage) -> SendResult | None:
        outcome = next(queue, None)
        if outcome is not None:
            raise outcome
        return None

    return MockSender(handler)


def run(sender: MockSender, **options: float) -> tuple[list[float], SendResult]:
    waits: list[float] = []
    kwargs = {"max_attempts": 5, "backoff_max": 60.0, **options}
    result = send_with_retry(
        sender,
        make_message(),
        max_attempts=int(kwargs["max_attempts"]),
        backoff_max=kwargs["backoff_max"],
        sleep=waits.append,
    )
    return waits, result


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    sender = scripted(*[TemporaryDeliveryError("busy")] * 7)
    waits, _ = run(sender, max_attempts=8, backoff_max=10.0)
    assert len(waits) == 7 and len(sender.offered) == 8
    for attempt, wait in enumerate(waits[:3]):
        assert 2**attempt <= wait <= 2**attempt + 1, waits
    assert waits[4:] == [10.0, 10.0, 10.0]


def test_jitter_spreads_the_waits_of_concurrent_senders() -> None:
    first_waits = {run(scripted(TemporaryDeliveryError("busy")))[0][0] for _ in range(20)}
    assert len(first_waits) > 1


def test_retry_after_is_used_exactly_when_within_the_cap() -> None:
    waits, result = run(scripted(TemporaryDeliveryError("429", retry_after=42.5)))
    assert waits == [42.5] and result.accepted


def test_retry_after_beyond_the_cap_reraises_without_waiting() -> None:
    sender = scripted(TemporaryDeliveryError("429", retry_after=61))
    with pytest.raises(TemporaryDeliveryError) as caught:
        run(sender, backoff_max=60.0)
    assert caught.value.retry_after == 61 and len(sender.offered) == 1


def test_last_temporary_error_is_reraised_after_the_last_attempt() -> None:
    errors = [TemporaryDeliveryError(f"attempt {n}") for n in range(1, 6)]
    sender = scripted(*errors)
    with pytest.raises(TemporaryDeliveryError, match="attempt 3"):
        run(sender, max_attempts=3)
    assert len(sender.offered) == 3 and sender.sent == []


@pytest.mark.parametrize(
    "error", [PermanentDeliveryError("bad address"), TransportAuthError("bad key")]
)
def test_permanent_errors_are_never_retried(error: Exception) -> None:
    sender = scripted(error, None)
    with pytest.raises(type(error)):
        run(sender)
    assert len(sender.offered) == 1


def test_zero_backoff_retries_without_waiting() -> None:
    waits, result = run(
        scripted(TemporaryDeliveryError("x"), TemporaryDeliveryError("y")), backoff_max=0
    )
    assert waits == [0.0, 0.0] and result.accepted


def test_max_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        run(MockSender(), max_attempts=0)


# -- make_sender -----------------------------------------------------------------------------


def test_default_transport_is_the_outbox_in_the_data_dir(tmp_path: Path) -> None:
    sender = make_sender(Settings(data_dir=tmp_path))
    assert isinstance(sender, OutboxSender)
    assert sender.directory == tmp_path / "outbox"


def test_smtp_url_selects_smtp(tmp_path: Path) -> None:
    sender = make_sender(Settings(data_dir=tmp_path, smtp_url="smtp+starttls://mail.example.org"))
    assert isinstance(sender, SmtpSender)
    assert (sender.target.host, sender.target.port) == ("mail.example.org", 587)


def test_sendgrid_key_wins_over_smtp_unless_a_transport_is_named(tmp_path: Path) -> None:
    both = {"data_dir": tmp_path, "smtp_url": "smtp://mail.example.org", "sendgrid_api_key": "SG.k"}
    assert isinstance(make_sender(Settings(**both)), SendGridSender)  # type: ignore[arg-type]
    named = Settings(**both, mail_transport="outbox", outbox_dir=tmp_path / "mail")  # type: ignore[arg-type]
    sender = make_sender(named)
    assert isinstance(sender, OutboxSender) and sender.directory == tmp_path / "mail"


def test_sendgrid_host_comes_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, sendgrid_api_key="SG.k", sendgrid_host="https://api.eu.sendgrid.com/"
    )
    sender = make_sender(settings)
    assert isinstance(sender, SendGridSender) and sender.host == "https://api.eu.sendgrid.com"
