"""`wirewatch stories show|delete`: one stored story, and the way to remove it for good."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from cli.common import ctx, user_errors
from core.errors import NotFoundError
from crawler.storage import StoryDeletion, delete_story
from db.models import Cluster, Story
from db.session import unit_of_work
from wirewatch.archive import StoryDetail, story_detail

stories_app = typer.Typer(help="Show or delete stored stories.", no_args_is_help=True)


@stories_app.command("show")
def stories_show(
    story_id: int = typer.Argument(
        ..., metavar="ID", help="Story id (from `wirewatch search --format json` or /stories/ID)."
    ),
) -> None:
    """Show a story: source, addresses, dates, its cluster's other stories, its event, topics,
    versions."""
    c = ctx()
    with user_errors():
        c.require_schema()
        with c.factory() as session:
            detail = story_detail(session, story_id)
            cluster = _cluster(session, detail.story)
            _print_story(detail, cluster)


@stories_app.command("delete")
def stories_delete(
    story_ids: list[int] = typer.Argument(
        ...,
        metavar="ID",
        help="Story ids (from `wirewatch search --format json` or /stories/ID).",
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking first."),
) -> None:
    """Delete stories for good: their clusters are recounted, their URLs never stored again."""
    c = ctx()
    with user_errors():
        c.require_schema()
    wanted = list(dict.fromkeys(story_ids))  # an id named twice is deleted once
    with c.factory() as session:
        found = {i: s for i in wanted if (s := session.get(Story, i)) is not None}
        listing = [(i, _source_name(s), s.title) for i, s in found.items()]
    failed = [i for i in wanted if i not in found]
    for story_id in failed:
        _error(_not_found(story_id))
    if found and not yes:
        _confirm(listing)
    for story_id in found:
        try:
            with unit_of_work(c.factory) as session:
                deletion = delete_story(session, story_id)
        except NotFoundError:  # deleted by someone else since it was listed
            _error(_not_found(story_id))
            failed.append(story_id)
            continue
        # One line per story, never wrapped, so it can be read back by a script.
        c.console.print(_outcome(deletion), markup=False, highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def _confirm(listing: list[tuple[int, str, str]]) -> None:
    """Show what would go, by title (an id is easy to mistype), and stop unless told yes."""
    console = ctx().console
    console.print("to delete (their URLs will never be stored again):")
    for story_id, source, title in listing:
        console.print(
            f"  {story_id}  {source}  {title}", markup=False, highlight=False, soft_wrap=True
        )
    noun = "story" if len(listing) == 1 else "stories"
    typer.confirm(f"Delete {len(listing)} {noun}?", default=False, abort=True)


def _not_found(story_id: int) -> str:
    return f"no story with id {story_id}: already deleted, or never stored"


def _error(message: str) -> None:
    ctx().err.print(
        f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False, soft_wrap=True
    )


def _outcome(deletion: StoryDeletion) -> str:
    removal = deletion.removal
    said = f"deleted story {deletion.story_id} “{deletion.title}”"
    if removal.cluster_id is None:
        return f"{said}; it was in no cluster"
    if removal.cluster_deleted:
        return f"{said}; it was the last story of cluster {removal.cluster_id}, which is gone"
    noun = "story" if deletion.cluster_size == 1 else "stories"
    return (
        f"{said}; cluster {removal.cluster_id} now has {deletion.cluster_size} {noun}, "
        f"first reported by story {removal.first_story_id}"
    )


def _source_name(story: Story) -> str:
    return story.source.name if story.source is not None else "(no source)"


def _cluster(session: Session, story: Story) -> Cluster | None:
    return None if story.cluster_id is None else session.get(Cluster, story.cluster_id)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def _print_story(detail: StoryDetail, cluster: Cluster | None) -> None:
    console = ctx().console
    story = detail.story
    console.print(f"[bold]{escape(story.title)}[/]", highlight=False)
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold")
    fields.add_column()
    published = _when(story.published_at) + (" (estimated)" if story.published_estimated else "")
    rows = [
        ("id", str(story.id)),
        ("source", detail.source or "(no source)"),
        ("language", story.language or "-"),
        ("url", story.canonical_url),
        *([("fetched from", story.url)] if story.url != story.canonical_url else []),
        ("published", published),
        ("fetched", _when(story.fetched_at)),
        *([("changed", _when(story.updated_at))] if story.updated_at else []),
        ("version", str(story.version)),
        ("cluster", _describe_cluster(cluster)),
        ("event", _describe_event(detail)),
    ]
    for name, value in rows:
        fields.add_row(name, escape(value))
    console.print(fields)
    if detail.members:
        table = Table("id", "published", "source", "lang", "title", title="same story elsewhere")
        for m in detail.members:
            table.add_row(
                str(m.story_id), _when(m.when), escape(m.source), m.language or "", escape(m.title)
            )
        console.print(table)
    if detail.topics:
        table = Table("topic", "matched", "why", title="topics")
        for topic, match in detail.topics:
            table.add_row(escape(topic.slug), _when(match.matched_at), escape("; ".join(match.why)))
        console.print(table)
    if detail.versions:
        table = Table("version", "replaced", "title", title="earlier versions")
        for v in detail.versions:
            table.add_row(str(v.version), _when(v.replaced_at), escape(v.title))
        console.print(table)


def _describe_event(detail: StoryDetail) -> str:
    event = detail.event
    if event is None:
        return "none (never placed, as stories stored before events: its own event)"
    noun = "report" if event.size == 1 else "reports"
    languages = ", ".join(f"{lang} {n}" for lang, n in sorted(event.languages.items()))
    pinned = " (placed by an operator)" if detail.story.event_pinned else ""
    return (
        f"{event.id}: {event.size} {noun} ({languages}), headline story {event.lead_story_id}"
        f"{pinned}; `wirewatch events show {event.id}` lists them"
    )


def _describe_cluster(cluster: Cluster | None) -> str:
    if cluster is None:
        return "none"
    noun = "story" if cluster.size == 1 else "stories"
    languages = ", ".join(f"{lang} {n}" for lang, n in sorted(cluster.languages.items()))
    return (
        f"{cluster.id}: {cluster.size} {noun} ({languages}), "
        f"first reported by story {cluster.first_story_id}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(stories_app, name="stories")
