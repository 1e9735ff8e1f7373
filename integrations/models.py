"""Webhooks (SPEC §9): URLs subscribed to CRM events, and each delivery of an event to one.

A `Delivery` is written when the event's transaction has committed and keeps the exact JSON
document it sends (`body`), so every retry and the signature cover the same bytes. The
database, not the broker, says what is still to send: `next_attempt_at` is when the sweep
(`integrations.tasks.deliver_due_webhooks`) picks it up again if no worker has sent it by
then; it is empty once the delivery succeeded or was given up.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Event(models.TextChoices):
    """The events a webhook may subscribe to (SPEC §9)."""

    DEAL_CREATED = "deal.created", "Deal created"
    DEAL_UPDATED = "deal.updated", "Deal updated"
    DEAL_MOVED = "deal.moved", "Deal moved to another stage"
    DEAL_WON = "deal.won", "Deal won"
    DEAL_LOST = "deal.lost", "Deal lost"
    DEAL_DELETED = "deal.deleted", "Deal deleted"
    LEAD_CONVERTED = "lead.converted", "Lead converted into a deal"
    ACTIVITY_CREATED = "activity.created", "Activity logged"


# Not subscribable: the "send a test ping" button's event.
PING = "ping"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class Webhook(models.Model):
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list, help_text="Names of the events it receives.")
    active = models.BooleanField(default=True)
    # Kept in clear: it signs every delivery. Shown once, when the webhook is created.
    secret = models.CharField(max_length=200, default=new_secret)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url

    def receives(self, event: str) -> bool:
        return self.active and event in self.events


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    def pending(self) -> DeliveryQuerySet:
        """Neither delivered nor given up."""
        return self.filter(delivered_at__isnull=True, next_attempt_at__isnull=False)

    def due(self, now: dt.datetime) -> DeliveryQuerySet:
        return self.pending().filter(next_attempt_at__lte=now)


class Delivery(models.Model):
    """One event sent (or being sent) to one webhook; retried until a 2xx answer or 24 h."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=50)
    # The JSON document POSTed, byte for byte (`{"id", "event", "created_at", "data"}`).
    body = models.TextField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["webhook", "-created_at"], name="delivery_log_idx"),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(delivered_at__isnull=True, next_attempt_at__isnull=False),
                name="delivery_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook_id} ({self.pk})"

    @property
    def state(self) -> str:
        """delivered | retrying | failed (given up) — for the delivery log."""
        if self.delivered_at is not None:
            return "delivered"
        if self.next_attempt_at is not None:
            return "pending" if self.attempts == 0 else "retrying"
        return "failed"
