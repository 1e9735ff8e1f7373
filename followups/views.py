"""Notification pages (bell, list, mark read), the user's own settings and the calendar feed.

Thin views: reads go through `visible_to`, changes through the services.
"""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.services import set_digest_opt_out
from followups.calendar_feed import calendar_for, revoke_calendar_token, user_for_token
from followups.models import Notification
from followups.notifications import BELL_EVENT, batch_link
from followups.services import mark_all_notifications_read, mark_notification_read
from pipeline_crm.csv_files import Column, csv_download, wants_csv
from pipeline_crm.htmx import wants_fragment
from pipeline_crm.links import deal_path

PAGE_SIZE = 30
NOTIFICATION_COLUMNS = (
    Column("Created", lambda n: n.created_at),
    Column("Kind", lambda n: n.get_kind_display()),
    Column("Message", lambda n: n.message),
    Column("Deal", lambda n: n.deal_id),
    Column("Read", lambda n: n.read_at),
)


def _me(request: HttpRequest) -> User:
    """The signed-in user (every view here but the feed is behind login_required)."""
    return cast(User, request.user)


def _own_notification(request: HttpRequest, pk: int) -> Notification:
    notification: Notification = get_object_or_404(
        Notification.objects.visible_to(request.user), pk=pk
    )
    return notification


def _next_url(request: HttpRequest) -> str | None:
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return None


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponseBase:
    unread_only = request.GET.get("show") == "unread"
    notifications = Notification.objects.visible_to(request.user).select_related("deal")
    if unread_only:
        notifications = notifications.unread()
    if wants_csv(request):  # every notification shown, not one page
        return csv_download(
            filename_stem="notifications", columns=NOTIFICATION_COLUMNS, records=notifications
        )
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/list.html",
        {"page": page, "unread_only": unread_only, "nav": "notifications"},
    )


@login_required
@require_GET
def notification_bell(request: HttpRequest) -> HttpResponse:
    """The top bar's bell alone: htmx polls it and swaps it in place."""
    return render(request, "notifications/_bell.html")


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    notification = mark_notification_read(
        notification=_own_notification(request, pk), by=_me(request)
    )
    if wants_fragment(request):
        response = render(request, "notifications/list.html#row", {"n": notification})
        # The bare event name (no JSON detail, which add_trigger would write): all the bell's
        # hx-trigger needs, and what tests/jobs/test_pages.py pins.
        response["HX-Trigger"] = BELL_EVENT
        return response
    return redirect(_next_url(request) or "notifications")


@login_required
@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification to its deal, marking it read on the way."""
    notification = mark_notification_read(
        notification=_own_notification(request, pk), by=_me(request)
    )
    if notification.deal_id:
        return redirect(deal_path(notification.deal_id))
    return redirect(batch_link(notification) or "notifications")


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    count = mark_all_notifications_read(by=_me(request))
    messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
    return redirect(_next_url(request) or "notifications")


class DigestForm(forms.Form):
    send_digest = forms.BooleanField(
        required=False,
        label="E-mail me a daily digest",
        help_text="Follow-ups due today or overdue, newly stalled deals, close dates passed.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def my_settings(request: HttpRequest) -> HttpResponse:
    user = _me(request)
    if request.method == "POST":
        form = DigestForm(request.POST)
        if form.is_valid():
            set_digest_opt_out(by=user, opt_out=not form.cleaned_data["send_digest"])
            messages.success(request, "Your settings are saved.")
            return redirect("my-settings")
    else:
        form = DigestForm(initial={"send_digest": not user.digest_opt_out})
    feed_url = request.build_absolute_uri(reverse("calendar-feed", args=[user.calendar_token]))
    return render(
        request,
        "notifications/settings.html",
        {
            "form": form,
            "feed_url": feed_url,
            "webcal_url": "webcal://" + feed_url.split("://", 1)[1],
            "nav": "my-settings",
        },
    )


@login_required
@require_POST
def calendar_revoke(request: HttpRequest) -> HttpResponse:
    revoke_calendar_token(by=_me(request))
    messages.success(request, "Your calendar link is replaced: the old one no longer works.")
    return redirect("my-settings")


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """No sign-in (calendar apps cannot): the secret token is the key. Unknown token → 404."""
    user = user_for_token(token)
    if user is None:
        raise Http404("No such calendar.")
    response = HttpResponse(calendar_for(user), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="pipeline-crm.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response
