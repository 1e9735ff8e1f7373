"""The audit log: who did what that matters to security, when and from where (issue 11).

Append-only: entries are written by `audit.services.record` (called by the listeners) and
only ever removed by the retention purge (`audit.services.purge_expired`); the app, the API and
the Django admin never change or delete one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Action(models.TextChoices):
    LOGIN = "login", "Signed in"
    LOGIN_FAILED = "login_failed", "Sign-in failed"
    LOCKOUT = "lockout", "Locked out"
    LOGOUT = "logout", "Signed out"
    USER_CREATED = "user_created", "User created"
    USER_INVITED = "user_invited", "User invited"
    USER_DELETED = "user_deleted", "User deleted"
    ROLE_CHANGED = "role_changed", "Role changed"
    USER_DEACTIVATED = "user_deactivated", "User deactivated"
    USER_REACTIVATED = "user_reactivated", "User reactivated"
    TEAM_MANAGERS_CHANGED = "team_managers_changed", "Team managers changed"
    TOKEN_CREATED = "token_created", "API token created"
    TOKEN_REVOKED = "token_revoked", "API token revoked"
    EXPORT = "export", "CSV exported"
    IMPORT_COMMITTED = "import_committed", "Import committed"
    IMPORT_UNDONE = "import_undone", "Import undone"
    RECORDS_MERGED = "records_merged", "Records merged"
    TWO_FACTOR_CHANGED = "two_factor_changed", "Two-factor sign-in changed"


class AppendOnly(Exception):
    """An audit entry was about to be changed or deleted."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnly("Audit entries are never changed.")

    def delete(self) -> NoReturn:
        raise AppendOnly("Audit entries are only removed by the retention purge.")

    def purge(self) -> int:
        """Delete these entries: for `audit.services.purge_expired` alone."""
        deleted, _ = models.QuerySet.delete(self)
        return deleted

    def between(self, since: dt.date | None, until: dt.date | None) -> Self:
        """Entries of these days (both included, in the site's time zone); a range on `at`
        itself, so the index serves it."""
        found = self
        if since is not None:
            found = found.filter(at__gte=_start_of(since))
        if until is not None:
            found = found.filter(at__lt=_start_of(until + dt.timedelta(days=1)))
        return found

    def matching(self, text: str) -> Self:
        """Entries with `text` in the actor's or the target's name, the IP or the details."""
        text = text.strip()
        if not text:
            return self
        return self.filter(
            Q(actor_label__icontains=text)
            | Q(target_label__icontains=text)
            | Q(ip__icontains=text)
            | Q(details__icontains=text)
        )


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class AuditEntry(models.Model):
    at = models.DateTimeField(default=timezone.now, editable=False)
    # Who did it (none: not signed in, or the system); their username at the time stays when
    # the account is deleted.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        db_index=False,  # the (actor, newest first) index below serves it
        # No foreign key in the database: writing an entry must not lock the actor's row (a
        # service holding it FOR UPDATE, like two admins demoting each other, would deadlock).
        # Django still empties it when the user is deleted.
        db_constraint=False,
    )
    actor_label = models.CharField("actor", max_length=150, blank=True, editable=False)
    action = models.CharField(max_length=32, choices=Action.choices, editable=False)
    # What it was done to: a kind ("user", "team", "import", "csv", …), its id, and how it
    # read at the time.
    target_type = models.CharField(max_length=32, blank=True, editable=False)
    target_id = models.CharField(max_length=64, blank=True, editable=False)
    target_label = models.CharField(max_length=200, blank=True, editable=False)
    ip = models.GenericIPAddressField("IP address", null=True, blank=True, editable=False)
    details = models.JSONField(default=dict, blank=True, editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_newest"),
            models.Index(fields=["action", "-at", "-id"], name="audit_action_newest"),
            models.Index(fields=["actor", "-at", "-id"], name="audit_actor_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label or '—'}: {self.get_action_display()}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly("Audit entries are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnly("Audit entries are only removed by the retention purge.")

    @property
    def details_text(self) -> str:
        """The details as one line, keys in alphabetical order (PostgreSQL's jsonb keeps none):
        `from: rep · to: manager`."""
        return " · ".join(f"{key}: {_flat(value)}" for key, value in sorted(self.details.items()))


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}={_flat(item)}" for key, item in sorted(value.items())) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(_flat(item) for item in value) or "—"
    return str(value)
