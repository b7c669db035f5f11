"""SendGrid's signed Event Webhook: signatures, idempotency, suppression, settling unknowns."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sendgrid.helpers.eventwebhook import EventWebhook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.digest import _claim, send_due_digests
from alerts.events import SIGNATURE_HEADER, TIMESTAMP_HEADER, load_public_key, verify_request
from alerts.senders import MockSender
from core.settings import Settings
from db import queries
from db.models import Delivery, DeliveryStatus, Digest, MailEvent
from db.session import unit_of_work
from tests.test_digest_fixtures import NOW, TOKENS, seed
from web.app import create_app

KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_KEY = base64.b64encode(
    KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()


def _signed(body: bytes, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = KEY.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        SIGNATURE_HEADER: base64.b64encode(signature).decode(),
        TIMESTAMP_HEADER: stamp,
        "content-type": "application/json",
    }


def _event(name: str, email: str, **extra: Any) -> dict[str, Any]:
    return {
        "email": email,
        "event": name,
        "timestamp": 1795860000,
        "sg_event_id": f"ev-{time.monotonic_ns()}",  # differs on each retry, as SendGrid's does
        "sg_message_id": "msg-1.filter0001.example",
        **extra,
    }


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        sendgrid_webhook_public_key=PUBLIC_KEY,
        send_backoff_max_seconds=0,
    )


@pytest.fixture
def client(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    seed(session_factory, ["a@x.example", "b@x.example", "c@x.example"])
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _post(client: TestClient, events: list[dict[str, Any]], **kwargs: Any) -> Any:
    body = json.dumps(events).encode()
    return client.post("/events/sendgrid", content=body, headers=_signed(body, **kwargs))


def test_our_check_matches_sendgrids_own_helper() -> None:
    body = json.dumps([_event("delivered", "a@x.example")]).encode()
    headers = _signed(body)
    official = EventWebhook(PUBLIC_KEY)
    assert official.verify_signature(
        body.decode(), headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER]
    )
    verify_request(
        load_public_key(PUBLIC_KEY), body, headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER]
    )


def test_unsigned_forged_and_stale_requests_are_refused(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    body = json.dumps([_event("spamreport", "a@x.example")]).encode()
    unsigned = client.post(
        "/events/sendgrid", content=body, headers={"content-type": "application/json"}
    )
    assert unsigned.status_code == 401
    forged_body = json.dumps([_event("spamreport", "b@x.example")]).encode()
    forged = client.post("/events/sendgrid", content=forged_body, headers=_signed(body))
    assert forged.status_code == 403
    stale = _post(client, [_event("spamreport", "a@x.example")], timestamp=int(time.time()) - 3600)
    assert stale.status_code == 403
    garbage = client.post(
        "/events/sendgrid", content=body, headers={**_signed(body), SIGNATURE_HEADER: "%%%"}
    )
    assert garbage.status_code == 403
    not_a_list = b'{"event": "bounce"}'
    assert (
        client.post("/events/sendgrid", content=not_a_list, headers=_signed(not_a_list)).status_code
        == 400
    )
    with session_factory() as session:
        assert session.scalars(select(MailEvent)).all() == []
        subs = queries.list_subscriptions(session=session)
        assert all(s.subscriber.suppressed_at is None for s in subs)


def test_without_a_key_the_endpoint_refuses_everything(tmp_path: Path, database_url: str) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, database_url=database_url))) as c:
        body = json.dumps([_event("bounce", "a@x.example")]).encode()
        assert c.post("/events/sendgrid", content=body, headers=_signed(body)).status_code == 404


def test_bounces_and_complaints_suppress_once_and_digests_skip_them(
    client: TestClient,
    settings: Settings,
    session_factory: sessionmaker[Session],
) -> None:
    events = [
        _event("bounce", "a@x.example", type="bounce", reason="550 5.1.1 no such user"),
        _event("bounce", "b@x.example", type="blocked", reason="IP reputation"),  # temporary
        _event("spamreport", "C@X.example"),
        _event("open", "b@x.example"),
        _event("bounce", "stranger@x.example", type="bounce"),
    ]
    first = _post(client, events)
    assert first.status_code == 200
    assert first.json() == {
        "received": 5,
        "recorded": 3,
        "duplicates": 0,
        "suppressed": 2,
        "settled": 0,
        "ignored": 2,
    }
    retried = [{**event, "sg_event_id": "new-id-on-retry"} for event in events]
    again = _post(client, retried).json()
    assert (again["recorded"], again["duplicates"]) == (0, 3)
    with session_factory() as session:
        state = {
            s.subscriber.email: s.subscriber.suppressed_reason
            for s in queries.list_subscriptions(session=session)
        }
    assert state == {
        "a@x.example": "bounce: 550 5.1.1 no such user",
        "b@x.example": None,
        "c@x.example": "spamreport",
    }
    sender = MockSender()
    send_due_digests(session_factory, settings, sender, now=NOW, tokens=TOKENS)
    assert [m.to for m in sender.sent] == ["b@x.example"]


def test_a_processed_event_settles_a_digest_whose_fate_was_unknown(
    client: TestClient, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        sub_id = queries.subscriptions_of(session=session, email="a@x.example")[0].id
    claimed = _claim(session_factory, settings, sub_id, "I-x", NOW, False, tokens=TOKENS)
    assert claimed is not None
    with unit_of_work(session_factory) as session:
        digest = session.get(Digest, claimed.digest_id)
        assert digest is not None
        digest.status = DeliveryStatus.UNKNOWN
    event = _event("processed", "a@x.example", digest_id=claimed.message.custom_args["digest_id"])
    assert _post(client, [event]).json()["settled"] == 1
    with session_factory() as session:
        assert session.get(Digest, claimed.digest_id).status == DeliveryStatus.SENT  # type: ignore[union-attr]
        statuses = set(
            session.scalars(select(Delivery.status).where(Delivery.digest_id == claimed.digest_id))
        )
    assert statuses == {DeliveryStatus.SENT}
    later = send_due_digests(
        session_factory, settings, MockSender(), now=NOW + timedelta(hours=1), tokens=TOKENS
    )
    assert later.unknown == 0
