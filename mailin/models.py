"""Inbound e-mail (SPEC §9): each user's private BCC address and every message the poll read.

A message is recorded once, by its Message-ID (a unique constraint: a repeated poll or two
workers at once cannot log it twice). Its row keeps what was logged, so the mailbox itself
can drop it; one that named no known contact waits in its owner's "Unmatched e-mail" list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

if TYPE_CHECKING:
    from accounts.visibility import Caller


class BccAddress(models.Model):
    """`log+<token>@<INBOUND_DOMAIN>`: the token says whose mail it is."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bcc_address"
    )
    token = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "BCC address"
        verbose_name_plural = "BCC addresses"

    def __str__(self) -> str:
        return self.address

    @property
    def address(self) -> str:
        return f"{settings.INBOUND_LOCAL_PART}+{self.token}@{settings.INBOUND_DOMAIN}"


class InboundMessageQuerySet(models.QuerySet["InboundMessage"]):
    def visible_to(self, user: Caller) -> InboundMessageQuerySet:
        """Only the user whose BCC address brought it reads it (an admin too: a private mail)."""
        if not (user and user.is_authenticated):
            return self.none()
        return self.filter(user_id=user.pk)

    def unmatched(self) -> InboundMessageQuerySet:
        return self.filter(status=InboundMessage.Status.UNMATCHED)


class InboundMessage(models.Model):
    class Status(models.TextChoices):
        LOGGED = "logged", "Logged"
        UNMATCHED = "unmatched", "Unmatched"
        NO_OWNER = "no_owner", "No BCC address of a user"

    # The Message-ID header (a digest of the message when it has none, or one too long).
    message_id = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="inbound_messages",
    )
    status = models.CharField(max_length=10, choices=Status.choices)
    sender = models.CharField(max_length=320, blank=True, default="")
    recipients = models.TextField(blank=True, default="")
    subject = models.CharField(max_length=200, blank=True, default="")
    body = models.TextField(blank=True, default="")
    sent_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    activities_logged = models.PositiveIntegerField(default=0)

    objects = InboundMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["message_id"], name="inbound_message_id_unique")
        ]
        indexes = [
            models.Index(fields=["user", "status", "-sent_at"], name="inbound_user_status_idx")
        ]

    def __str__(self) -> str:
        return self.subject or self.message_id
