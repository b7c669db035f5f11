"""Readers' feedback and the per-topic relevance model, end to end on both engines.

Signed feedback links (a GET only shows a button), the admin's buttons on the
story page, one judgment per (topic, story, who), the model adding a story
the query missed once readers' judgments say so, the digest's links and
marker, and the CLI's ``topics feedback|model|suggest``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from alerts import relevance
from alerts.compose import Candidate as DigestCandidate
from alerts.compose import DigestContent, build_entries, compose_digest
from alerts.matching import match_pending
from alerts.tokens import TokenError, Tokens
from bench.matching import seeds as seeds_script
from bench.matching.topic_quality import beat_files, load_rows
from cli import app
from cli.commands import register
from cli.common import reset_context
from cli.context import AppContext
from core.seeds import seed_examples, seeds_path
from core.settings import Settings
from core.why import MODEL_WHY
from db import feedback, queries
from db.archive import stories_by_id
from db.models import VIA_MODEL, Frequency, Subscription, TopicFeedback, TopicMatch
from db.session import make_engine, make_sessionmaker, unit_of_work
from tests.factories import story_record
from web.app import create_app

SLUG = "parrots"
ADMIN_TOKEN = "admin-token-for-feedback-tests-0123"
SECRET = "feedback-test-key-0123456789abcdef"
ADDRESS = "reader@newsroom.example"

PARROTS = [
    (
        "Parrots seized at the border crossing",
        "Customs officers seized twelve parrots hidden in a lorry at the border crossing.",
    ),
    (
        "Rare parrot returned to the wild",
        "A rare parrot taken from a smuggler was returned to the forest by rangers.",
    ),
    (
        "Parrot trade ban extended",
        "The ministry extended its ban on the trade in wild parrots for another year.",
    ),
    (
        "Smuggled parrots found in suitcases",
        "Airport police found smuggled parrots in two suitcases from abroad.",
    ),
    (
        "Parrot sanctuary overwhelmed",
        "The parrot sanctuary says it cannot take more birds seized from traffickers.",
    ),
    (
        "Court fines parrot dealer",
        "A court fined a dealer who sold wild parrots without a permit.",
    ),
]
FOOTBALL = [
    ("City win the cup final", "City beat United two goals to one in the cup final on Sunday."),
    ("Striker signs new contract", "The club's top striker signed a new three-year contract."),
    ("Coach sacked after defeat", "The coach was sacked after a fifth league defeat in a row."),
    ("Stadium to get a new roof", "The council approved a new roof for the football stadium."),
    ("Derby ends in a draw", "The derby ended in a goalless draw in front of a full stadium."),
    ("Youth team reaches semi-final", "The youth team reached the semi-final of the league cup."),
]
COCKATOOS = [
    (
        "Cockatoo smuggling ring broken up at airport",
        (
            "Customs officers at the airport broke up a cockatoo smuggling ring and seized "
            "forty cockatoos hidden in plastic bottles in luggage."
        ),
    ),
    (
        "Cockatoos found in bottles at airport customs",
        (
            "Airport customs found cockatoos hidden in plastic bottles in the luggage of "
            "two travellers; the smuggling ring sold the cockatoos abroad."
        ),
    ),
    (
        "Airport customs seize smuggled cockatoos",
        (
            "Customs at the airport seized smuggled cockatoos packed in plastic bottles; "
            "the cockatoo smuggling ring had used luggage before."
        ),
    ),
    (
        "Cockatoo smugglers stopped at airport",
        (
            "Airport customs stopped a cockatoo smuggling ring: officers found cockatoos in "
            "plastic bottles hidden in luggage."
        ),
    ),
    (
        "Cockatoos seized from smugglers at the airport",
        (
            "Airport customs officers seized cockatoos from smugglers who hid the birds in "
            "plastic bottles in their luggage."
        ),
    ),
]
NEW_COCKATOO = (
    "Cockatoo smugglers caught at airport customs",
    (
        "Airport customs officers caught cockatoo smugglers with cockatoos hidden in plastic "
        "bottles in their luggage, the second smuggling ring this year."
    ),
)


@pytest.fixture(autouse=True)
def fresh_models() -> Iterator[None]:
    relevance.forget_models()
    yield
    relevance.forget_models()


# --- tokens ------------------------------------------------------------------------------


def test_a_feedback_link_binds_subscriber_topic_story_and_verdict() -> None:
    tokens = Tokens(b"k" * 32)
    token = tokens.feedback("secret-of-reader", 3, 41, True)
    request = tokens.check_feedback(token)
    assert (request.subscriber_secret, request.topic_id, request.story_id) == (
        "secret-of-reader",
        3,
        41,
    )
    assert request.relevant is True
    assert tokens.check_feedback(tokens.feedback("s", 3, 41, False)).relevant is False
    with pytest.raises(TokenError):
        Tokens(b"x" * 32).check_feedback(token)  # another key
    with pytest.raises(TokenError):
        tokens.check_unsubscribe(token)  # another purpose
    with pytest.raises(TokenError):
        tokens.check_feedback(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])


# --- seeds -------------------------------------------------------------------------------


def test_the_shipped_seed_file_is_current_and_holds_no_held_out_story() -> None:
    path = seeds_path("police-liaison-migration")
    assert path.read_text(encoding="utf-8") == seeds_script.render(), (
        "stale seed file: python -m bench.matching.seeds"
    )
    held_out = {
        str(row["id"]) for p in beat_files() for row in load_rows(p) if row["split"] == "test"
    }
    seeds = seed_examples("police-liaison-migration")
    assert seeds and not held_out & {e.id for e in seeds}


# --- the flow on both engines -------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        base_url="http://testserver",
        admin_token=ADMIN_TOKEN,  # type: ignore[arg-type]
        secret_key=SECRET,  # type: ignore[arg-type]
    )


@pytest.fixture
def factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _store(session: Session, n: int, title: str, body: str) -> int:
    source, _ = queries.upsert_source(session=session, name="wire", url="https://wire.example/rss")
    story_id = queries.insert_story_if_new(
        session=session,
        record=story_record(
            n,
            f"https://wire.example/{n}",
            source_id=source.id,
            title=title,
            body=body,
            language="en",
            published_at=datetime(2026, 12, 1, tzinfo=UTC),
        ),
    )
    assert story_id is not None
    return story_id


def _setup(factory: sessionmaker[Session]) -> tuple[int, str, dict[str, list[int]]]:
    ids: dict[str, list[int]] = {"parrots": [], "football": [], "cockatoos": []}
    with unit_of_work(factory) as session:
        topic, _ = queries.upsert_topic(session=session, slug=SLUG, name="Parrots", query="parrot")
        sub, _ = queries.subscribe(
            session=session,
            email=ADDRESS,
            topic=topic,
            frequency=Frequency.DAILY,
            token="unsubscribe-secret",
            confirmed=True,
        )
        n = 0
        for group, texts in (
            ("parrots", PARROTS),
            ("football", FOOTBALL),
            ("cockatoos", COCKATOOS),
        ):
            for title, body in texts:
                n += 1
                ids[group].append(_store(session, n, title, body))
        match_pending(session)
        secret = sub.subscriber.token
        assert secret is not None
        return topic.id, secret, ids


def _judge(client: TestClient, token: str) -> None:
    page = client.get(f"/feedback/{token}")
    assert page.status_code == 200 and 'method="post"' in page.text
    done = client.post(f"/feedback/{token}")
    assert done.status_code == 200 and "Thank you" in done.text


def _model_matches(factory: sessionmaker[Session], topic_id: int) -> dict[int, list[str]]:
    with factory() as session:
        rows = session.scalars(
            select(TopicMatch).where(TopicMatch.topic_id == topic_id, TopicMatch.via == VIA_MODEL)
        )
        return {m.story_id: list(m.why) for m in rows}


def _store_and_match(factory: sessionmaker[Session], n: int) -> int:
    with unit_of_work(factory) as session:
        story_id = _store(session, n, *NEW_COCKATOO)
        match_pending(session)
    return story_id


def test_feedback_from_signed_links_changes_what_the_model_adds(
    settings: Settings, factory: sessionmaker[Session], client: TestClient
) -> None:
    tokens = Tokens.from_settings(settings)
    topic_id, secret, ids = _setup(factory)
    assert _model_matches(factory, topic_id) == {}  # no examples yet: no model

    # A mail scanner fetching every link judges nothing.
    for story_id in ids["parrots"]:
        assert (
            client.get(f"/feedback/{tokens.feedback(secret, topic_id, story_id, True)}").status_code
            == 200
        )
    with factory() as session:
        assert feedback.judgments(session=session, topic_id=topic_id) == []

    # The reader: parrots relevant; football and cockatoos not.
    for story_id in ids["parrots"]:
        _judge(client, tokens.feedback(secret, topic_id, story_id, True))
    for story_id in ids["football"] + ids["cockatoos"]:
        _judge(client, tokens.feedback(secret, topic_id, story_id, False))
    first = _store_and_match(factory, 100)
    assert first not in _model_matches(factory, topic_id)

    # The reader changes their mind about cockatoos: a later judgment replaces the earlier one.
    for story_id in ids["cockatoos"]:
        _judge(client, tokens.feedback(secret, topic_id, story_id, True))
    with factory() as session:
        rows = session.scalars(select(TopicFeedback).where(TopicFeedback.topic_id == topic_id))
        verdicts = {row.story_id: row.relevant for row in rows}
    assert len(verdicts) == len(ids["parrots"] + ids["football"] + ids["cockatoos"])
    assert all(verdicts[i] for i in ids["cockatoos"])

    second = _store_and_match(factory, 101)
    added = _model_matches(factory, topic_id)
    assert second in added
    assert any(MODEL_WHY in why for why in added[second])

    # The topic page and the story page say the model added it.
    assert "added by the topic's model" in client.get(f"/topics/{SLUG}").text
    assert "added by the topic's model" in client.get(f"/stories/{second}").text

    # Switched off, the model adds nothing more.
    with unit_of_work(factory) as session:
        queries.get_topic(session=session, slug=SLUG).model_enabled = False
    third = _store_and_match(factory, 102)
    assert third not in _model_matches(factory, topic_id)


def test_a_feedback_link_needs_a_subscription_to_the_topic_and_a_valid_signature(
    settings: Settings, factory: sessionmaker[Session], client: TestClient
) -> None:
    tokens = Tokens.from_settings(settings)
    topic_id, secret, ids = _setup(factory)
    with unit_of_work(factory) as session:
        other, _ = queries.upsert_topic(session=session, slug="other", name="Other", query="x")
        other_id = other.id
    story = ids["parrots"][0]
    assert (
        client.get(f"/feedback/{tokens.feedback(secret, other_id, story, True)}").status_code == 404
    )
    forged = Tokens(b"not-the-site-key-0123456789").feedback(secret, topic_id, story, True)
    assert client.post(f"/feedback/{forged}").status_code == 404
    with factory() as session:
        assert feedback.judgments(session=session, topic_id=topic_id) == []


def test_the_admin_judges_from_the_story_page(
    factory: sessionmaker[Session], client: TestClient
) -> None:
    topic_id, _, ids = _setup(factory)
    story = ids["cockatoos"][0]
    assert (
        client.post(
            f"/stories/{story}/feedback", data={"csrf": "x", "topic": SLUG, "relevant": "true"}
        ).status_code
        == 401
    )  # not logged in
    answer = client.post("/login", data={"token": ADMIN_TOKEN, "next": f"/stories/{story}"})
    assert answer.status_code == 200
    page = client.get(f"/stories/{story}").text
    assert "Missed by a topic?" in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    for relevant in ("false", "true"):
        done = client.post(
            f"/stories/{story}/feedback",
            data={"csrf": csrf.group(1), "topic": SLUG, "relevant": relevant},
            follow_redirects=False,
        )
        assert done.status_code == 303
    with factory() as session:
        rows = feedback.judgments(session=session, topic_id=topic_id)
    assert [(j.who, j.relevant, s.id) for j, s in rows] == [("admin", True, story)]
    assert "you said: relevant" in client.get(f"/stories/{story}").text


def test_digest_entries_carry_feedback_links_and_the_model_marker(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    tokens = Tokens.from_settings(settings)
    topic_id, _, ids = _setup(factory)
    with unit_of_work(factory) as session:
        story_id = ids["cockatoos"][0]
        queries.record_topic_match(
            session=session,
            story_id=story_id,
            topic_id=topic_id,
            why=[relevance.model_why(0.91)],
            when=datetime(2026, 12, 1, tzinfo=UTC),
            via=VIA_MODEL,
        )
    with factory() as session:
        sub = session.scalars(select(Subscription)).one()
        rows = list(session.scalars(select(TopicMatch).where(TopicMatch.topic_id == topic_id)))
        found = stories_by_id(session=session, ids=[m.story_id for m in rows])
        entries = build_entries(
            session, sub.topic, [DigestCandidate(found[m.story_id], m) for m in rows]
        )
        message = compose_digest(
            settings,
            sub,
            DigestContent(new=entries),
            digest_id=1,
            now=datetime(2026, 12, 1, 9, tzinfo=UTC),
            tokens=tokens,
        )
    assert "Added by the topic's model" in message.text
    assert message.html is not None and "Added by the topic's model" in message.html
    links = re.findall(r"Relevant: (http://testserver/feedback/\S+)", message.text)
    assert len(links) == len(entries)
    request = tokens.check_feedback(links[0].rsplit("/", 1)[1])
    assert request.topic_id == topic_id and request.relevant


# --- the CLI ----------------------------------------------------------------------------------


def test_cli_lists_feedback_switches_the_model_and_suggests_terms(
    settings: Settings, factory: sessionmaker[Session], client: TestClient
) -> None:
    tokens = Tokens.from_settings(settings)
    topic_id, secret, ids = _setup(factory)
    for story_id in ids["parrots"] + ids["cockatoos"]:
        _judge(client, tokens.feedback(secret, topic_id, story_id, True))
    for story_id in ids["football"]:
        _judge(client, tokens.feedback(secret, topic_id, story_id, False))
    register(app)
    reset_context(AppContext(settings=settings))
    try:
        runner = CliRunner()
        listed = runner.invoke(app, ["topics", "feedback", SLUG])
        assert listed.exit_code == 0, listed.output
        assert "not relevant" in listed.output and "subscriber:" in listed.output
        status = runner.invoke(app, ["topics", "model", SLUG])
        assert status.exit_code == 0 and "model on" in status.output
        assert "11 relevant" in status.output
        suggested = runner.invoke(app, ["topics", "suggest", SLUG])
        assert suggested.exit_code == 0, suggested.output
        assert "cockatoo" in suggested.output
        assert "parrot " not in suggested.output  # already in the query
        off = runner.invoke(app, ["topics", "model", SLUG, "--off"])
        assert off.exit_code == 0 and "model off" in off.output
        preview = runner.invoke(app, ["topics", "preview", SLUG, "--days", "3650"])
        assert preview.exit_code == 0 and "model doubts" not in preview.output
        runner.invoke(app, ["topics", "model", SLUG, "--on"])
        preview = runner.invoke(app, ["topics", "preview", SLUG, "--days", "3650"])
        assert preview.exit_code == 0 and "model doubts" in preview.output
    finally:
        reset_context(None)
