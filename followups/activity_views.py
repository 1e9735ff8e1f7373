"""`/activities/`: one person's follow-ups (overdue, today, upcoming) or their week, each done
with one click or rescheduled in place.

Thin views: the groups come from `followups.selectors`, changes go through the services (which
check who may change what). `?owner=<id>` shows someone else's, when the visibility rule lets
the viewer read that person's records (404 otherwise); `?view=week&week=<a date>` shows the
Monday-to-Sunday week holding that date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from accounts.visibility import can_write_owned_by, readable_people
from followups.forms import RescheduleForm
from followups.models import Activity
from followups.notifications import BELL_EVENT
from followups.selectors import follow_ups, monday_of, week_of
from followups.services import complete_activity, reschedule_activity
from pipeline_crm.bounds import year_in_range
from pipeline_crm.errors import DomainError
from pipeline_crm.htmx import add_trigger, refusal, retarget, toast
from pipeline_crm.ids import parse_id

PAGE = "followups/activities.html"


class WeekForm(forms.Form):
    """`?week=`: any day of the week shown (this week when missing or not a date)."""

    week = forms.DateField(required=False, validators=[year_in_range])


def _me(request: HttpRequest) -> User:
    return cast(User, request.user)


def _owner(request: HttpRequest) -> User:
    """The person whose follow-ups are shown: the viewer, or `?owner=<id>` when in sight."""
    me, raw = _me(request), request.GET.get("owner", "")
    if raw in ("", str(me.pk)):
        return me
    owner = readable_people(me).filter(pk=parse_id(raw) or 0).first()
    if owner is None:
        raise Http404("No such person in sight.")
    return owner


def _context(request: HttpRequest, owner: User | None = None) -> dict[str, Any]:
    me, owner = _me(request), owner or _owner(request)
    now = timezone.now()
    context: dict[str, Any] = {
        "nav": "activities",
        "owner": owner,
        "is_mine": owner.pk == me.pk,
        "can_write": can_write_owned_by(me, owner.pk),
        "week_view": request.GET.get("view") == "week",
        "now": now,
        "query": request.GET.urlencode(),
    }
    if me.is_admin or me.is_manager:
        context["people"] = readable_people(me)
    if context["week_view"]:
        week = WeekForm(request.GET)
        day = week.cleaned_data["week"] if week.is_valid() else None
        monday = monday_of(day or timezone.localdate(now))
        context.update(
            monday=monday,
            previous_week=monday - dt.timedelta(days=7),
            next_week=monday + dt.timedelta(days=7),
            days=week_of(owner=owner, viewer=me, monday=monday, now=now),
        )
    else:
        context["groups"] = follow_ups(owner=owner, viewer=me, now=now)
    return context


@login_required
@require_GET
def my_activities(request: HttpRequest) -> HttpResponse:
    return render(request, PAGE, _context(request))


def _activity(request: HttpRequest, pk: int) -> Activity:
    activity: Activity = get_object_or_404(Activity.objects.visible_to(request.user), pk=pk)
    return activity


def _changed(request: HttpRequest, owner: User, message: str) -> HttpResponse:
    """The follow-ups as they are now (the list or the week the page shows), a toast, and the
    bell told to refresh itself (a done activity's reminders are read)."""
    response = render(request, f"{PAGE}#shown", _context(request, owner))
    return add_trigger(toast(response, message, "success"), BELL_EVENT)


@login_required
@require_POST
def activity_done(request: HttpRequest, pk: int) -> HttpResponse:
    owner, activity = _owner(request), _activity(request, pk)  # the page's owner: 404 first
    try:
        complete_activity(activity=activity, by=_me(request))
    except DomainError as error:
        return refusal(request, error)
    return _changed(request, owner, f"“{activity.subject}” done.")


@login_required
@require_POST
def activity_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    """A new due time for a planned activity; a bad one comes back in its row with the error."""
    owner, activity = _owner(request), _activity(request, pk)
    form = RescheduleForm(request.POST)
    if form.is_valid():
        try:
            reschedule_activity(
                activity=activity, by=_me(request), due_at=form.cleaned_data["due_at"]
            )
        except DomainError as error:
            if error.field not in ("due_at", "remind_at"):
                return refusal(request, error)
            form.add_error("due_at", error.message)
        else:
            return _changed(request, owner, f"“{activity.subject}” moved.")
    row = {
        "a": activity,
        "can_write": can_write_owned_by(_me(request), activity.owner_id),
        "now": timezone.now(),
        "query": request.GET.urlencode(),
        "errors": form.errors["due_at"],
        "typed": request.POST.get("due_at", ""),
    }
    response = render(request, f"{PAGE}#row", row, status=422)
    return retarget(response, f"#activity-{activity.pk}")
