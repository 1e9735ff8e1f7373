"""Reads of follow-ups shared by pages: one person's planned activities by when they are due
(`/activities/`, its week view). Each is one query, however many activities there are; days
begin at midnight in the current time zone (the user's: `TIME_ZONE` unless activated)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.models import User
from followups.models import Activity

WEEK = 7


def start_of_day(day: dt.date) -> dt.datetime:
    """Midnight at the start of `day` in the current time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _activities_of(owner: User, *, viewer: User) -> QuerySet[Activity]:
    """`owner`'s activities as `viewer` may see them, with what a row links to."""
    return (
        Activity.objects.visible_to(viewer)
        .filter(owner=owner)
        .select_related("deal", "lead", "contact", "company")
    )


@dataclass
class FollowUps:
    """Planned activities by when they are due: overdue (due before now), today (from now until
    midnight), upcoming (after today) and, last, those with no due time."""

    overdue: list[Activity] = field(default_factory=list)
    today: list[Activity] = field(default_factory=list)
    upcoming: list[Activity] = field(default_factory=list)
    undated: list[Activity] = field(default_factory=list)

    @property
    def sections(self) -> list[tuple[str, str, list[Activity]]]:
        """(key, title, activities) in the order a page shows them; no-due-date only if any."""
        sections = [
            ("overdue", "Overdue", self.overdue),
            ("today", "Today", self.today),
            ("upcoming", "Upcoming", self.upcoming),
        ]
        return sections + ([("undated", "No due date", self.undated)] if self.undated else [])


def follow_ups(*, owner: User, viewer: User, now: dt.datetime | None = None) -> FollowUps:
    """`owner`'s planned (not done) activities that `viewer` may see, grouped, each group by due
    time (earliest first). One query."""
    now = now or timezone.now()
    tomorrow = start_of_day(timezone.localdate(now) + dt.timedelta(days=1))
    planned = (
        _activities_of(owner, viewer=viewer)
        .filter(done_at__isnull=True)
        .order_by(F("due_at").asc(nulls_last=True), "id")
    )
    groups = FollowUps()
    for activity in planned:
        if activity.due_at is None:
            groups.undated.append(activity)
        elif activity.due_at < now:
            groups.overdue.append(activity)
        elif activity.due_at < tomorrow:
            groups.today.append(activity)
        else:
            groups.upcoming.append(activity)
    return groups


@dataclass
class WeekDay:
    day: dt.date
    is_today: bool
    activities: list[Activity] = field(default_factory=list)


def week_of(
    *, owner: User, viewer: User, monday: dt.date, now: dt.datetime | None = None
) -> list[WeekDay]:
    """Monday to Sunday of the week that starts on `monday`: `owner`'s activities due each day
    (planned and done), by due time. One query."""
    today = timezone.localdate(now or timezone.now())
    days = [WeekDay(day=day, is_today=day == today) for day in _days_from(monday)]
    due_that_week = (
        _activities_of(owner, viewer=viewer)
        .filter(
            due_at__gte=start_of_day(monday),
            due_at__lt=start_of_day(monday + dt.timedelta(days=WEEK)),
        )
        .order_by("due_at", "id")
    )
    for activity in due_that_week:
        if activity.due_at is not None:  # always, by the filter
            days[(timezone.localdate(activity.due_at) - monday).days].activities.append(activity)
    return days


def _days_from(monday: dt.date) -> list[dt.date]:
    return [monday + dt.timedelta(days=offset) for offset in range(WEEK)]
