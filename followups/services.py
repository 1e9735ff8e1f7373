"""Activities and notifications: the only code that changes them. One transaction each.

Logging or completing an activity on a deal is announced (`followups.events`); the pipeline
listens and refreshes the deal in the same transaction (`deals.listeners`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.visibility import require_assignable, require_write
from contacts.models import Company, Contact, Lead
from followups.events import ActivityChanged, ActivityCompleted, ActivityDeleted, ActivityLogged
from followups.models import Activity, Notification
from followups.reminders import reminder_key_prefix
from pipeline_crm.errors import DomainError, NotAllowed
from pipeline_crm.events import announce

if TYPE_CHECKING:
    from deals.models import Deal

ACTIVITY_CHANGES = ("kind", "subject", "body", "due_at", "remind_at", "owner")


def _require_reminder_in_time(due_at: dt.datetime | None, remind_at: dt.datetime | None) -> None:
    """A reminder comes no later than the activity is due (an error on the reminder)."""
    if due_at is not None and remind_at is not None and remind_at > due_at:
        raise DomainError(
            "The reminder comes after the activity is due: remind at or before the due time.",
            field="remind_at",
        )


# --- activities -------------------------------------------------------------------------------


@transaction.atomic
def log_activity(
    *,
    by: User,
    kind: str,
    subject: str,
    body: str = "",
    deal: Deal | None = None,
    contact: Contact | None = None,
    lead: Lead | None = None,
    company: Company | None = None,
    due_at: dt.datetime | None = None,
    remind_at: dt.datetime | None = None,
    done: bool = False,
    done_at: dt.datetime | None = None,
    owner: User | None = None,
) -> Activity:
    """Plan (due/remind) or log (done) a call, e-mail, meeting, task or note.

    Done means `done`, a `done_at` (when it happened: no later than now), or a note: a done
    activity never reminds and counts as the deal's latest work at that time."""
    if not (subject or "").strip():
        raise DomainError("Give the activity a subject.", field="subject")
    now = timezone.now()
    if done_at is not None and done_at > now:
        raise DomainError("An activity cannot be done in the future.", field="done_at")
    _require_reminder_in_time(due_at, remind_at)
    if deal is not None:
        require_write(by, deal.owner_id, "deal")
    if lead is not None:
        require_write(by, lead.owner_id, "lead")
    owner = owner or by
    if owner.pk != by.pk:
        require_assignable(by, owner, what="activities")
    if done_at is None and (done or kind == Activity.Kind.NOTE):
        done_at = now
    activity = Activity.objects.create(
        kind=kind,
        subject=subject.strip(),
        body=body or "",
        deal=deal,
        contact=contact,
        lead=lead,
        company=company,
        due_at=due_at,
        remind_at=remind_at,
        done_at=done_at,
        owner=owner,
    )
    announce(ActivityLogged(activity=activity, by=by, at=done_at or now))
    return activity


def _locked_for_write(activity: Activity, by: User) -> Activity:
    """The activity's current row, locked, once `by` may change it (403 otherwise): they may
    write it by its owner and, when it is on a deal, write that deal too (as it is now: an
    admin may have given it to someone else since the caller read the activity)."""
    require_write(by, activity.owner_id, "activity")
    activity = (
        Activity.objects.select_for_update(of=("self",)).select_related("deal").get(pk=activity.pk)
    )
    require_write(by, activity.owner_id, "activity")
    if activity.deal is not None:
        require_write(by, activity.deal.owner_id, "deal")
    return activity


@transaction.atomic
def complete_activity(*, activity: Activity, by: User) -> Activity:
    """Mark a planned activity done; its reminder will not fire."""
    activity = _locked_for_write(activity, by)
    if activity.done_at is None:
        activity.done_at = timezone.now()
        activity.save(update_fields=["done_at"])
    announce(ActivityCompleted(activity=activity, by=by, at=activity.done_at))
    return activity


@transaction.atomic
def update_activity(*, activity: Activity, by: User, changes: Mapping[str, Any]) -> Activity:
    """Edit, reschedule or hand over an activity. A new remind time arms the reminder again;
    a new owner (someone whose records the caller may write) gets the reminder when it fires."""
    activity = _locked_for_write(activity, by)
    for name, value in changes.items():
        if name not in ACTIVITY_CHANGES:
            raise DomainError(f"“{name}” cannot be changed here.", field=name)
        if name == "remind_at" and value != activity.remind_at:
            activity.reminded_at = None
        if name == "owner" and value.pk != activity.owner_id:
            require_assignable(by, value, what="activities")
        setattr(activity, name, value)
    if {"due_at", "remind_at"} & changes.keys():
        _require_reminder_in_time(activity.due_at, activity.remind_at)
    activity.save()
    announce(ActivityChanged(activity=activity, by=by))
    return activity


@transaction.atomic
def reschedule_activity(*, activity: Activity, by: User, due_at: dt.datetime) -> Activity:
    """Move a planned activity to `due_at`; its reminder moves with it, as long before the new
    due time as it was before the old one (and fires again if it had fired)."""
    changes: dict[str, Any] = {"due_at": due_at}
    if activity.remind_at is not None and activity.due_at is not None:
        changes["remind_at"] = due_at - (activity.due_at - activity.remind_at)
    return update_activity(activity=activity, by=by, changes=changes)


@transaction.atomic
def delete_activity(*, activity: Activity, by: User) -> None:
    activity = _locked_for_write(activity, by)
    activity.delete()
    announce(ActivityDeleted(activity=activity, by=by))


@transaction.atomic
def hand_over_open_activities(
    *, from_owner: User, to_owner: User, by: User, deal_id: int | None = None
) -> int:
    """Give `from_owner`'s planned (not done) activities (on one deal, when `deal_id` is given)
    to `to_owner`, each through `update_activity`, so their reminders reach someone who can
    see them. Done ones keep who did them."""
    planned = Activity.objects.filter(owner=from_owner, done_at__isnull=True).order_by("pk")
    if deal_id is not None:
        planned = planned.filter(deal_id=deal_id)
    moved = 0
    for activity in planned:
        update_activity(activity=activity, by=by, changes={"owner": to_owner})
        moved += 1
    return moved


# --- notifications ------------------------------------------------------------------------------


def notify(user_id: int, *, kind: str, message: str, dedupe_key: str, deal_id: int | None) -> bool:
    """Create a notification once per dedupe key (inside the caller's transaction); True when
    it is new."""
    _, created = Notification.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={"user_id": user_id, "kind": kind, "message": message[:500], "deal_id": deal_id},
    )
    return created


def mark_reminders_read(activity: Activity) -> int:
    """Mark the unread reminders of `activity` (its owner's) read, inside the caller's
    transaction: once it is done, they need no more attention. Returns how many."""
    return Notification.objects.filter(
        user_id=activity.owner_id,
        read_at__isnull=True,
        kind=Notification.Kind.REMINDER,
        dedupe_key__startswith=reminder_key_prefix(activity.pk),
    ).update(read_at=timezone.now())


@transaction.atomic
def mark_notification_read(*, notification: Notification, by: User) -> Notification:
    if notification.user_id != by.pk:
        raise NotAllowed("That notification is not yours.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@transaction.atomic
def mark_all_notifications_read(*, by: User) -> int:
    return Notification.objects.visible_to(by).unread().update(read_at=timezone.now())
