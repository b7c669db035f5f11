"""Subscriptions, digests and webhooks: subscribe, unsubscribe, subscriptions, digest, webhooks."""

from __future__ import annotations

import json
from enum import StrEnum

import typer
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from alerts import subscribe as subs
from alerts.digest import send_due_digests
from alerts.ledger import AlreadyDeliveredError, describe, outcome, release_for_resend
from alerts.senders import make_sender
from alerts.webhooks import add_webhook, list_webhooks, remove_webhook
from cli.common import ctx, user_errors
from core import i18n
from db import deliveries, queries
from db.models import Digest, Frequency, Subscription
from db.session import unit_of_work


class Every(StrEnum):
    instant = "instant"
    hourly = "hourly"
    daily = "daily"
    weekly = "weekly"


class Order(StrEnum):
    newest = "newest"
    coverage = "coverage"


# The interface languages (core.i18n.LOCALES) as choices the help lists.
Language = StrEnum("Language", {code: code for code in i18n.LOCALES})  # type: ignore[misc]


class Format(StrEnum):
    table = "table"
    json = "json"


def checked_email(address: str) -> str:
    try:
        return subs.normalize_address(address)
    except subs.AddressError as exc:
        raise typer.BadParameter(str(exc)) from exc


def subscribe(
    email: str = typer.Argument(..., help="The subscriber's email address."),
    topic: list[str] = typer.Option(
        ..., "--topic", "-t", help="Topic slug (see `wirewatch topics list`); repeat for several."
    ),
    every: Every = typer.Option(Every.daily, "--every", help="How often to send a digest."),
    timezone: str = typer.Option("UTC", "--timezone", help="IANA time zone, e.g. Asia/Dushanbe."),
    hour: int = typer.Option(
        8, "--hour", min=0, max=23, help="Local hour for daily/weekly digests."
    ),
    weekday: int = typer.Option(0, "--weekday", min=0, max=6, help="Weekly digests: 0=Monday."),
    updates: bool = typer.Option(
        True, "--updates/--no-updates", help="Say when a story already sent changes."
    ),
    order: Order = typer.Option(
        Order.newest, "--order", help="Entries newest or most covered first."
    ),
    confirmed: bool = typer.Option(
        False,
        "--confirmed",
        help="The operator vouches for the address: start now, send no confirmation email.",
    ),
    locale: Language | None = typer.Option(
        None,
        "--locale",
        help="Language of the confirmation and the digests (default: the default_locale "
        "setting, or what the subscriber chose before).",
    ),
) -> None:
    """Subscribe an address: a confirmation email goes out, digests start once it is opened."""
    c = ctx()
    address = checked_email(email)
    prefs = subs.Preferences(
        frequency=Frequency(every.value),
        timezone=timezone,
        send_hour=hour,
        send_weekday=weekday,
        include_updates=updates,
        ordering=order.value,
        locale=locale.value if locale else None,
    )
    with user_errors():
        prefs.checked()
        c.require_schema()
        sender = None if confirmed else make_sender(c.settings)
        result = subs.request_subscription(
            c.factory,
            c.settings,
            sender,
            email=address,
            topics=topic,
            preferences=prefs,
            confirmed=confirmed,
        )
    topics = ", ".join(topic)
    match result.outcome:
        case subs.Outcome.CONFIRMED:
            c.console.print(f"subscribed: {address} → {topics} ({prefs.describe()})")
        case subs.Outcome.CONFIRMATION_SENT:
            c.console.print(
                f"confirmation sent to {address} for {topics}; digests start when its link "
                "is opened (or run again with --confirmed)"
            )
        case subs.Outcome.ALREADY_SUBSCRIBED:
            c.console.print(
                f"{address} already gets {topics}: nothing changed; they were sent their "
                "preferences link (use --confirmed to change settings as the operator)"
            )
        case subs.Outcome.THROTTLED:
            c.console.print(
                f"a confirmation was sent to {address} less than "
                f"{int(subs.CONFIRM_RESEND.total_seconds() // 60)} minutes ago; not sending another"
            )
        case subs.Outcome.SUPPRESSED:
            c.err.print(f"{address} is suppressed (bounce or spam report); nothing was sent")
            raise typer.Exit(1)
    if result.message is not None and c.settings.effective_mail_transport == "outbox":
        c.console.print(f"written to {c.settings.outbox_dir}")


def unsubscribe(
    email: str = typer.Argument(..., help="The subscriber's email address."),
    topic: str = typer.Option(None, "--topic", "-t", help="Only this topic (default: all)."),
) -> None:
    """Stop an address's digests (one topic or all)."""
    c = ctx()
    with user_errors():
        c.require_schema()
        with unit_of_work(c.factory) as session:
            changed = queries.unsubscribe(session=session, email=email, topic_slug=topic)
    if changed == 0:
        c.err.print(f"no active subscription for {email}" + (f" to {topic}" if topic else ""))
        raise typer.Exit(1)
    c.console.print(f"unsubscribed {email} from {changed} topic(s)")


subscriptions_app = typer.Typer(help="List subscriptions.", no_args_is_help=True)


def _digest_line(digest: Digest | None) -> str | None:
    """A subscription's latest digest as `digest status` names it."""
    if digest is None:
        return None
    when = digest.sent_at or digest.created_at
    return f"digest {digest.id} {outcome(digest).value} {when:%Y-%m-%d %H:%M}"


def _state(sub: Subscription) -> str:
    if sub.subscriber.suppressed_at is not None:
        return f"suppressed ({sub.subscriber.suppressed_reason})"
    if not sub.active:
        return "unsubscribed"
    return "active" if sub.confirmed else "awaiting confirmation"


@subscriptions_app.command("list")
def subscriptions_list(
    email: str = typer.Option(None, "--email", help="Only this address."),
    topic: str = typer.Option(None, "--topic", "-t", help="Only this topic."),
    output: Format = typer.Option(Format.table, "--format", help="table or json."),
) -> None:
    """Every subscription with its schedule, state and last problem."""
    c = ctx()
    with user_errors():
        c.require_schema()
        with c.factory() as session:
            rows = []
            for sub in queries.list_subscriptions(session=session, email=email, topic_slug=topic):
                latest = deliveries.latest_digest(session=session, subscription_id=sub.id)
                problems = [
                    digest
                    for digest in deliveries.digests_not_sent(
                        session=session, limit=20, subscription_id=sub.id
                    )
                    if outcome(digest).needs_attention
                ]
                rows.append(
                    {
                        "email": sub.subscriber.email,
                        "topic": sub.topic.slug,
                        "schedule": subs.Preferences.of(sub).describe(),
                        "updates": sub.include_updates,
                        "order": sub.ordering,
                        "locale": sub.subscriber.locale or c.settings.default_locale,
                        "state": _state(sub),
                        "last_digest": _digest_line(latest),
                        "problem": (
                            "; ".join(
                                f"digest {p.id} {outcome(p).value}: {p.error or ''}"
                                for p in problems
                            )
                            or None
                        ),
                    }
                )
    if output == Format.json:
        c.console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    # One block per subscription, the address on a line of its own: a table cut
    # addresses short on an 80-column terminal.
    if not rows:
        c.console.print("no subscriptions")
        return
    for row in rows:
        c.console.print(Text(str(row["email"]), style="bold", overflow="fold"))
        lines = [f"{row['topic']}: {row['schedule']}; {row['state']}; in {row['locale']}"]
        if row["last_digest"]:
            lines.append(f"last: {row['last_digest']}")
        if row["problem"]:
            lines.append(f"problem: {row['problem']}")
        for line in lines:
            c.console.print(Padding(Text(line, overflow="fold"), (0, 0, 0, 2)))


digest_app = typer.Typer(
    help="Send due digests, list failed or unknown ones, send one again.", no_args_is_help=True
)


@digest_app.command("send")
def digest_send(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would be sent; send and record nothing."
    ),
) -> None:
    """Send every digest (and webhook batch) that is due now."""
    c = ctx()
    with user_errors():
        c.require_schema()
        sender = make_sender(c.settings)
        summary = send_due_digests(c.factory, c.settings, sender, dry_run=dry_run)
    if dry_run:
        table = Table("to", "subject", title=f"{len(summary.previews)} digest(s) would be sent")
        for message in summary.previews:
            table.add_row(message.to, message.subject)
        c.console.print(table)
        return
    c.console.print(
        f"digests: {summary.sent} sent ({summary.listing()}), "
        f"{summary.deferred} deferred, {summary.failed} failed, {summary.unknown} unknown, "
        f"{summary.held} waiting for the crawl in progress"
    )
    hooks = summary.webhooks
    if hooks is not None and (hooks.posted or hooks.failed or hooks.deferred):
        c.console.print(
            f"webhooks: {hooks.posted} posted ({hooks.stories} stories), "
            f"{hooks.deferred} deferred, {hooks.failed} failed"
        )
    if summary.sent and c.settings.effective_mail_transport == "outbox":
        c.console.print(f"written to {c.settings.outbox_dir}")
    for error in [*summary.errors, *(hooks.errors if hooks is not None else [])]:
        c.err.print(f"[yellow]{error}[/]")
    if summary.unknown:
        c.err.print("see `wirewatch digest status`; `wirewatch digest resend ID` sends one again")
    if summary.failed or summary.transport_refused:
        raise typer.Exit(1)


@digest_app.command("status")
def digest_status(
    limit: int = typer.Option(20, "--limit", min=1, help="How many digests to show."),
) -> None:
    """The latest digests that were not sent, and what becomes of each.

    deferred: the transport was away, its stories go out with a later run;
    failed and unknown need you (`wirewatch digest resend ID`).
    """
    c = ctx()
    with user_errors():
        c.require_schema()
        with c.factory() as session:
            digests = deliveries.digests_not_sent(session=session, limit=limit)
            table = Table("id", "state", "to", "subject", "created", "next", "error")
            attention = 0
            for digest in digests:
                sub = session.get(Subscription, digest.subscription_id)
                state = outcome(digest)
                attention += state.needs_attention
                later = deliveries.first_sent_after(session=session, digest=digest)
                table.add_row(
                    str(digest.id),
                    state.value,
                    sub.subscriber.email if sub else "",
                    digest.subject,
                    digest.created_at.strftime("%Y-%m-%d %H:%M"),
                    describe(digest, later),
                    (digest.error or "")[:120],
                )
    if not digests:
        c.console.print("every digest was sent")
        return
    c.console.print(table)
    c.console.print(
        f"{attention} need you (failed or unknown)"
        if attention
        else "none needs you: no failed or unknown digests"
    )


@digest_app.command("resend")
def digest_resend(
    digest_id: int = typer.Argument(..., help="Id from `wirewatch digest status`."),
) -> None:
    """Send an unknown or failed digest's stories again with the next run (your decision).

    An unknown digest is first looked for at the transport (the server's recorded
    acceptance, SendGrid's event reports, the outbox): one that arrived is recorded
    as sent instead of going out twice.
    """
    c = ctx()
    with user_errors():
        c.require_schema()
        try:
            digest = release_for_resend(c.factory, digest_id, make_sender(c.settings))
        except AlreadyDeliveredError as exc:
            c.console.print(str(exc))
            return
    c.console.print(f"digest {digest.id} released; its stories go out with the next digest run")
    if digest.transport in ("smtp", "sendgrid"):
        c.err.print(
            f"[yellow]nothing showed that {digest.transport} took it, which is no proof it did "
            "not (see docs/mail.md, 'What cannot be known'): the reader may get it twice[/]"
        )


webhooks_app = typer.Typer(help="Signed JSON webhooks per topic.", no_args_is_help=True)


@webhooks_app.command("add")
def webhooks_add(
    topic: str = typer.Argument(..., help="Topic slug."),
    url: str = typer.Argument(..., help="http(s) URL that receives the POSTs."),
) -> None:
    """Send a topic's new stories to a URL; prints the secret the receiver verifies with."""
    c = ctx()
    with user_errors():
        c.require_schema()
        with unit_of_work(c.factory) as session:
            webhook = add_webhook(session, c.settings, topic_slug=topic, url=url)
            webhook_id, secret = webhook.id, webhook.secret
    c.console.print(f"webhook {webhook_id}: {topic} → {url}")
    c.console.print(f"secret (give it to the receiver; shown once): {secret}", highlight=False)


@webhooks_app.command("list")
def webhooks_list() -> None:
    """Webhooks, their topics and health."""
    c = ctx()
    with user_errors():
        c.require_schema()
        with c.factory() as session:
            table = Table("id", "topic", "url", "active", "last success", "failures", "last error")
            for hook in list_webhooks(session):
                table.add_row(
                    str(hook.id),
                    hook.topic.slug,
                    hook.url,
                    "yes" if hook.active else "no",
                    hook.last_success_at.strftime("%Y-%m-%d %H:%M") if hook.last_success_at else "",
                    str(hook.failures),
                    (hook.last_error or "")[:80],
                )
    c.console.print(table)


@webhooks_app.command("remove")
def webhooks_remove(
    webhook_id: int = typer.Argument(..., help="Id from `wirewatch webhooks list`."),
) -> None:
    """Stop posting to a webhook."""
    c = ctx()
    with user_errors():
        c.require_schema()
        with unit_of_work(c.factory) as session:
            remove_webhook(session, webhook_id)
    c.console.print(f"webhook {webhook_id} stopped")


def register(app: typer.Typer) -> None:
    app.command()(subscribe)
    app.command()(unsubscribe)
    app.add_typer(subscriptions_app, name="subscriptions")
    app.add_typer(digest_app, name="digest")
    app.add_typer(webhooks_app, name="webhooks")
