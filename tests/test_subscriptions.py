"""Double opt-in and signed links, below the web and CLI layers that use them."""

from __future__ import annotations

import multiprocessing
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy.orm import Session, sessionmaker

from alerts import subscribe as subs
from alerts.digest import send_due_digests
from alerts.senders import MockSender
from alerts.tokens import TokenError, Tokens, secret_key
from core.errors import ConfigError, NotFoundError
from core.settings import Settings
from db import queries
from db.models import Frequency
from db.session import unit_of_work
from tests.test_digest_fixtures import NOW, TOKENS, match, story, topic

DUSHANBE_DAILY = subs.Preferences(
    frequency=Frequency.DAILY, timezone="Asia/Dushanbe", send_hour=9, include_updates=False
)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, base_url="https://ww.example")


@pytest.fixture
def factory(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with unit_of_work(session_factory) as session:
        topic(session)
        topic(session, "migration-deals", "соглашение")
    return session_factory


def _request(
    factory: sessionmaker[Session],
    settings: Settings,
    sender: MockSender,
    email: str = "reader@newsroom.example",
    topics: tuple[str, ...] = ("mvd",),
    prefs: subs.Preferences = DUSHANBE_DAILY,
    now: datetime = NOW,
) -> subs.SubscribeResult:
    return subs.request_subscription(
        factory,
        settings,
        sender,
        email=email,
        topics=list(topics),
        preferences=prefs,
        now=now,
        tokens=TOKENS,
    )


def _confirm_link(text: str) -> str:
    return next(line for line in text.splitlines() if "/confirm/" in line).rsplit("/", 1)[1]


# -- tokens -----------------------------------------------------------------------------------


def test_tokens_are_single_purpose_and_bound_to_their_row() -> None:
    alice, bob = "secret-of-alice-subscription", "secret-of-bob-subscription"
    token = TOKENS.unsubscribe(alice)
    assert TOKENS.check_unsubscribe(token) == alice
    signature = token.rsplit(".", 1)[1]
    with pytest.raises(TokenError):
        TOKENS.check_unsubscribe(f"{bob}.{signature}")  # reused for another address
    with pytest.raises(TokenError):
        TOKENS.check_preferences(token)  # an unsubscribe token is not a preferences token
    with pytest.raises(TokenError):
        Tokens(b"another-key-entirely-0123456789").check_unsubscribe(token)
    with pytest.raises(TokenError):
        TOKENS.check_confirm(TOKENS.preferences(alice))
    confirm = TOKENS.confirm(alice, [3, 1])
    assert TOKENS.check_confirm(confirm).subscription_ids == (1, 3)


def test_confirmation_links_expire_after_a_week() -> None:
    with time_machine.travel(NOW, tick=False):
        token = TOKENS.confirm("secret", [1])
    with time_machine.travel(NOW + timedelta(days=6), tick=False):
        assert TOKENS.check_confirm(token).subscription_ids == (1,)
    with (
        time_machine.travel(NOW + timedelta(days=8), tick=False),
        pytest.raises(TokenError, match="expired"),
    ):
        TOKENS.check_confirm(token)


def test_csrf_token_is_bound_to_its_cookie() -> None:
    token = TOKENS.csrf("cookie-value")
    TOKENS.check_csrf(token, "cookie-value")
    with pytest.raises(TokenError):
        TOKENS.check_csrf(token, "another-cookie")
    with pytest.raises(TokenError):
        TOKENS.check_csrf(token, "")


def _key_in(data_dir: str) -> bytes:
    return secret_key(Settings(data_dir=Path(data_dir)))


def test_a_generated_key_is_private_persistent_and_shared(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        keys = pool.map(_key_in, [str(tmp_path)] * 4)  # processes racing to create it
    assert len(set(keys)) == 1 and len(keys[0]) >= 32
    path = tmp_path / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _key_in(str(tmp_path)) == keys[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]  # no temp files left


def test_a_configured_key_wins_and_can_come_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-a-container-secret-0123456789\n")
    monkeypatch.setenv("WIREWATCH_SECRET_KEY_FILE", str(key_file))
    settings = Settings(data_dir=tmp_path / "data")
    assert secret_key(settings) == b"from-a-container-secret-0123456789"
    assert settings.redacted()["secret_key"] == "********"
    assert not (tmp_path / "data" / "secret_key").exists()
    with pytest.raises(ConfigError, match="at least 16"):
        secret_key(Settings(secret_key="short"))  # type: ignore[arg-type]


# -- double opt-in ------------------------------------------------------------------------------


def test_nothing_is_sent_before_the_confirmation_link_is_opened(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    sender = MockSender()
    result = _request(factory, settings, sender, topics=("mvd", "migration-deals"))
    assert result.outcome == subs.Outcome.CONFIRMATION_SENT
    [confirmation] = sender.sent
    assert confirmation.subject.startswith("Confirm your subscription: ")
    assert "daily at 09:00 (Asia/Dushanbe)" in confirmation.text
    assert "List-Unsubscribe" not in confirmation.headers
    with unit_of_work(factory) as session:
        story(session, 1, "МВД открывает представительство; соглашение подписано")
    match(factory)
    digests = MockSender()
    later = NOW + timedelta(hours=1)
    assert send_due_digests(factory, settings, digests, now=later, tokens=TOKENS).sent == 0

    with unit_of_work(factory) as session:
        confirmed = subs.confirm(session, TOKENS, _confirm_link(confirmation.text), now=later)
        assert {s.topic.slug for s in confirmed} == {"mvd", "migration-deals"}
    with unit_of_work(factory) as session:  # opening it again changes nothing
        again = subs.confirm(session, TOKENS, _confirm_link(confirmation.text), now=later)
        assert all(s.confirmed_at == later for s in again)
    digest_time = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)  # 09:00 in Dushanbe
    run = send_due_digests(factory, settings, digests, now=digest_time, tokens=TOKENS)
    assert run.sent == 1  # one story, two topics, one email: never repeated


def test_asking_again_reveals_nothing_and_changes_nothing(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    sender = MockSender()
    first = _request(factory, settings, sender)
    with unit_of_work(factory) as session:
        subs.confirm(session, TOKENS, _confirm_link(sender.sent[0].text), now=NOW)
    hostile = subs.Preferences(frequency=Frequency.HOURLY, timezone="UTC")
    later = NOW + timedelta(hours=1)
    second = _request(factory, settings, sender, prefs=hostile, now=later)
    assert (first.outcome, second.outcome) == (
        subs.Outcome.CONFIRMATION_SENT,
        subs.Outcome.ALREADY_SUBSCRIBED,
    )
    notice = sender.sent[-1]
    assert notice.subject == "You are already subscribed" and "/preferences/" in notice.text
    with factory() as session:
        [sub] = queries.subscriptions_of(session=session, email="reader@newsroom.example")
        assert (sub.frequency, sub.subscriber.timezone) == (Frequency.DAILY, "Asia/Dushanbe")


def test_the_same_address_a_hundred_times_gets_one_email(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    sender = MockSender()
    outcomes = {
        _request(factory, settings, sender, email="Victim@Example.org", now=NOW).outcome
        for _ in range(100)
    }
    assert outcomes == {subs.Outcome.CONFIRMATION_SENT, subs.Outcome.THROTTLED}
    assert [m.to for m in sender.sent] == ["victim@example.org"]
    with factory() as session:
        assert len(queries.list_subscriptions(session=session)) == 1
    _request(factory, settings, sender, email="victim@example.org", now=NOW + timedelta(minutes=16))
    assert len(sender.sent) == 2


def test_bad_input_is_refused_with_the_reason(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    sender = MockSender()
    with pytest.raises(subs.AddressError, match="not a valid email"):
        _request(factory, settings, sender, email="not an address")
    with pytest.raises(NotFoundError, match="no topic"):
        _request(factory, settings, sender, topics=("nope",))
    with pytest.raises(subs.PreferenceError, match="time zone"):
        _request(factory, settings, sender, prefs=subs.Preferences(timezone="Mars/Olympus"))
    with pytest.raises(subs.PreferenceError, match="choose at least one topic"):
        _request(factory, settings, sender, topics=())
    assert sender.sent == []


def test_suppressed_and_unsubscribed_addresses_need_more_than_a_request(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    sender = MockSender()
    _request(factory, settings, sender)
    with unit_of_work(factory) as session:
        [sub] = subs.confirm(session, TOKENS, _confirm_link(sender.sent[0].text), now=NOW)
        subs.unsubscribe(session, TOKENS, TOKENS.unsubscribe(sub.unsubscribe_token))
    again = _request(factory, settings, sender, now=NOW + timedelta(hours=1))
    assert again.outcome == subs.Outcome.CONFIRMATION_SENT  # not silently re-activated
    with factory() as session:
        [sub] = queries.subscriptions_of(session=session, email="reader@newsroom.example")
        assert sub.active and not sub.confirmed
        queries.suppress_address(
            session=session, email="reader@newsroom.example", reason="bounce", when=NOW
        )
        session.commit()
    count = len(sender.sent)
    blocked = _request(factory, settings, sender, now=NOW + timedelta(hours=2))
    assert blocked.outcome == subs.Outcome.SUPPRESSED and len(sender.sent) == count


def test_the_operator_may_skip_confirmation(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    result = subs.request_subscription(
        factory,
        settings,
        None,
        email="desk@newsroom.example",
        topics=["mvd"],
        preferences=DUSHANBE_DAILY,
        confirmed=True,
        now=NOW,
        tokens=TOKENS,
    )
    assert result.outcome == subs.Outcome.CONFIRMED and result.message is None
    with factory() as session:
        [sub] = queries.subscriptions_of(session=session, email="desk@newsroom.example")
        assert sub.confirmed and sub.confirmed_at == NOW and sub.send_hour == 9


def test_preferences_add_topics_without_another_confirmation(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    sender = MockSender()
    _request(factory, settings, sender)
    with unit_of_work(factory) as session:
        [sub] = subs.confirm(session, TOKENS, _confirm_link(sender.sent[0].text), now=NOW)
        token = TOKENS.preferences(sub.subscriber.token or "")
    with unit_of_work(factory) as session:
        subscriber = subs.subscriber_for_preferences(session, TOKENS, token)
        weekly = subs.Preferences(
            frequency=Frequency.WEEKLY, timezone="Europe/Moscow", send_hour=7, send_weekday=4
        )
        subs.update_preferences(
            session,
            subscriber,
            timezone="Europe/Moscow",
            changes=[
                subs.Change("mvd", active=False, preferences=weekly),
                subs.Change("migration-deals", active=True, preferences=weekly),
            ],
            now=NOW,
        )
    with factory() as session:
        rows = {
            s.topic.slug: s
            for s in queries.subscriptions_of(session=session, email="reader@newsroom.example")
        }
        assert not rows["mvd"].active
        deals = rows["migration-deals"]
        assert deals.active and deals.confirmed and deals.frequency == Frequency.WEEKLY
        assert deals.subscriber.timezone == "Europe/Moscow"
    with unit_of_work(factory) as session:
        subscriber = subs.subscriber_for_preferences(session, TOKENS, token)
        subs.rotate_links(session, subscriber)
    with factory() as session, pytest.raises(TokenError):
        subs.subscriber_for_preferences(session, TOKENS, token)
