"""The daily digest e-mail: each user's follow-ups due today or overdue, their deals that stalled
since yesterday and their open deals whose expected close date has passed.

Users who opted out (`digest_opt_out`) or have no e-mail address get none, nor does anyone with
nothing to report. The outbox key `digest:<user>:<date>` makes it one e-mail per user per day
however often the job runs.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from deals.models import Deal
from followups.models import Activity
from followups.outbox import deliver_pending_emails, queue_emails, render_email
from followups.selectors import start_of_day
from pipeline_crm.links import absolute_url, deal_path

SECTION_LIMIT = 50

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Digest:
    day: dt.date
    follow_ups: list[Activity]
    newly_stalled: list[Deal]
    close_date_passed: list[Deal]

    @property
    def is_empty(self) -> bool:
        return not (self.follow_ups or self.newly_stalled or self.close_date_passed)


def _with_links(deals: QuerySet[Deal]) -> list[Deal]:
    rows = list(deals[:SECTION_LIMIT])
    for deal in rows:
        deal.url = absolute_url(deal_path(deal.pk))  # type: ignore[attr-defined]
    return rows


def build_digest(user: User, *, now: dt.datetime) -> Digest:
    today = timezone.localdate(now)
    tomorrow = start_of_day(today + dt.timedelta(days=1))
    follow_ups = list(
        Activity.objects.visible_to(user)
        .filter(owner=user, done_at__isnull=True, due_at__lt=tomorrow)
        .select_related("deal")
        .order_by("due_at", "id")[:SECTION_LIMIT]
    )
    start_of_today = start_of_day(today)
    for activity in follow_ups:
        activity.overdue = activity.due_at < start_of_today  # type: ignore[attr-defined,operator]
    newly_stalled = Deal.objects.filter(
        owner=user, stalled=True, stalled_since__gte=now - dt.timedelta(days=1)
    ).select_related("stage")
    close_date_passed = Deal.objects.filter(
        owner=user, status=Deal.Status.OPEN, expected_close_date__lt=today
    ).select_related("stage")
    return Digest(
        day=today,
        follow_ups=follow_ups,
        newly_stalled=_with_links(newly_stalled.order_by("stalled_since", "id")),
        close_date_passed=_with_links(close_date_passed.order_by("expected_close_date", "id")),
    )


def digest_key(user: User, day: dt.date) -> str:
    return f"digest:{user.pk}:{day.isoformat()}"


def recipients() -> QuerySet[User]:
    return User.objects.filter(is_active=True, digest_opt_out=False).exclude(email="")


@transaction.atomic
def queue_digest(*, user: User, now: dt.datetime | None = None) -> bool:
    """Put today's digest for `user` in the outbox; False when there is nothing to say."""
    now = now or timezone.now()
    if user.digest_opt_out or not user.email:
        return False
    digest = build_digest(user, now=now)
    if digest.is_empty:
        return False
    email = render_email(
        key=digest_key(user, digest.day),
        user=user,
        subject=f"Your pipeline for {digest.day:%A %d %B}",
        template="digest",
        context={"digest": digest, "today": digest.day},
    )
    queue_emails([email], now=now)
    return True


def send_daily_digests() -> int:
    """The daily job: one digest per user who wants one, then deliver. Returns how many queued.

    One user's broken digest must not cost everyone theirs: it is logged and skipped. A database
    error is raised instead, so the task is retried (users already done are skipped by the key).
    """
    now = timezone.now()
    queued = 0
    for user in recipients().iterator():
        try:
            queued += queue_digest(user=user, now=now)
        except DatabaseError:
            raise
        except Exception:
            logger.exception("Daily digest for user %s failed", user.pk)
    deliver_pending_emails()
    return queued
