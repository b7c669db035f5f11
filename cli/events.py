"""`wirewatch events show|split|merge|move|follow|unfollow`: see an event's reports, correct
the grouping and the follow-up links."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from cli.common import ctx, user_errors
from db.session import unit_of_work
from wirewatch import events
from wirewatch.events import Correction, EventView

events_app = typer.Typer(
    help="Show an event's reports; correct its grouping and its follow-up links. "
    "Split, merge or move reports when the grouping is wrong; link an event to the earlier "
    "one it develops (follow, unfollow). "
    "Every story moved by hand is pinned: later placement never moves it again.",
    no_args_is_help=True,
)

EVENT_HELP = "Event id (from `wirewatch stories show ID`, /events/ID or the API's `event`)."
STORY_HELP = "Story id (from `wirewatch search --format json` or /stories/ID)."


@events_app.command("show")
def events_show(event_id: int = typer.Argument(..., metavar="ID", help=EVENT_HELP)) -> None:
    """Show an event: its reports (outlet, language, time, address), its headline report,
    and the developments it follows or is followed by."""
    c = ctx()
    with user_errors():
        c.migrate()
        with c.factory() as session:
            view = events.show_event(session, event_id)
            _print_event(view)


@events_app.command("split")
def events_split(story_id: int = typer.Argument(..., metavar="STORY_ID", help=STORY_HELP)) -> None:
    """Take a story out of its event into a new event of its own (pinned)."""
    _correct(lambda session: events.split_story(session, story_id))


@events_app.command("merge")
def events_merge(
    target: int = typer.Argument(..., metavar="TARGET", help="The event to keep. " + EVENT_HELP),
    source: int = typer.Argument(
        ..., metavar="SOURCE", help="The event merged into TARGET, then deleted."
    ),
) -> None:
    """Move every story of SOURCE into TARGET (pinned) and delete SOURCE; both are recounted."""
    _correct(lambda session: events.merge_events(session, target, source))


@events_app.command("move")
def events_move(
    story_id: int = typer.Argument(..., metavar="STORY_ID", help=STORY_HELP),
    event_id: int = typer.Argument(..., metavar="EVENT_ID", help="The event it joins."),
) -> None:
    """Move a story into another event (pinned); the event it left is recounted, or deleted
    when that was its last report."""
    _correct(lambda session: events.move_story(session, story_id, event_id))


@events_app.command("follow")
def events_follow(
    event_id: int = typer.Argument(..., metavar="EVENT", help="The later event. " + EVENT_HELP),
    earlier: int = typer.Argument(..., metavar="EARLIER", help="The earlier event it develops."),
) -> None:
    """Record EVENT as a later development of EARLIER (an agreement signed, then ratified):
    pages, the API and digests show the link."""
    _link(lambda session: events.set_follows(session, event_id, earlier))


@events_app.command("unfollow")
def events_unfollow(
    event_id: int = typer.Argument(..., metavar="EVENT", help=EVENT_HELP),
) -> None:
    """Clear EVENT's follow-up link: it no longer develops an earlier event."""
    _link(lambda session: events.set_follows(session, event_id, None))


def _link(action: Callable[[Session], str]) -> None:
    c = ctx()
    with user_errors():
        c.migrate()
        with unit_of_work(c.factory) as session:
            done = action(session)
    c.console.print(done, markup=False, highlight=False, soft_wrap=True)


def _correct(action: Callable[[Session], Correction]) -> None:
    c = ctx()
    with user_errors():
        c.migrate()
        with unit_of_work(c.factory) as session:
            done = action(session)
    # One line, never wrapped, so it can be read back by a script.
    c.console.print(done.describe(), markup=False, highlight=False, soft_wrap=True)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _print_event(view: EventView) -> None:
    console = ctx().console
    lead = view.lead
    console.print(
        f"[bold]event {view.id}[/]" + (f": {escape(lead.title)}" if lead else ""), highlight=False
    )
    languages = ", ".join(f"{code} {n}" for code, n in sorted(view.languages.items()))
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold")
    fields.add_column()
    rows = [
        ("reports", f"{view.size} from {view.outlets} outlet(s) ({languages})"),
        ("first", f"story {view.first_story_id}, {_when(view.first_at)}"),
        ("headline", f"story {view.lead_story_id}" if view.lead_story_id else "-"),
    ]
    if view.follows is not None:
        rows.append(("follows", f"event {view.follows.event_id}: {view.follows.title}"))
    rows += [("followed by", f"event {f.event_id}: {f.title}") for f in view.followed_by]
    for name, value in rows:
        fields.add_row(name, escape(value))
    console.print(fields)
    table = Table("id", "published", "outlet", "lang", "title", "url", title="reports")
    for r in view.reports:
        marks = (" [headline]" if r.lead else "") + (" [pinned]" if r.pinned else "")
        table.add_row(
            str(r.story_id),
            _when(r.when),
            escape(r.source or "-"),
            r.language or "",
            escape(r.title + marks),
            escape(r.url),
        )
    console.print(table)
    if view.size > len(view.reports):
        console.print(f"(the first {len(view.reports)} of {view.size} reports)")


def register(app: typer.Typer) -> None:
    app.add_typer(events_app, name="events")
