"""Operators correct events (split, merge, move), through the service and the CLI, on both
engines; their corrections stick when later reports are placed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli import _register_commands, app
from cli.common import reset_context
from cli.context import AppContext
from core.errors import NotFoundError
from core.settings import Settings
from db import queries
from db.models import Event, Story
from db.session import unit_of_work
from tests.event_reports import KENYA, OFFICE, OFFICE_LATE, place, store_one, store_reports
from tests.factories import story_record
from wirewatch import events
from wirewatch.events import (
    NothingToSplitError,
    SameEventError,
    UnknownEventError,
    UnknownStoryError,
)

runner = CliRunner()
_register_commands()


@pytest.fixture
def ids(session_factory: sessionmaker[Session]) -> dict[str, int]:
    with unit_of_work(session_factory) as session:
        return store_reports(session, [*OFFICE, KENYA])


def _event_of(factory: sessionmaker[Session], story_id: int) -> tuple[int | None, bool]:
    with factory() as session:
        story = session.get_one(Story, story_id)
        return story.event_id, story.event_pinned


def _event(factory: sessionmaker[Session], event_id: int) -> Event | None:
    with factory() as session:
        return session.get(Event, event_id)


def _members(factory: sessionmaker[Session], event_id: int) -> set[int]:
    with factory() as session:
        return set(session.scalars(select(Story.id).where(Story.event_id == event_id)))


def test_reports_in_three_languages_are_placed_into_one_event(
    session_factory: sessionmaker[Session], ids: dict[str, int]
) -> None:
    office = _event_of(session_factory, ids["office-ru"])[0]
    assert office is not None
    assert _members(session_factory, office) == {ids[r.key] for r in OFFICE}
    assert _event_of(session_factory, ids["kenya-ru"])[0] not in (None, office)
    with session_factory() as session:
        view = events.show_event(session, office)
    assert view.size == 4 and view.languages == {"ru": 2, "en": 1, "tg": 1}
    assert view.outlets == 4 and [r.story_id for r in view.reports] == [ids[r.key] for r in OFFICE]
    assert sum(r.lead for r in view.reports) == 1 and not any(r.pinned for r in view.reports)


def test_a_split_report_gets_a_pinned_event_and_stays_there(
    session_factory: sessionmaker[Session], ids: dict[str, int]
) -> None:
    office = _event_of(session_factory, ids["office-tg"])[0]
    assert office is not None
    with unit_of_work(session_factory) as session:
        done = events.split_story(session, ids["office-tg"])
    assert done.left == office and done.left_size == 3 and done.story_ids == (ids["office-tg"],)
    assert done.describe() == (
        f"story {ids['office-tg']} left event {office} for new event {done.event_id}, "
        f"of its own (pinned); event {office} keeps 3 reports"
    )
    assert _event_of(session_factory, ids["office-tg"]) == (done.event_id, True)
    recounted = _event(session_factory, office)
    assert recounted is not None and recounted.size == 3
    assert recounted.languages == {"ru": 2, "en": 1}
    assert recounted.lead_story_id != ids["office-tg"]

    # Later: a new report of the same happening is placed, and the split one placed again.
    with unit_of_work(session_factory) as session:
        late, placement = store_one(session, OFFICE_LATE)
        again = place(session, ids["office-tg"])
    assert placement.event_id == office  # the new report still finds its event
    assert again.event_id == done.event_id  # the correction holds
    assert _event_of(session_factory, ids["office-tg"]) == (done.event_id, True)
    assert _members(session_factory, done.event_id) == {ids["office-tg"]}
    assert _members(session_factory, office) == {
        ids["office-ru"],
        ids["office-en"],
        ids["office-ru2"],
        late,
    }

    with unit_of_work(session_factory) as session, pytest.raises(NothingToSplitError) as alone:
        events.split_story(session, ids["office-tg"])
    assert f"story {ids['office-tg']} is already the only report of event" in str(alone.value)


def test_merge_moves_every_report_pins_them_deletes_the_source_and_sticks(
    session_factory: sessionmaker[Session], ids: dict[str, int]
) -> None:
    office = _event_of(session_factory, ids["office-ru"])[0]
    kenya = _event_of(session_factory, ids["kenya-ru"])[0]
    assert office is not None and kenya is not None
    with unit_of_work(session_factory) as session:
        # A development recorded as following the event that will be merged away.
        developed = events.split_story(session, ids["office-ru2"]).event_id
        session.get_one(Event, developed).follows_event_id = kenya

    with unit_of_work(session_factory) as session:
        done = events.merge_events(session, office, kenya)
    assert done.story_ids == (ids["kenya-ru"],) and done.event_id == office
    assert done.left == kenya and done.left_size == 0
    assert _event(session_factory, kenya) is None
    assert _event_of(session_factory, ids["kenya-ru"]) == (office, True)
    merged = _event(session_factory, office)
    assert merged is not None and merged.size == done.size == 4
    assert merged.languages == {"ru": 2, "en": 1, "tg": 1}
    assert done.describe() == (
        f"merged event {kenya} into event {office}: moved story {ids['kenya-ru']} (pinned); "
        f"event {office} now has 4 reports; event {kenya} is gone (no report left)"
    )
    # the development that followed the merged event now follows the event it went into
    follower = _event(session_factory, developed)
    assert follower is not None and follower.follows_event_id == office
    with session_factory() as session:
        view = events.show_event(session, office)
    assert [link.event_id for link in view.followed_by] == [developed]

    # Later reports are placed; the merged reports stay where the operator put them.
    with unit_of_work(session_factory) as session:
        store_one(session, OFFICE_LATE)
        again = place(session, ids["kenya-ru"])
    assert again.event_id == office
    assert _event_of(session_factory, ids["kenya-ru"]) == (office, True)
    assert {ids["office-ru"], ids["office-en"], ids["office-tg"], ids["kenya-ru"]} <= _members(
        session_factory, office
    )
    assert _event_of(session_factory, ids["office-ru2"]) == (developed, True)


def test_move_recounts_both_events_and_deletes_an_emptied_one(
    session_factory: sessionmaker[Session], ids: dict[str, int]
) -> None:
    office = _event_of(session_factory, ids["office-ru"])[0]
    kenya = _event_of(session_factory, ids["kenya-ru"])[0]
    assert office is not None and kenya is not None
    with unit_of_work(session_factory) as session:
        done = events.move_story(session, ids["office-en"], kenya)
    assert (done.event_id, done.size, done.left, done.left_size) == (kenya, 2, office, 3)
    assert _event_of(session_factory, ids["office-en"]) == (kenya, True)
    moved_into = _event(session_factory, kenya)
    assert moved_into is not None and moved_into.languages == {"ru": 1, "en": 1}

    with unit_of_work(session_factory) as session:
        back = events.move_story(session, ids["kenya-ru"], office)
        gone = events.move_story(session, ids["office-en"], office)
    assert back.left_size == 1 and gone.left_size == 0
    assert "is gone (no report left)" in gone.describe()
    assert _event(session_factory, kenya) is None
    assert _members(session_factory, office) == set(ids.values())
    with unit_of_work(session_factory) as session:
        again = place(session, ids["office-en"])
    assert again.event_id == office


def test_the_headline_report_moves_on_when_it_leaves(
    session_factory: sessionmaker[Session], ids: dict[str, int]
) -> None:
    office = _event_of(session_factory, ids["office-ru"])[0]
    assert office is not None
    before = _event(session_factory, office)
    assert before is not None and before.lead_story_id is not None
    with unit_of_work(session_factory) as session:
        events.split_story(session, before.lead_story_id)
    after = _event(session_factory, office)
    assert after is not None and after.lead_story_id not in (None, before.lead_story_id)
    assert after.lead_story_id in _members(session_factory, office)


def test_refusals_say_what_is_wrong_and_change_nothing(
    session_factory: sessionmaker[Session], ids: dict[str, int]
) -> None:
    office = _event_of(session_factory, ids["office-ru"])[0]
    assert office is not None
    refusals: list[tuple[Callable[[Session], object], type[Exception], str]] = [
        (lambda s: events.merge_events(s, office, office), SameEventError, "into itself"),
        (
            lambda s: events.merge_events(s, office, 999_999),
            UnknownEventError,
            "event with id 999999",
        ),
        (
            lambda s: events.merge_events(s, 999_999, office),
            UnknownEventError,
            "event with id 999999",
        ),
        (lambda s: events.move_story(s, ids["office-ru"], office), SameEventError, "already in"),
        (lambda s: events.move_story(s, 999_999, office), UnknownStoryError, "story with id"),
        (lambda s: events.move_story(s, ids["office-ru"], 999_999), UnknownEventError, "999999"),
        (lambda s: events.split_story(s, 999_999), UnknownStoryError, "story with id 999999"),
        (lambda s: events.show_event(s, 999_999), UnknownEventError, "no event with id 999999"),
    ]
    for action, error, words in refusals:
        with unit_of_work(session_factory) as session, pytest.raises(error) as refused:
            action(session)
        assert words in str(refused.value)
        assert isinstance(refused.value, events.EventError)
    assert issubclass(UnknownEventError, NotFoundError)
    assert _members(session_factory, office) == {ids[r.key] for r in OFFICE}
    with session_factory() as session:
        assert not any(session.scalars(select(Story.event_pinned)))


def test_a_story_stored_before_events_can_be_given_one(
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        old = queries.insert_story_if_new(
            session=session, record=story_record(1, "https://old.example/1", title="Old story")
        )
    assert old is not None and _event_of(session_factory, old) == (None, False)
    with unit_of_work(session_factory) as session:
        done = events.split_story(session, old)
    assert done.left is None and done.describe() == (
        f"story {old} is now in new event {done.event_id}, of its own (pinned)"
    )
    assert _event_of(session_factory, old) == (done.event_id, True)


# --- the CLI ---------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Iterator[Settings]:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    reset_context(AppContext(settings=settings))
    yield settings
    reset_context(None)


def test_the_cli_shows_splits_merges_and_moves(
    cli: Settings, session_factory: sessionmaker[Session], ids: dict[str, int]
) -> None:
    office = _event_of(session_factory, ids["office-ru"])[0]
    kenya = _event_of(session_factory, ids["kenya-ru"])[0]
    assert office is not None and kenya is not None

    shown = runner.invoke(app, ["events", "show", str(office)])
    assert shown.exit_code == 0, shown.output
    assert "4 from 4 outlet(s) (en 1, ru 2, tg 1)" in shown.output
    assert "ozodi" in shown.output and "Намояндагии ВКД" in shown.output
    assert "[headline]" in shown.output

    split = runner.invoke(app, ["events", "split", str(ids["office-tg"])])
    assert split.exit_code == 0, split.output
    new = _event_of(session_factory, ids["office-tg"])[0]
    assert f"left event {office} for new event {new}" in split.output

    moved = runner.invoke(app, ["events", "move", str(ids["office-tg"]), str(kenya)])
    assert moved.exit_code == 0, moved.output
    assert f"event {new} is gone" in moved.output

    merged = runner.invoke(app, ["events", "merge", str(office), str(kenya)])
    assert merged.exit_code == 0, merged.output
    assert f"merged event {kenya} into event {office}" in merged.output
    assert _members(session_factory, office) == set(ids.values())
    pinned = runner.invoke(app, ["events", "show", str(office)])
    assert pinned.output.count("[pinned]") == 2

    story = " ".join(runner.invoke(app, ["stories", "show", str(ids["kenya-ru"])]).output.split())
    assert f"{office}: 5 reports" in story and "(placed by an operator)" in story

    for args, words in [
        (["events", "merge", str(office), str(office)], "into itself"),
        (["events", "merge", str(office), str(kenya)], f"no event with id {kenya}"),
        (["events", "show", "987654"], "no event with id 987654"),
        (["events", "split", "987654"], "no story with id 987654"),
        (["events", "move", str(ids["office-ru"]), str(office)], "already in event"),
    ]:
        refused = runner.invoke(app, args)
        assert refused.exit_code == 1, (args, refused.output)
        assert words in " ".join(refused.output.split()), (args, refused.output)


def test_developments_stay_linked_through_moves_and_merges(
    session_factory: sessionmaker[Session], ids: dict[str, int]
) -> None:
    office = _event_of(session_factory, ids["office-ru"])[0]
    kenya = _event_of(session_factory, ids["kenya-ru"])[0]
    assert office is not None and kenya is not None
    with unit_of_work(session_factory) as session:
        later = events.split_story(session, ids["office-ru2"]).event_id
        aside = events.split_story(session, ids["office-en"]).event_id
        session.get_one(Event, kenya).follows_event_id = office
        session.get_one(Event, later).follows_event_id = kenya
        session.get_one(Event, aside).follows_event_id = office

    def follows(event_id: int) -> int | None:
        found = _event(session_factory, event_id)
        assert found is not None
        return found.follows_event_id

    # Kenya's only report moves into the later event: that event now continues what
    # Kenya continued, not an event that is gone.
    with unit_of_work(session_factory) as session:
        events.move_story(session, ids["kenya-ru"], later)
    assert _event(session_factory, kenya) is None and follows(later) == office

    # The office event merges into the later one, which followed it: it follows
    # nothing now, and what followed the office event follows the merged one.
    with unit_of_work(session_factory) as session:
        events.merge_events(session, later, office)
    assert follows(later) is None and follows(aside) == later
