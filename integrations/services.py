"""Webhook rules: who configures them, what they accept, what each event queues.

Admins alone create, change and delete webhooks and resend deliveries (SPEC §9). Every function
is one transaction; deliveries are queued to Celery once it commits.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.visibility import require_admin
from integrations import sending, tasks
from integrations.models import PING, Delivery, Event, Webhook, new_secret
from integrations.targets import check_url
from pipeline_crm.errors import DomainError

EDITABLE_FIELDS = ("url", "events", "active", "secret")
MAX_SECRET_LENGTH = 200


ADMINS_ONLY = "Only admins configure webhooks."


def clean_events(events: Iterable[str]) -> list[str]:
    """Known event names, each once, in the SPEC's order; anything else is a DomainError."""
    chosen = [str(name) for name in events]
    unknown = sorted(set(chosen) - set(Event.values))
    if unknown:
        raise DomainError(
            f"Unknown event(s): {', '.join(unknown)}. Choose from {', '.join(Event.values)}.",
            field="events",
        )
    if not chosen:
        raise DomainError("Choose at least one event.", field="events")
    return [name for name in Event.values if name in chosen]


def _clean_secret(secret: str | None) -> str:
    secret = (secret or "").strip()
    if len(secret) > MAX_SECRET_LENGTH:
        raise DomainError(f"At most {MAX_SECRET_LENGTH} characters.", field="secret")
    if secret and len(secret) < 16:
        raise DomainError(
            "At least 16 characters (or leave it empty for one made up).", field="secret"
        )
    return secret or new_secret()


@transaction.atomic
def create_webhook(
    *,
    by: User,
    url: str,
    events: Sequence[str],
    active: bool = True,
    secret: str | None = None,
) -> Webhook:
    """A new webhook; without a secret, one is made up (the caller shows it once)."""
    require_admin(by, ADMINS_ONLY)
    return Webhook.objects.create(
        url=check_url(url),
        events=clean_events(events),
        active=active,
        secret=_clean_secret(secret),
        created_by=by,
    )


@transaction.atomic
def update_webhook(*, webhook: Webhook, by: User, changes: Mapping[str, Any]) -> Webhook:
    """Change url, events, active or secret (an empty secret keeps the current one)."""
    require_admin(by, ADMINS_ONLY)
    webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
    if "url" in changes:
        webhook.url = check_url(changes["url"])
    if "events" in changes:
        webhook.events = clean_events(changes["events"])
    if "active" in changes:
        webhook.active = bool(changes["active"])
    if changes.get("secret"):
        webhook.secret = _clean_secret(changes["secret"])
    webhook.save()
    return webhook


@transaction.atomic
def delete_webhook(*, webhook: Webhook, by: User) -> None:
    """The webhook and its delivery log; nothing more is sent to it."""
    require_admin(by, ADMINS_ONLY)
    webhook.delete()


def _queue_new(rows: list[Delivery]) -> list[Delivery]:
    Delivery.objects.bulk_create(rows)
    tasks.queue([row.pk for row in rows])
    return rows


@transaction.atomic
def resend_delivery(*, delivery: Delivery, by: User) -> Delivery:
    """Send a delivery's event again, as a new delivery with its own id (the log keeps both;
    a receiver deduping by id takes it as new, which is what a resend asks for)."""
    require_admin(by, ADMINS_ONLY)
    original = json.loads(delivery.body)
    now = timezone.now()
    row = sending.new_delivery(
        webhook_id=delivery.webhook_id, event=delivery.event, data=original.get("data"), at=now
    )
    return _queue_new([row])[0]


@transaction.atomic
def send_ping(*, webhook: Webhook, by: User) -> Delivery:
    """A `ping` delivery, to try the receiver and its signature check (a paused webhook sends
    nothing, and its log says so)."""
    require_admin(by, ADMINS_ONLY)
    now = timezone.now()
    data = {"webhook": webhook.pk, "url": webhook.url, "events": webhook.events}
    row = sending.new_delivery(webhook_id=webhook.pk, event=PING, data=data, at=now)
    return _queue_new([row])[0]


def subscribers(event: str) -> list[Webhook]:
    """Active webhooks receiving `event` (few: filtered here, the same on every database)."""
    return [hook for hook in Webhook.objects.filter(active=True) if event in hook.events]


@transaction.atomic
def record_events(
    *,
    events: Sequence[tuple[str, Any]],
    hooks: Sequence[Webhook] | None = None,
    at: dt.datetime | None = None,
) -> list[Delivery]:
    """One delivery per (event, data) and subscribed webhook (of `hooks`, if the caller has
    read them already), queued once this commits.

    Called by `integrations.listeners` after the event's own transaction committed."""
    at = at or timezone.now()
    if hooks is None:
        hooks = list(Webhook.objects.filter(active=True))
    rows = [
        sending.new_delivery(webhook_id=hook.pk, event=name, data=data, at=at)
        for name, data in events
        for hook in hooks
        if name in hook.events
    ]
    return _queue_new(rows) if rows else []
