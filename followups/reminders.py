"""Reminders: every planned activity whose remind time has come notifies its owner exactly once,
in the app and by e-mail.

A sweep claims due activities with `select_for_update(skip_locked=True)` (a concurrent sweep skips
what this one holds), and in that same transaction writes the notification and the outbox e-mail
(both with a unique dedupe key) and sets `reminded_at`. Then the outbox is delivered. Whatever
dies when, the database says what is still due: a rolled-back claim is found again, a committed
one never is. Completing an activity (done_at) or moving its remind time (`update_activity`
clears reminded_at) cancels or moves its reminder, since the sweep only reads the current row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import formats, timezone

from followups.models import Activity, Notification
from followups.outbox import deliver_pending_emails, queue_emails, render_email
from pipeline_crm.crash_points import crash_point
from pipeline_crm.links import absolute_url, deal_path

BATCH_SIZE = 200


@dataclass(frozen=True)
class ReminderSweep:
    reminded: int
    emails_sent: int


def due_reminders(now: dt.datetime) -> QuerySet[Activity]:
    """Planned, not yet reminded activities whose remind time has come."""
    return Activity.objects.filter(
        done_at__isnull=True,
        reminded_at__isnull=True,
        remind_at__isnull=False,
        remind_at__lte=now,
    )


def reminder_key_prefix(activity_id: int) -> str:
    """What the keys of every reminder of one activity (one per remind time) start with."""
    return f"reminder:{activity_id}:"


def reminder_key(activity: Activity) -> str:
    if activity.remind_at is None:  # due_reminders() picks only those with a remind time
        raise ValueError(f"Activity {activity.pk} has no remind time, so no reminder.")
    return f"{reminder_key_prefix(activity.pk)}{activity.remind_at.isoformat()}"


def _message(activity: Activity) -> str:
    text = f"Reminder: {activity.get_kind_display()} “{activity.subject}”"
    if activity.due_at:
        due = formats.date_format(timezone.localtime(activity.due_at), "DATETIME_FORMAT")
        text += f", due {due}"
    if activity.deal_id:
        text += f" — {activity.deal}"
    return text


def _in_owners_sight(activity: Activity) -> bool:
    """Whether the activity's owner still sees it: not when it is on a deal or lead since given
    to another team (its reminder would name that deal). On one's own records, no query."""
    linked = (activity.deal, activity.lead)
    if all(record is None or record.owner_id == activity.owner_id for record in linked):
        return True
    return Activity.objects.visible_to(activity.owner).filter(pk=activity.pk).exists()


def _record(claimed: list[Activity], now: dt.datetime) -> None:
    """Notification, e-mail and reminded_at for a claimed batch (inside the claim transaction).
    An activity out of its owner's sight is marked reminded without telling anyone."""
    batch = [activity for activity in claimed if _in_owners_sight(activity)]
    Notification.objects.bulk_create(
        [
            Notification(
                user_id=activity.owner_id,
                kind=Notification.Kind.REMINDER,
                message=_message(activity)[:500],
                deal_id=activity.deal_id,
                dedupe_key=reminder_key(activity),
            )
            for activity in batch
        ],
        ignore_conflicts=True,
    )
    queue_emails(
        [
            render_email(
                key=reminder_key(activity),
                user=activity.owner,
                subject=_message(activity),
                template="reminder",
                context={
                    "activity": activity,
                    "deal_url": absolute_url(deal_path(activity.deal_id))
                    if activity.deal_id
                    else "",
                },
            )
            for activity in batch
        ],
        now=now,
    )
    Activity.objects.filter(pk__in=[a.pk for a in claimed]).update(reminded_at=now)


def record_due_reminders(*, batch_size: int = BATCH_SIZE) -> int:
    """Claim due reminders batch by batch, each batch one transaction; returns how many."""
    total = 0
    while True:
        with transaction.atomic():
            now = timezone.now()
            batch = list(
                due_reminders(now)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("owner", "deal", "lead")
                .order_by("remind_at", "id")[:batch_size]
            )
            if batch:
                crash_point("reminders.claimed")
                _record(batch, now)
        total += len(batch)
        if len(batch) < batch_size:
            return total


def send_due_reminders() -> ReminderSweep:
    """The every-minute job: record what is due, then deliver every pending e-mail."""
    reminded = record_due_reminders()
    return ReminderSweep(reminded=reminded, emails_sent=deliver_pending_emails())
