"""E-mail outbox: an e-mail is queued in the transaction of the event that causes it, then
delivered by a sweep that sends each row once.

Delivery claims one pending row (`select_for_update(skip_locked=True)`: a second sender skips it),
sends it and marks it sent in the same transaction. A sender killed before sending leaves the row
locked only until its connection drops; the transaction rolls back and the next sweep sends it.
The one window left is a crash after the mail server accepted the message and before the commit,
a few milliseconds wide; no mail transport can close that window without the server's help.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import User
from followups.models import EmailOutbox
from pipeline_crm.crash_points import crash_point

logger = logging.getLogger(__name__)

RETRY_BASE = dt.timedelta(minutes=1)
RETRY_MAX = dt.timedelta(hours=6)
GIVE_UP_AFTER_FAILURES_IN_A_ROW = 3


@dataclass(frozen=True)
class Email:
    """A rendered e-mail to one user, ready for the outbox."""

    key: str
    user: User
    subject: str
    body: str
    html_body: str = ""


def render_email(
    *, key: str, user: User, subject: str, template: str, context: Mapping[str, object]
) -> Email:
    """Render `emails/<template>.txt` (and `.html`) for `user`."""
    context = {**context, "user": user, "site_url": settings.SITE_URL}
    return Email(
        key=key,
        user=user,
        subject=" ".join(subject.split())[:300],  # a header: one line, or the send fails
        body=render_to_string(f"emails/{template}.txt", context),
        html_body=render_to_string(f"emails/{template}.html", context),
    )


def queue_emails(emails: list[Email], *, now: dt.datetime | None = None) -> None:
    """Add e-mails to the outbox; a key already there is left alone (the event was handled).

    Call inside the transaction that records the event, so both happen or neither does.
    """
    now = now or timezone.now()
    rows = [
        EmailOutbox(
            key=email.key,
            user=email.user,
            to=email.user.email,
            subject=email.subject,
            body=email.body,
            html_body=email.html_body,
            next_attempt_at=now,
        )
        for email in emails
        if email.user.email
    ]
    EmailOutbox.objects.bulk_create(rows, ignore_conflicts=True)


def _claim_next(now: dt.datetime) -> EmailOutbox | None:
    return (
        EmailOutbox.objects.pending(now)
        .select_for_update(skip_locked=True)
        .order_by("next_attempt_at", "id")
        .first()
    )


def _send(row: EmailOutbox) -> None:
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.to],
        headers={"X-CRM-Outbox-Key": row.key},
    )
    if row.html_body:
        message.attach_alternative(row.html_body, "text/html")
    message.send()


def _record_failure(row: EmailOutbox, error: Exception, now: dt.datetime) -> None:
    row.attempts += 1
    row.last_error = f"{type(error).__name__}: {error}"[:2000]
    row.next_attempt_at = now + min(RETRY_BASE * 2 ** (row.attempts - 1), RETRY_MAX)
    row.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    logger.warning(
        "E-mail %s (outbox id %s) to %s failed, attempt %s of %s: %s",
        row.key,
        row.pk,
        row.to,
        row.attempts,
        EmailOutbox.MAX_ATTEMPTS,
        row.last_error,
    )


def deliver_pending_emails(*, limit: int = 500) -> int:
    """Send up to `limit` pending e-mails, each in its own transaction; returns how many went."""
    sent = failures_in_a_row = 0
    for _ in range(limit):
        with transaction.atomic():
            now = timezone.now()
            row = _claim_next(now)
            if row is None:
                break
            crash_point("outbox.claimed")
            try:
                _send(row)
            except Exception as error:  # any transport failure: keep the row, retry later
                _record_failure(row, error, now)
                failures_in_a_row += 1
                if failures_in_a_row >= GIVE_UP_AFTER_FAILURES_IN_A_ROW:
                    break  # the mail server is down: stop paying its timeout for every row
                continue
            row.attempts += 1
            row.sent_at = timezone.now()
            row.save(update_fields=["attempts", "sent_at"])
            sent += 1
            failures_in_a_row = 0
    return sent
