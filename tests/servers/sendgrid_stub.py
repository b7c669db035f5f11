"""A local stand-in for SendGrid's v3 Mail Send API, checked against its OpenAPI description.

A real HTTP server on 127.0.0.1 (random port) answers ``POST /v3/mail/send``
the way the documented API does: 401 without the right bearer key, 400 with
``{"errors": [{"field", "message"}]}`` for a body that breaks the published
schema or the rules the API states in prose, 202 with ``X-Message-Id`` when it
would send, 200 in sandbox mode. Tests can script failures (``fail_next``) to
exercise rate limits and outages.

The schema is read from ``../shared/schemas/sendgrid-v3`` beside the checkout,
``$ref``\\s resolved across its files. Without it the stub refuses to start, and
the ``sendgrid_stub`` fixture skips the test: a stand-in that accepted anything
would prove nothing about the request we send.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from functools import lru_cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

import jsonschema  # type: ignore[import-untyped]
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.conftest import SHARED

SCHEMA_DIR = SHARED / "schemas" / "sendgrid-v3"
MAIL_SEND_SPEC = Path("paths") / "mail_send" / "mail_send.json"
REQUEST_SCHEMA_POINTER = "/mail_send/post/requestBody/content/application~1json/schema"
MAIL_SEND_PATH = "/v3/mail/send"
DEFAULT_API_KEY = "SG.stub-key.for-tests-only"

# Headers the API documents as not settable through ``headers``.
RESERVED_HEADERS = frozenset(
    name.lower()
    for name in (
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "Content-Type",
        "Content-Transfer-Encoding",
        "To",
        "From",
        "Subject",
        "Reply-To",
        "CC",
        "BCC",
    )
)
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

_DEFAULT_ERROR_TEXT = {
    400: "Bad Request",
    401: "The provided authorization grant is invalid, expired, or revoked",
    403: "access forbidden",
    413: "Payload Too Large",
    429: "too many requests",
    500: "internal error",
    503: "service unavailable",
}


class SchemaMissingError(RuntimeError):
    """The OpenAPI description the stub validates against is not where it should be."""


def error_body(message: str, field: str | None = None) -> dict[str, Any]:
    """The API's error shape (``global_error_response_schema``)."""
    return {"errors": [{"field": field, "message": message, "help": None}]}


# -- schema ---------------------------------------------------------------------------------


def _openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects are draft-4 JSON Schema plus ``nullable``; map it."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _openapi_to_jsonschema(value) for key, value in node.items()}
    nullable = converted.get("nullable")
    if isinstance(nullable, bool):  # a property *named* "nullable" would be a dict
        del converted["nullable"]
        if nullable and isinstance(converted.get("type"), str):
            converted["type"] = [converted["type"], "null"]
    return converted


def _apply_errata(spec: dict[str, Any]) -> None:
    """Where the published schema contradicts its own text, follow the text.

    Top-level ``custom_args`` is typed ``string`` although its description (and
    the live API, and the official client libraries) treat it as an object of
    strings; ``headers`` and per-personalization ``custom_args`` are described as
    key/value pairs that "must be strings" but typed only ``object``.
    """
    schema = spec["mail_send"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    properties = schema["properties"]
    properties["custom_args"] = dict(_STRING_MAP)
    properties["headers"] = dict(_STRING_MAP)
    personalization = properties["personalizations"]["items"]["properties"]
    personalization["custom_args"] = dict(_STRING_MAP)
    personalization["headers"] = dict(_STRING_MAP)


@lru_cache(maxsize=4)
def mail_send_validator(schema_dir: Path = SCHEMA_DIR) -> jsonschema.Draft4Validator:
    """A validator for the request body, ``$ref``\\s resolved across the spec's files."""
    spec_path = (schema_dir / MAIL_SEND_SPEC).resolve()
    if not spec_path.is_file():
        raise SchemaMissingError(
            f"SendGrid OpenAPI description not found at {spec_path}; the stub validates every "
            "request against it, so it will not start without ../shared/schemas/sendgrid-v3"
        )
    spec_uri = spec_path.as_uri()

    def retrieve(uri: str) -> Resource[Any]:
        path = Path(urlsplit(uri).path)
        try:
            contents = _openapi_to_jsonschema(json.loads(path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise SchemaMissingError(f"{path}, referenced from {spec_path}, is missing") from exc
        if uri == spec_uri:
            _apply_errata(contents)
        return DRAFT4.create_resource(contents)

    registry: Registry[Any] = Registry(retrieve=retrieve)  # type: ignore[call-arg]
    schema = {"$ref": f"{spec_uri}#{REQUEST_SCHEMA_POINTER}"}
    validator = jsonschema.Draft4Validator(
        schema, registry=registry, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    validator.is_valid({})  # resolve every $ref now: a broken spec fails here, not mid-test
    return validator


def request_errors(body: Any, validator: jsonschema.Draft4Validator) -> list[dict[str, Any]]:
    """Every problem with a Mail Send body, as the API's error objects (empty when valid)."""
    problems: list[dict[str, Any]] = []
    for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.path))):
        field_path = ".".join(str(part) for part in error.absolute_path) or None
        problems.append({"field": field_path, "message": error.message, "help": None})
    if not problems:
        problems.extend(_documented_rules(body))
    return problems


def _documented_rules(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Rules the API documents in prose and enforces, which the schema cannot express."""
    problems: list[dict[str, Any]] = []
    if not body["personalizations"]:
        problems.append(
            {
                "field": "personalizations",
                "message": "The personalizations field is required and must have at least "
                "one personalization.",
                "help": None,
            }
        )
    for index, personalization in enumerate(body["personalizations"]):
        if not personalization["to"]:
            problems.append(
                {
                    "field": f"personalizations.{index}.to",
                    "message": "The to array is required for all personalization objects, "
                    "and must have at least one email object with a valid email address.",
                    "help": None,
                }
            )
    types = [part["type"] for part in body["content"]]
    if not types:
        problems.append(
            {
                "field": "content",
                "message": "Unless a valid template_id is provided, the "
                "content parameter is required.",
                "help": None,
            }
        )
    elif "text/plain" in types and types[0] != "text/plain":
        problems.append(
            {
                "field": "content",
                "message": "If present, text/plain content must be first, "
                "followed by text/html, followed by any other content.",
                "help": None,
            }
        )
    for name in body.get("headers", {}):
        if name.lower() in RESERVED_HEADERS:
            problems.append(
                {
                    "field": "headers",
                    "message": f"The header {name!r} is reserved and may not be set in headers.",
                    "help": None,
                }
            )
    return problems


# -- server ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StubRequest:
    """One request as the stub saw it, with the status it answered."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    status: int


@dataclass
class _Scripted:
    status: int
    headers: dict[str, str]
    body: bytes
    times: int


@dataclass
class SendGridStub:
    """The stand-in server; use as a context manager (the fixture does)."""

    api_key: str = DEFAULT_API_KEY
    schema_dir: Path = SCHEMA_DIR
    accepted: list[dict[str, Any]] = field(default_factory=list)
    sandboxed: list[dict[str, Any]] = field(default_factory=list)
    requests: list[StubRequest] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._validator = mail_send_validator(self.schema_dir)  # refuses to start without it
        self._script: deque[_Scripted] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL to pass as SendGrid ``host`` (``http://127.0.0.1:PORT``)."""
        if self._server is None:
            raise RuntimeError("the SendGrid stub is not running; use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail_next(
        self,
        status: int,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` whatever they contain.

        ``body`` may be JSON-able data or raw text/bytes; by default it is the
        API's error shape with a message typical for the status.
        """
        if body is None:
            text = _DEFAULT_ERROR_TEXT.get(status) or HTTPStatus(status).phrase
            body = error_body(text)
        raw = (
            body
            if isinstance(body, bytes)
            else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
        )
        with self._lock:
            self._script.append(_Scripted(status, dict(headers or {}), raw, times))

    def __enter__(self) -> Self:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.stub = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sendgrid-stub"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    # Called from the server's threads.
    def _respond(
        self, method: str, path: str, headers: Message, raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        body = _parse_json(raw)
        status, reply_headers, reply = self._decide(method, path, headers, body)
        with self._lock:
            self.requests.append(StubRequest(method, path, dict(headers.items()), body, status))
        return status, reply_headers, reply

    def _decide(
        self, method: str, path: str, headers: Message, body: Any
    ) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            scripted = self._script[0] if self._script else None
            if scripted is not None:
                scripted.times -= 1
                if scripted.times <= 0:
                    self._script.popleft()
        if scripted is not None:
            return scripted.status, scripted.headers, scripted.body
        if urlsplit(path).path != MAIL_SEND_PATH:
            return _json(404, error_body("resource not found"))
        if method != "POST":
            return _json(405, error_body("method not allowed"))
        authorization = headers.get("Authorization")
        if not authorization:
            return _json(401, error_body("authorization required"))
        if authorization != f"Bearer {self.api_key}":
            return _json(401, error_body(_DEFAULT_ERROR_TEXT[401]))
        if body is _INVALID_JSON:
            return _json(400, error_body("Bad Request: the request body is not valid JSON"))
        problems = request_errors(body, self._validator)
        if problems:
            return _json(400, {"errors": problems})
        if body.get("mail_settings", {}).get("sandbox_mode", {}).get("enable"):
            with self._lock:
                self.sandboxed.append(body)
            return 200, {}, b""
        message_id = secrets.token_urlsafe(16)[:22]
        with self._lock:
            self.accepted.append(body)
            self.message_ids.append(message_id)
        return 202, {"X-Message-Id": message_id}, b""


_INVALID_JSON = object()


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return _INVALID_JSON


def _json(status: int, data: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        stub: SendGridStub = self.server.stub  # type: ignore[attr-defined]
        status, headers, body = stub._respond(self.command, self.path, self.headers, raw)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows the test's own output, not an access log."""


@pytest.fixture
def sendgrid_stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[SendGridStub]:
    """A running stub; skips the test when the shared OpenAPI description is absent."""
    # urllib would send even 127.0.0.1 through a proxy named in the environment.
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    try:
        stub = SendGridStub()
    except SchemaMissingError as exc:
        pytest.skip(str(exc))
    with stub:
        yield stub
