"""Subscriptions and digests: subscribe, unsubscribe, digest send."""

from __future__ import annotations

import secrets
from enum import StrEnum

import typer
from email_validator import EmailNotValidError, validate_email
from rich.table import Table

from alerts.digest import send_due_digests
from alerts.schedule import zone
from alerts.senders import make_sender
from db import queries
from db.models import Frequency
from db.session import unit_of_work
from wirewatch.cli.common import ctx, user_errors


class Every(StrEnum):
    instant = "instant"
    hourly = "hourly"
    daily = "daily"
    weekly = "weekly"


def checked_email(address: str) -> str:
    try:
        return str(validate_email(address, check_deliverability=False).normalized).lower()
    except EmailNotValidError as exc:
        raise typer.BadParameter(f"{address!r} is not a valid email address: {exc}") from exc


def subscribe(
    email: str = typer.Argument(..., help="The subscriber's email address."),
    topic: str = typer.Option(
        ..., "--topic", "-t", help="Topic slug (see `wirewatch topics list`)."
    ),
    every: Every = typer.Option(Every.daily, "--every", help="How often to send a digest."),
    timezone: str = typer.Option("UTC", "--timezone", help="IANA time zone, e.g. Asia/Dushanbe."),
    hour: int = typer.Option(
        8, "--hour", min=0, max=23, help="Local hour for daily/weekly digests."
    ),
    weekday: int = typer.Option(0, "--weekday", min=0, max=6, help="Weekly digests: 0=Monday."),
) -> None:
    """Subscribe an address to a topic's digest (added by the operator: confirmed at once)."""
    c = ctx()
    address = checked_email(email)
    with user_errors():
        zone(timezone)
        c.migrate()
        with unit_of_work(c.factory) as session:
            topic_row = queries.get_topic(session=session, slug=topic)
            sub, created = queries.subscribe(
                session=session,
                email=address,
                topic=topic_row,
                frequency=Frequency(every.value),
                token=secrets.token_urlsafe(24),
                confirmed=True,
                timezone=timezone,
                send_hour=hour,
                send_weekday=weekday,
            )
            verb = "subscribed" if created else "updated"
            c.console.print(f"{verb}: {address} → {topic_row.slug} ({sub.frequency.value})")


def unsubscribe(
    email: str = typer.Argument(..., help="The subscriber's email address."),
    topic: str = typer.Option(None, "--topic", "-t", help="Only this topic (default: all)."),
) -> None:
    """Stop an address's digests (one topic or all)."""
    c = ctx()
    with user_errors():
        c.migrate()
        with unit_of_work(c.factory) as session:
            changed = queries.unsubscribe(session=session, email=email, topic_slug=topic)
    if changed == 0:
        c.err.print(f"no active subscription for {email}" + (f" to {topic}" if topic else ""))
        raise typer.Exit(1)
    c.console.print(f"unsubscribed {email} from {changed} topic(s)")


digest_app = typer.Typer(help="Send digests.", no_args_is_help=True)


@digest_app.command("send")
def digest_send(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would be sent; send and record nothing."
    ),
) -> None:
    """Send every digest that is due now."""
    c = ctx()
    with user_errors():
        c.migrate()
        sender = make_sender(c.settings)
        summary = send_due_digests(c.factory, c.settings, sender, dry_run=dry_run)
    if dry_run:
        table = Table("to", "subject", title=f"{len(summary.previews)} digest(s) would be sent")
        for message in summary.previews:
            table.add_row(message.to, message.subject)
        c.console.print(table)
        return
    c.console.print(
        f"digests: {summary.sent} sent ({summary.stories} stories), {summary.deferred} deferred, "
        f"{summary.failed} failed, {summary.unknown} unknown after an interrupted run"
    )
    if summary.sent and c.settings.effective_mail_transport == "outbox":
        c.console.print(f"written to {c.settings.outbox_dir}")
    for error in summary.errors:
        c.err.print(f"[yellow]{error}[/]")
    if summary.failed or any("credentials" in e for e in summary.errors):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(subscribe)
    app.command()(unsubscribe)
    app.add_typer(digest_app, name="digest")
