"""The SendGrid stand-in itself: it must reject what the real API rejects, or it proves nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import sendgrid_stub as stub_servers
from tests.servers.sendgrid_stub import SchemaMissingError, SendGridStub

sendgrid_stub = stub_servers.sendgrid_stub  # fixture


def valid_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "personalizations": [{"to": [{"email": "farhod@example.org"}]}],
        "from": {"email": "alerts@wirewatch.example.org", "name": "wirewatch"},
        "subject": "Сводка",
        "content": [{"type": "text/plain", "value": "Матн"}],
    }
    body.update(overrides)
    return body


def post(stub: SendGridStub, body: Any, *, key: str | None = None, path: str = "/v3/mail/send"):
    headers = {"Authorization": f"Bearer {key or stub.api_key}"} if key != "" else {}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    with httpx.Client(base_url=stub.url, trust_env=False, timeout=5) as client:
        return client.post(path, content=content, headers=headers)


def error_fields(response: httpx.Response) -> list[str | None]:
    return [error["field"] for error in response.json()["errors"]]


def test_valid_body_is_accepted_with_a_message_id(sendgrid_stub: SendGridStub) -> None:
    response = post(sendgrid_stub, valid_body())
    assert response.status_code == 202
    assert response.headers["X-Message-Id"] == sendgrid_stub.message_ids[0]
    assert sendgrid_stub.accepted == [valid_body()]


@pytest.mark.parametrize(("key", "message"), [("", "authorization required"), ("SG.x", "invalid")])
def test_missing_or_wrong_key_is_401(sendgrid_stub: SendGridStub, key: str, message: str) -> None:
    response = post(sendgrid_stub, valid_body(), key=key)
    assert response.status_code == 401
    assert message in response.json()["errors"][0]["message"]
    assert sendgrid_stub.accepted == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"from": {"name": "no address"}}, "from", id="from-without-email"),
        # from_email_object lives in components/schemas.json: proves $refs across files resolve.
        pytest.param({"from": {"email": "no-at-sign"}}, "from.email", id="from-email-format"),
        pytest.param({"subject": ""}, "subject", id="empty-subject"),
        pytest.param({"content": [{"type": "text/plain"}]}, "content.0", id="content-no-value"),
        pytest.param({"personalizations": []}, "personalizations", id="no-personalizations"),
        pytest.param(
            {"personalizations": [{"to": []}]}, "personalizations.0.to", id="empty-to-list"
        ),
        pytest.param(
            {"personalizations": [{"to": [{"email": "a@b.c"}], "custom_args": {"id": 17}}]},
            "personalizations.0.custom_args.id",
            id="custom-arg-not-string",
        ),
        pytest.param(
            {
                "content": [
                    {"type": "text/html", "value": "<p>x</p>"},
                    {"type": "text/plain", "value": "x"},
                ]
            },
            "content",
            id="html-before-text",
        ),
        pytest.param({"headers": {"Reply-To": "x@example.org"}}, "headers", id="reserved-header"),
        pytest.param({"categories": ["digest"] * 2}, "categories", id="duplicate-categories"),
    ],
)
def test_bodies_the_api_refuses_get_400_naming_the_field(
    sendgrid_stub: SendGridStub, overrides: dict[str, Any], field: str
) -> None:
    response = post(sendgrid_stub, valid_body(**overrides))
    assert response.status_code == 400
    assert field in error_fields(response)
    assert sendgrid_stub.accepted == []


def test_top_level_custom_args_object_is_accepted_despite_the_spec_typo(
    sendgrid_stub: SendGridStub,
) -> None:
    response = post(sendgrid_stub, valid_body(custom_args={"digest_id": "17"}))
    assert response.status_code == 202


def test_missing_required_top_level_fields_are_all_reported(sendgrid_stub: SendGridStub) -> None:
    response = post(sendgrid_stub, {"personalizations": [{"to": [{"email": "a@b.c"}]}]})
    assert response.status_code == 400
    messages = " ".join(error["message"] for error in response.json()["errors"])
    for name in ("from", "subject", "content"):
        assert f"'{name}' is a required property" in messages


def test_malformed_json_and_unknown_paths(sendgrid_stub: SendGridStub) -> None:
    assert post(sendgrid_stub, b"{not json").status_code == 400
    assert post(sendgrid_stub, valid_body(), path="/v3/mail/batch").status_code == 404


def test_scripted_failures_come_first_then_normal_service(sendgrid_stub: SendGridStub) -> None:
    sendgrid_stub.fail_next(429, times=2, headers={"Retry-After": "5"})
    first, second, third = (post(sendgrid_stub, valid_body()) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 202)
    assert first.headers["Retry-After"] == "5"
    assert first.json()["errors"][0]["message"] == "too many requests"
    assert [r.status for r in sendgrid_stub.requests] == [429, 429, 202]


def test_stub_refuses_to_start_without_the_schema(tmp_path: Path) -> None:
    with pytest.raises(SchemaMissingError, match=str(tmp_path)):
        SendGridStub(schema_dir=tmp_path)
