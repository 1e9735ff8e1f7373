"""Follow-ups (SPEC §3, §6): activities planned or done, notifications, and the e-mail outbox.

The tables kept their names from when these models lived in `deals` (`deals_activity`, …):
moving code between apps should not move data.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Self

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.visibility import (
    OwnedQuerySet,
    is_admin,
    readable_owner_ids,
    writable_owner_ids,
)

if TYPE_CHECKING:
    from accounts.visibility import Caller, OwnerIds


class ActivityQuerySet(OwnedQuerySet["Activity"]):
    """An activity is in sight by its owner, as every owned record, and, when it is linked to a
    deal or a lead, only while that record is too: after the deal or lead goes to another team
    its former owner no longer reads, edits or completes its activities. The record's rule is
    the owner rule of `Deal.objects.visible_to` / `Lead.objects.visible_to`, applied through
    the foreign key (deals sit above followups). Companies and contacts are everyone's to read,
    so a link to one narrows nothing."""

    # Linked records whose owner rule an activity follows too.
    OWNED_LINKS = ("deal", "lead")

    def _linked_records_within(self, owner_ids: OwnerIds) -> Self:
        activities = self
        for link in self.OWNED_LINKS:
            activities = activities.filter(
                Q(**{f"{link}__isnull": True}) | Q(**{f"{link}__owner_id__in": owner_ids})
            )
        return activities

    def visible_to(self, user: Caller) -> Self:
        activities = super().visible_to(user)
        if user is None or is_admin(user) or not user.is_authenticated:
            return activities
        return activities._linked_records_within(readable_owner_ids(user))

    def writable_by(self, user: Caller) -> Self:
        activities = super().writable_by(user)
        if user is None or is_admin(user) or not user.is_authenticated:
            return activities
        return activities._linked_records_within(writable_owner_ids(user))


class Activity(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "E-mail"
        MEETING = "meeting", "Meeting"
        TASK = "task", "Task"
        NOTE = "note", "Note"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TASK)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    due_at = models.DateTimeField(null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    # Set in the same transaction as the reminder's notification: never reminded twice.
    reminded_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="activities"
    )
    deal = models.ForeignKey(
        "deals.Deal", on_delete=models.CASCADE, null=True, blank=True, related_name="activities"
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
    )
    lead = models.ForeignKey(
        "contacts.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="activities"
    )
    company = models.ForeignKey(
        "contacts.Company",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="activities",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        db_table = "deals_activity"
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [
            models.Index(
                fields=["remind_at"],
                condition=Q(
                    done_at__isnull=True, reminded_at__isnull=True, remind_at__isnull=False
                ),
                name="activity_reminder_due_idx",
            ),
            models.Index(fields=["deal", "done_at", "due_at"], name="activity_deal_next_idx"),
        ]

    def __str__(self) -> str:
        return self.subject

    @property
    def is_planned(self) -> bool:
        return self.done_at is None


class NotificationQuerySet(models.QuerySet["Notification"]):
    def visible_to(self, user: Caller) -> NotificationQuerySet:
        if not (user and user.is_authenticated):
            return self.none()
        return self.filter(user=user)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    class Kind(models.TextChoices):
        REMINDER = "reminder", "Reminder"
        STALLED = "stalled", "Stalled deal"
        ASSIGNED = "assigned", "Assignment"
        DIGEST = "digest", "Digest"

    # notification_unread_idx (user, read_at) serves every lookup by user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    message = models.CharField(max_length=500)
    deal = models.ForeignKey(
        "deals.Deal", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # The same event never notifies twice: e.g. "reminder:<activity id>:<remind_at>".
    # Unique through Meta.constraints: a plain unique index. (`unique=True` would add a second,
    # pattern-matching index on PostgreSQL that no query uses and every insert pays for.)
    dedupe_key = models.CharField(max_length=200)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        db_table = "deals_notification"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]
        constraints = [
            models.UniqueConstraint(fields=["dedupe_key"], name="notification_dedupe_key_unique")
        ]

    def __str__(self) -> str:
        return self.message


class EmailOutboxQuerySet(models.QuerySet["EmailOutbox"]):
    def pending(self, now: dt.datetime) -> EmailOutboxQuerySet:
        return self.filter(
            sent_at__isnull=True,
            attempts__lt=EmailOutbox.MAX_ATTEMPTS,
            next_attempt_at__lte=now,
        )


class EmailOutbox(models.Model):
    """An e-mail to send, written in the same transaction as the event that causes it.

    The unique `key` (e.g. "reminder:<activity id>:<remind_at>") makes the event produce one row
    however often it is processed; delivery claims a row, sends it and marks it sent in one
    transaction, so a crashed sender leaves it pending for the next sweep.
    """

    MAX_ATTEMPTS = 8

    key = models.CharField(max_length=200, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    html_body = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = EmailOutboxQuerySet.as_manager()

    class Meta:
        db_table = "deals_emailoutbox"
        ordering = ["created_at", "id"]
        verbose_name_plural = "e-mail outbox"
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(sent_at__isnull=True),
                name="outbox_pending_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"
