"""Each user's private iCalendar feed of planned activities, at `/calendar/<token>.ics`.

The token in the URL is the only credential (calendar apps cannot sign in), so it is long and
random, and the user can revoke it: a new token makes the old URL answer 404.
"""

from __future__ import annotations

import datetime as dt
import re

from django.db import transaction
from django.utils import timezone
from icalendar import Alarm, Calendar, Event

from accounts.models import User, new_calendar_token
from followups.models import Activity
from pipeline_crm.links import absolute_url, deal_path

FEED_LIMIT = 2000
PAST_WINDOW = dt.timedelta(days=90)
DURATIONS: dict[str, dt.timedelta] = {
    Activity.Kind.MEETING: dt.timedelta(hours=1),
}
DEFAULT_DURATION = dt.timedelta(minutes=30)
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # new_calendar_token(): token_urlsafe


def _shifted(moment: dt.datetime, by: dt.timedelta) -> dt.datetime:
    """`moment + by`, held at the calendar's ends: a row stored near year 9999 (before dates
    were range-checked) must not break the whole feed."""
    try:
        return moment + by
    except OverflowError:
        return dt.datetime.max.replace(tzinfo=dt.UTC) if by > dt.timedelta(0) else moment


def planned_activities(user: User, *, now: dt.datetime) -> list[Activity]:
    """The user's planned (not done) activities with a due time, from 90 days back."""
    return list(
        Activity.objects.visible_to(user)  # not those on a deal gone out of their sight
        .filter(
            owner=user, done_at__isnull=True, due_at__isnull=False, due_at__gte=now - PAST_WINDOW
        )
        .select_related("deal")
        .order_by("due_at", "id")[:FEED_LIMIT]
    )


def _event(activity: Activity, now: dt.datetime) -> Event:
    if activity.due_at is None:  # planned_activities() picks only those with a due time
        raise ValueError(f"Activity {activity.pk} has no due time to put in a calendar.")
    event = Event()
    event.add("uid", f"activity-{activity.pk}@pipeline-crm")
    event.add("dtstamp", now)
    event.add("dtstart", activity.due_at)
    event.add("dtend", _shifted(activity.due_at, DURATIONS.get(activity.kind, DEFAULT_DURATION)))
    event.add("summary", f"{activity.get_kind_display()}: {activity.subject}")
    description = [activity.body] if activity.body else []
    if activity.deal_id:
        url = absolute_url(deal_path(activity.deal_id))
        description.append(f"Deal: {activity.deal} — {url}")
        event.add("url", url)
    if description:
        event.add("description", "\n\n".join(description))
    if activity.remind_at and activity.remind_at < activity.due_at:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", activity.subject)
        alarm.add("trigger", activity.remind_at - activity.due_at)
        event.add_component(alarm)
    return event


def calendar_for(user: User) -> bytes:
    now = timezone.now()
    calendar = Calendar()
    calendar.add("prodid", "-//Pipeline CRM//Follow-ups//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"Pipeline CRM — {user}")
    calendar.add("x-published-ttl", "PT15M")
    for activity in planned_activities(user, now=now):
        calendar.add_component(_event(activity, now))
    ical: bytes = calendar.to_ical()  # icalendar leaves it untyped
    return ical


def user_for_token(token: str) -> User | None:
    """The active user whose feed token this is; None for anything not shaped like a token
    (a NUL byte could not even reach PostgreSQL)."""
    if not TOKEN_SHAPE.fullmatch(token):
        return None
    return User.objects.filter(calendar_token=token, is_active=True).first()


@transaction.atomic
def revoke_calendar_token(*, by: User) -> str:
    """Give the user a new feed URL; the old one stops working at once."""
    token = new_calendar_token()
    User.objects.filter(pk=by.pk).update(calendar_token=token)
    by.calendar_token = token
    return token
