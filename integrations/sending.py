"""Sending a delivery: the signed POST, its outcome in the log, and the retry schedule.

At-least-once (SPEC §9): a delivery is claimed with a row lock (`skip_locked`: a second worker
given the same id skips it), sent, and its outcome saved in the same transaction, so a worker
killed mid-send leaves it pending and it is sent again; receivers dedupe by delivery id. A
delivered one is never sent again by a retry or the sweep (only an explicit resend, which is a
new delivery with its own id).

Retries: a non-2xx answer or a network error schedules the next attempt after
`WEBHOOK_RETRY_BASE` seconds (default 60), doubling each time up to 6 h, for 24 h after the
delivery was made; then it is given up (the log says so, and it may be resent by hand).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from integrations import targets
from integrations.models import Delivery
from pipeline_crm.crash_points import crash_point
from pipeline_crm.errors import DomainError

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
RETRY_FOR = dt.timedelta(hours=24)
RETRY_MAX_DELAY = dt.timedelta(hours=6)
USER_AGENT = "PipelineCRM-Webhooks/1"


def build_body(*, delivery_id: uuid.UUID, event: str, at: dt.datetime, data: Any) -> str:
    """The JSON document a receiver gets: `{"id", "event", "created_at", "data"}`."""
    document = {"id": str(delivery_id), "event": event, "created_at": at, "data": data}
    return json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret>`."""
    signed = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def request_headers(delivery: Delivery, body: bytes, *, now: dt.datetime) -> dict[str, str]:
    timestamp = int(now.timestamp())
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-CRM-Event": delivery.event,
        "X-CRM-Delivery": str(delivery.pk),
        "X-CRM-Timestamp": str(timestamp),
        "X-CRM-Signature": signature(delivery.webhook.secret, timestamp, body),
    }


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt: base, 2×base, 4×base … up to 6 h."""
    base = dt.timedelta(seconds=float(getattr(settings, "WEBHOOK_RETRY_BASE", 60.0)))
    delay: dt.timedelta = min(base * 2 ** max(attempts - 1, 0), RETRY_MAX_DELAY)
    return delay


def queued_grace() -> dt.timedelta:
    """How long a queued delivery may wait for a worker before the sweep queues it again
    (`WEBHOOK_QUEUED_GRACE` seconds, default 300)."""
    return dt.timedelta(seconds=float(getattr(settings, "WEBHOOK_QUEUED_GRACE", 300.0)))


def _claim(delivery_id: uuid.UUID) -> Delivery | None:
    return (
        Delivery.objects.pending()
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("webhook")
        .filter(pk=delivery_id)
        .first()
    )


def deliver(delivery_id: uuid.UUID) -> str | None:
    """Send one pending delivery now. Returns its state afterwards (delivered, retrying,
    failed) or None when there was nothing to send (delivered, given up, or being sent)."""
    with transaction.atomic():
        delivery = _claim(delivery_id)
        if delivery is None:
            return None
        crash_point("webhook.claimed")
        if delivery.webhook.active:
            delivery.attempts += 1
            _attempt(delivery, timezone.now())
        else:
            delivery.next_attempt_at = None
            delivery.error = "Not sent: the webhook is paused."
        delivery.save(
            update_fields=["attempts", "status_code", "delivered_at", "next_attempt_at", "error"]
        )
    return delivery.state


def _attempt(delivery: Delivery, now: dt.datetime) -> None:
    body = delivery.body.encode("utf-8")
    try:
        # Checked again at every send: the host may resolve elsewhere than when it was saved.
        target = targets.resolve(delivery.webhook.url)
        answer = targets.post(
            target, body, request_headers(delivery, body, now=now), timeout=TIMEOUT_SECONDS
        )
    except DomainError as exc:
        _failed(delivery, now, exc.message)
        return
    except (OSError, http.client.HTTPException) as exc:
        _failed(delivery, now, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        return
    delivery.status_code = answer.status
    if 200 <= answer.status < 300:
        delivery.delivered_at = timezone.now()
        delivery.next_attempt_at = None
        delivery.error = ""
        return
    _failed(delivery, now, f"HTTP {answer.status}: {answer.text.strip()[:500]}".rstrip(": "))


def _failed(delivery: Delivery, now: dt.datetime, error: str) -> None:
    deadline = delivery.created_at + RETRY_FOR
    next_at = min(now + retry_delay(delivery.attempts), deadline)
    if now >= deadline:
        delivery.next_attempt_at = None
        error = f"Gave up after {delivery.attempts} attempts over 24 h. Last error: {error}"
    else:
        delivery.next_attempt_at = next_at
    delivery.error = error[:2000]
    logger.warning(
        "Webhook delivery %s (%s to %s), attempt %s failed: %s",
        delivery.pk,
        delivery.event,
        delivery.webhook.url,
        delivery.attempts,
        error,
    )


def claim_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[uuid.UUID]:
    """Ids of deliveries whose next attempt is due, each given `queued_grace()` to be sent
    before a later sweep takes it again (the caller queues them)."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.due(now)
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        Delivery.objects.filter(pk__in=ids).update(next_attempt_at=now + queued_grace())
    return ids


def new_delivery(
    *, webhook_id: int, event: str, data: Mapping[str, Any] | Any, at: dt.datetime
) -> Delivery:
    """A delivery row, not saved, with its body made (the caller saves and queues it)."""
    delivery_id = uuid.uuid4()
    return Delivery(
        id=delivery_id,
        webhook_id=webhook_id,
        event=event,
        body=build_body(delivery_id=delivery_id, event=event, at=at, data=data),
        created_at=at,
        next_attempt_at=at + queued_grace(),
    )
