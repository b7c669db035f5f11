"""The subscription pages and the JSON API in-process: opt-in, CSRF, rate limits, one-click
unsubscribe, preferences. Mail goes to the outbox folder and is read back from there."""

from __future__ import annotations

import email
import json
import re
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.tokens import Tokens
from core.settings import Settings
from db import queries
from db.models import Frequency, Subscription
from db.session import unit_of_work
from tests.test_digest_fixtures import subscribe, topic
from web.app import create_app

ADDRESS = "reader@newsroom.example"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        base_url="http://testserver",
        subscribe_rate_limit=5,
        secret_key="web-test-key-0123456789abcdef",  # type: ignore[arg-type]
    )


@pytest.fixture
def client(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with unit_of_work(session_factory) as session:
        topic(session)
        topic(session, "migration-deals", "соглашение")
        subscribe(session, "known@newsroom.example", Frequency.DAILY)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _outbox(settings: Settings) -> list[EmailMessage]:
    assert settings.outbox_dir is not None
    messages = []
    for path in sorted(settings.outbox_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field on the page"
    return found.group(1)


def _form(client: TestClient, address: str = ADDRESS, **extra: object) -> dict[str, object]:
    page = client.get("/subscribe")
    assert page.status_code == 200
    return {
        "csrf": _csrf(page.text),
        "email": address,
        "topics": ["mvd"],
        "frequency": "weekly",
        "timezone": "Europe/Moscow",
        "hour": "7",
        "weekday": "4",
        "include_updates": "true",
        "ordering": "coverage",
        **extra,
    }


def _subscription(factory: sessionmaker[Session], address: str = ADDRESS) -> Subscription:
    with factory() as session:
        [sub] = queries.subscriptions_of(session=session, email=address)
        session.expunge_all()
        return sub


def _body(html: str) -> str:
    return re.sub(r"\s+", " ", html[html.index("<main>") :])


def test_subscribe_form_sends_only_a_confirmation_and_confirm_needs_a_post(
    client: TestClient, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    done = client.post("/subscribe", data=_form(client))
    assert done.status_code == 200 and "Check your inbox" in done.text
    [confirmation] = _outbox(settings)
    assert confirmation["To"] == ADDRESS
    assert "weekly on Friday at 07:00 (Europe/Moscow)" in _text(confirmation)
    sub = _subscription(session_factory)
    assert (sub.confirmed, sub.frequency, sub.ordering) == (False, Frequency.WEEKLY, "coverage")
    link = re.search(r"http://testserver(/confirm/\S+)", _text(confirmation))
    assert link
    page = client.get(link.group(1))
    assert page.status_code == 200 and "<form" in page.text
    assert not _subscription(session_factory).confirmed  # a link scanner confirms nothing
    confirmed = client.post(link.group(1))
    assert confirmed.status_code == 200 and "Subscribed" in confirmed.text
    assert _subscription(session_factory).confirmed
    assert client.post(link.group(1)).status_code == 200  # opening it twice is harmless
    assert client.post(link.group(1) + "x").status_code == 400


def test_the_answer_is_the_same_for_new_pending_and_subscribed_addresses(
    client: TestClient, settings: Settings
) -> None:
    answers = {
        address: _body(client.post("/subscribe", data=_form(client, address)).text)
        for address in (ADDRESS, "known@newsroom.example")
    }
    again = _body(client.post("/subscribe", data=_form(client, ADDRESS)).text)  # throttled
    assert answers[ADDRESS] == answers["known@newsroom.example"] == again
    subjects = sorted(m["Subject"] for m in _outbox(settings))
    assert subjects == ["Confirm your subscription: MVD offices", "You are already subscribed"]


def test_the_form_needs_its_csrf_token_and_cookie(client: TestClient, settings: Settings) -> None:
    data = _form(client)
    forged = client.post("/subscribe", data={**data, "csrf": "forged"})
    assert forged.status_code == 403
    client.cookies.clear()  # another site's page has the token's form but not our cookie
    no_cookie = client.post("/subscribe", data=data)
    assert no_cookie.status_code == 403
    assert _outbox(settings) == []


def test_subscribe_requests_are_rate_limited_per_client(
    client: TestClient, settings: Settings
) -> None:
    statuses = [
        client.post("/subscribe", data=_form(client, f"r{n}@newsroom.example")).status_code
        for n in range(7)
    ]
    assert statuses == [200] * 5 + [429] * 2
    assert len(_outbox(settings)) == 5
    api = client.post("/api/subscriptions", json={"email": "x@newsroom.example", "topics": ["mvd"]})
    assert api.status_code == 429 and api.headers["retry-after"]


def test_invalid_input_is_explained_on_the_form(client: TestClient, settings: Settings) -> None:
    bad = client.post("/subscribe", data=_form(client, "not-an-address"))
    assert bad.status_code == 400 and "not a valid email" in bad.text
    zone = client.post("/subscribe", data=_form(client, timezone="Mars/Base"))
    assert zone.status_code == 400 and "time zone" in zone.text
    assert _outbox(settings) == []


def test_one_click_unsubscribe_rfc8058(
    client: TestClient, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    tokens = Tokens.from_settings(settings)
    sub = _subscription(session_factory, "known@newsroom.example")
    token = tokens.unsubscribe(sub.unsubscribe_token)
    page = client.get(f"/u/{token}")
    assert page.status_code == 200 and "<form" in page.text
    assert _subscription(session_factory, "known@newsroom.example").active  # GET: no change
    client.cookies.clear()
    done = client.post(
        f"/u/{token}",
        content="List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "Unsubscribed" in done.text
    assert not _subscription(session_factory, "known@newsroom.example").active
    assert client.post(f"/u/{token}").status_code == 200  # replay is harmless
    # The token cannot be bent to another subscription, nor be another kind of token.
    with unit_of_work(session_factory) as session:
        other = subscribe(session, "other@newsroom.example")
        other_secret = other.unsubscribe_token
    signature = token.rsplit(".", 1)[1]
    assert client.post(f"/u/{other_secret}.{signature}").status_code == 404
    assert client.post(f"/u/{other_secret}").status_code == 404
    assert client.get(f"/u/{tokens.preferences(other_secret)}").status_code == 404
    assert _subscription(session_factory, "other@newsroom.example").active


def test_preferences_page_changes_settings_with_csrf(
    client: TestClient, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    tokens = Tokens.from_settings(settings)
    with session_factory() as session:
        subscriber = queries.get_subscriber(session=session, email="known@newsroom.example")
        assert subscriber is not None and subscriber.token
        url = f"/preferences/{tokens.preferences(subscriber.token)}"
    page = client.get(url)
    assert page.status_code == 200 and "known@newsroom.example" in page.text
    form = {
        "csrf": _csrf(page.text),
        "timezone": "Asia/Dushanbe",
        "active": ["migration-deals"],  # mvd switched off, deals switched on
        "updates": ["migration-deals"],
        "frequency-migration-deals": "weekly",
        "hour-migration-deals": "9",
        "weekday-migration-deals": "2",
        "ordering-migration-deals": "newest",
        "frequency-mvd": "daily",
    }
    assert client.post(url, data={**form, "csrf": "forged"}).status_code == 403
    saved = client.post(url, data=form)
    assert saved.status_code == 200 and "Saved." in saved.text
    with session_factory() as session:
        rows = {
            s.topic.slug: s
            for s in queries.subscriptions_of(session=session, email="known@newsroom.example")
        }
        assert not rows["mvd"].active
        deals = rows["migration-deals"]
        assert (deals.active, deals.confirmed, deals.frequency, deals.send_weekday) == (
            True,
            True,
            Frequency.WEEKLY,
            2,
        )
        assert deals.subscriber.timezone == "Asia/Dushanbe"
    assert client.get(url + "x").status_code == 404


def test_json_api_double_opt_in_and_preferences(
    client: TestClient, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    body = {
        "email": ADDRESS,
        "topics": ["mvd"],
        "frequency": "daily",
        "timezone": "Asia/Dushanbe",
        "hour": 9,
    }
    accepted = client.post("/api/subscriptions", json=body)
    known = client.post("/api/subscriptions", json={**body, "email": "known@newsroom.example"})
    assert accepted.status_code == known.status_code == 202
    assert accepted.json() == known.json()
    # What another site's <form enctype="text/plain"> can send: refused, nothing mailed.
    cross_site = client.post(
        "/api/subscriptions",
        content=json.dumps({**body, "email": "victim@newsroom.example"}).encode(),
        headers={"content-type": "text/plain"},
    )
    assert cross_site.status_code in (415, 422)
    assert all(m["To"] != "victim@newsroom.example" for m in _outbox(settings))
    assert client.post("/api/subscriptions", json={**body, "email": "nope"}).status_code == 422
    assert client.post("/api/subscriptions", json={**body, "topics": ["nope"]}).status_code == 422

    confirmation = next(m for m in _outbox(settings) if m["To"] == ADDRESS)
    token = re.search(r"/confirm/(\S+)", _text(confirmation))
    assert token and not _subscription(session_factory).confirmed
    confirmed = client.post("/api/subscriptions/confirm", json={"token": token.group(1)})
    assert confirmed.status_code == 200
    assert confirmed.json()["subscriptions"][0]["confirmed"] is True

    with session_factory() as session:
        secret = queries.get_subscriber(session=session, email=ADDRESS).token  # type: ignore[union-attr]
    prefs = Tokens.from_settings(settings).preferences(secret or "")
    listing = client.get(f"/api/subscriptions/{prefs}").json()
    assert listing["timezone"] == "Asia/Dushanbe" and listing["subscriptions"][0]["hour"] == 9
    patched = client.patch(
        f"/api/subscriptions/{prefs}",
        json={
            "timezone": "Europe/Moscow",
            "subscriptions": [{"topic": "mvd", "frequency": "hourly"}],
        },
    ).json()
    assert patched["timezone"] == "Europe/Moscow"
    assert patched["subscriptions"][0]["frequency"] == "hourly"
    assert patched["subscriptions"][0]["hour"] == 9  # left out: kept
    deleted = client.delete(f"/api/subscriptions/{prefs}", params={"topic": "mvd"}).json()
    assert deleted["subscriptions"][0]["active"] is False
    assert client.get(f"/api/subscriptions/{prefs}x").status_code == 404
    with session_factory() as session:
        assert session.scalar(select(Subscription.active).where(Subscription.id == 2)) is False


def test_a_refused_change_of_preferences_stores_none_of_it(
    client: TestClient, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    tokens = Tokens.from_settings(settings)
    with session_factory() as session:
        subscriber = queries.get_subscriber(session=session, email="known@newsroom.example")
        assert subscriber is not None and subscriber.token
        secret, zone = subscriber.token, subscriber.timezone
    url = f"/preferences/{tokens.preferences(secret)}"
    form = {
        "csrf": _csrf(client.get(url).text),
        "timezone": "Asia/Tokyo",
        # deals on (stored first), then mvd refused: neither may stay
        "active": ["migration-deals", "mvd"],
        "frequency-migration-deals": "weekly",
        "hour-mvd": "25",
    }
    refused = client.post(url, data=form)
    assert refused.status_code == 400 and "Saved." not in refused.text
    api = client.patch(
        f"/api/subscriptions/{tokens.preferences(secret)}",
        json={"timezone": "Asia/Tokyo", "subscriptions": [{"topic": "nope", "active": True}]},
    )
    assert api.status_code == 422
    with session_factory() as session:
        rows = {
            s.topic.slug: s
            for s in queries.subscriptions_of(session=session, email="known@newsroom.example")
        }
        assert set(rows) == {"mvd"} and rows["mvd"].active
        assert rows["mvd"].subscriber.timezone == zone
