"""SmtpSender against a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.senders import SmtpSender, custom_args_from_headers, parse_smtp_url, send_with_retry
from core.errors import (
    ConfigError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    TransportAuthError,
)
from tests.servers import smtp as smtp_servers
from tests.servers.smtp import USERNAME, SmtpTestServer, self_signed_tls
from tests.test_senders_mime import HTML, SUBJECT, TEXT, UNSUBSCRIBE_URL, body_text, make_message

smtp_server = smtp_servers.smtp_server  # fixture


def sender_for(url: str, **kwargs: object) -> SmtpSender:
    return SmtpSender(url, local_hostname="wirewatch.test", timeout=5, **kwargs)  # type: ignore[arg-type]


def test_message_arrives_with_headers_parts_and_cyrillic_subject(
    smtp_server: SmtpTestServer,
) -> None:
    message = make_message()

    result = sender_for(smtp_server.url).send(message)

    [received] = smtp_server.messages
    assert result.transport == "smtp"
    assert result.provider_id == received.queue_id
    assert received.mail_from == "alerts@wirewatch.example.org"
    assert received.rcpt_tos == ["farhod@example.org"]
    parsed = received.message
    assert parsed["Subject"] == SUBJECT
    assert parsed["To"] == message.to
    assert parsed["Message-ID"] == message.message_id
    assert UNSUBSCRIBE_URL in parsed["List-Unsubscribe"]
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert custom_args_from_headers(parsed) == {"digest_id": "17", "subscription_id": "42"}
    assert body_text(parsed, "plain") == TEXT
    assert body_text(parsed, "html").strip() == HTML


def test_smtp_cannot_know_what_a_server_queued(smtp_server: SmtpTestServer) -> None:
    """SMTP has no command to ask about a message: a crashed send stays unknown."""
    sender = sender_for(smtp_server.url)
    message = make_message()
    sender.send(message)
    assert smtp_server.messages
    assert sender.was_delivered(message.message_id) is None


def test_login_from_percent_encoded_url(smtp_server: SmtpTestServer) -> None:
    url = smtp_server.url_with_login()
    assert "%3A" in url and "%20" in url and "%26" in url  # the password needs decoding
    sender_for(url).send(make_message())
    assert smtp_server.logins == [USERNAME]
    assert len(smtp_server.messages) == 1


def test_wrong_password_is_an_auth_error_that_hides_the_password(
    smtp_server: SmtpTestServer,
) -> None:
    url = smtp_server.url_with_login(password="wrong-password")
    with pytest.raises(TransportAuthError, match="535") as caught:
        sender_for(url).send(make_message())
    assert "wrong-password" not in str(caught.value)
    assert smtp_server.messages == []


@pytest.mark.parametrize(
    ("stage", "reply", "error"),
    [
        ("MAIL", "451 4.3.2 please try again later", TemporaryDeliveryError),
        ("RCPT", "450 4.2.1 mailbox busy", TemporaryDeliveryError),
        ("RCPT", "550 5.1.1 no such user", PermanentDeliveryError),
        ("DATA", "451 4.7.1 greylisted", TemporaryDeliveryError),
        ("DATA", "554 5.7.1 message refused", PermanentDeliveryError),
        ("MAIL", "530 5.7.0 authentication required", TransportAuthError),
    ],
)
def test_reply_codes_decide_the_error(
    smtp_server: SmtpTestServer, stage: smtp_servers.Stage, reply: str, error: type[Exception]
) -> None:
    smtp_server.reject_next(stage, reply)
    with pytest.raises(error, match=reply.split(" ", 1)[0]) as caught:
        sender_for(smtp_server.url).send(make_message())
    assert type(caught.value) is error
    assert reply.rsplit(" ", 1)[-1] in str(caught.value)
    assert smtp_server.messages == []


def test_greylisting_is_retried_until_accepted(smtp_server: SmtpTestServer) -> None:
    smtp_server.reject_next("RCPT", "451 4.7.1 greylisted, come back later", times=2)
    waits: list[float] = []

    result = send_with_retry(
        sender_for(smtp_server.url),
        make_message(),
        max_attempts=5,
        backoff_max=30,
        sleep=waits.append,
    )

    assert result.provider_id == smtp_server.messages[0].queue_id
    assert len(waits) == 2
    assert len(smtp_server.messages) == 1


def test_nothing_listening_is_temporary() -> None:
    server = SmtpTestServer()  # port chosen but never started
    with pytest.raises(TemporaryDeliveryError, match=str(server.port)):
        sender_for(server.url).send(make_message())


@pytest.fixture(scope="module")
def tls_contexts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, object]]:
    yield self_signed_tls(Path(tmp_path_factory.mktemp("tls")))


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_tls_modes_deliver_and_verify_the_certificate(
    mode: str, tls_contexts: tuple[object, object]
) -> None:
    server_tls, client_tls = tls_contexts
    with SmtpTestServer(tls=mode, server_tls=server_tls) as server:  # type: ignore[arg-type]
        sender_for(server.url_with_login(), ssl_context=client_tls).send(make_message())
        assert server.logins == [USERNAME]
        assert server.messages[0].message["Subject"] == SUBJECT
        # Without trusting the test certificate the default context must refuse it.
        with pytest.raises(TemporaryDeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            sender_for(server.url).send(make_message())
        assert len(server.messages) == 1


def test_starttls_against_a_server_without_it_stops_the_run(smtp_server: SmtpTestServer) -> None:
    url = smtp_server.url.replace("smtp://", "smtp+starttls://")
    with pytest.raises(TransportAuthError, match="STARTTLS"):
        sender_for(url).send(make_message())


def test_non_ascii_recipient_is_refused_before_connecting() -> None:
    with pytest.raises(PermanentDeliveryError, match="not ASCII"):
        sender_for("smtp://127.0.0.1:9").send(make_message(to="фарҳод@пример.тҷ"))


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "user", "password"),
    [
        ("smtp://mail.example.org", "smtp", "mail.example.org", 25, None, None),
        ("smtps://mail.example.org", "smtps", "mail.example.org", 465, None, None),
        (
            "smtp+starttls://u%40x:p%3Aw%20d@mail.example.org",
            "smtp+starttls",
            "mail.example.org",
            587,
            "u@x",
            "p:w d",
        ),
        ("SMTP://127.0.0.1:2525", "smtp", "127.0.0.1", 2525, None, None),
    ],
)
def test_smtp_url_parsing(
    url: str, scheme: str, host: str, port: int, user: str | None, password: str | None
) -> None:
    target = parse_smtp_url(url)
    assert (target.scheme, target.host, target.port) == (scheme, host, port)
    assert (target.username, target.password) == (user, password)
    assert "w d" not in str(target) and "p:w" not in str(target)


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://mail.example.org", "scheme must be one of"),
        ("smtp://user:hunter2@mail.example.org:notaport", "port"),
        ("smtp://", "no host"),
    ],
)
def test_bad_smtp_urls_are_config_errors_without_the_password(url: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint) as caught:
        parse_smtp_url(url)
    assert "hunter2" not in str(caught.value)
