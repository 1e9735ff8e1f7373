"""`/activities/`: one person's follow-ups grouped overdue / today / upcoming, done with one
click, rescheduled in place, a week view; managers look at a rep's."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from followups.models import Activity, Notification
from followups.selectors import follow_ups, week_of
from tests.clients import signed_in
from tests.factories import ActivityFactory, DealFactory, NotificationFactory

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")


def at(*args):
    return dt.datetime(*args, tzinfo=NEW_YORK)


def hx(client, url, data=None):
    return client.post(url, data or {}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="shown")


def subjects(activities):
    return [a.subject for a in activities]


# --- the selector ------------------------------------------------------------------------------


def test_follow_ups_are_grouped_by_the_users_day_not_utcs(rep):
    # 22:30 in New York is already 03:30 the next day in UTC: "today" ends at New York midnight.
    now = at(2026, 3, 10, 22, 30)
    for subject, due in [
        ("a minute late", now - dt.timedelta(minutes=1)),
        ("last week", now - dt.timedelta(days=7)),
        ("in a minute", now + dt.timedelta(minutes=1)),
        ("before midnight", at(2026, 3, 10, 23, 59)),
        ("at midnight", at(2026, 3, 11, 0, 0)),
        ("next month", at(2026, 4, 10, 9, 0)),
        ("someday", None),
    ]:
        ActivityFactory(owner=rep, subject=subject, due_at=due)
    ActivityFactory(owner=rep, subject="done", due_at=now - dt.timedelta(hours=1), done_at=now)
    ActivityFactory(subject="not mine", due_at=now)

    with timezone.override(NEW_YORK):
        groups = follow_ups(owner=rep, viewer=rep, now=now)

    assert subjects(groups.overdue) == ["last week", "a minute late"]
    assert subjects(groups.today) == ["in a minute", "before midnight"]
    assert subjects(groups.upcoming) == ["at midnight", "next month"]
    assert subjects(groups.undated) == ["someday"]
    assert [key for key, _, _ in groups.sections] == ["overdue", "today", "upcoming", "undated"]


def test_the_grouped_follow_ups_take_one_query_however_many(rep, django_assert_num_queries):
    now = timezone.now()
    for days in range(-3, 4):
        deal = DealFactory(owner=rep)
        ActivityFactory(owner=rep, deal=deal, due_at=now + dt.timedelta(days=days))

    assert rep.role  # the top bar has read it already: visibility needs no query of its own
    with django_assert_num_queries(1):
        groups = follow_ups(owner=rep, viewer=rep, now=now)
        titles = [a.deal.title for _, _, items in groups.sections for a in items]

    assert len(titles) == 7


def test_the_week_runs_monday_to_sunday_in_the_users_time_zone(rep, django_assert_num_queries):
    monday = dt.date(2026, 3, 9)
    ActivityFactory(owner=rep, subject="monday early", due_at=at(2026, 3, 9, 0, 0))
    ActivityFactory(owner=rep, subject="sunday late", due_at=at(2026, 3, 15, 23, 30))
    ActivityFactory(
        owner=rep, subject="done wed", due_at=at(2026, 3, 11, 9), done_at=at(2026, 3, 11, 9)
    )
    ActivityFactory(owner=rep, subject="next monday", due_at=at(2026, 3, 16, 0, 0))
    ActivityFactory(owner=rep, subject="sunday before", due_at=at(2026, 3, 8, 23, 59))

    assert rep.role
    with timezone.override(NEW_YORK), django_assert_num_queries(1):
        days = week_of(owner=rep, viewer=rep, monday=monday, now=at(2026, 3, 11, 12))

    assert [d.day.isoformat() for d in days][::6] == ["2026-03-09", "2026-03-15"]
    assert [subjects(d.activities) for d in days] == [
        ["monday early"],
        [],
        ["done wed"],
        [],
        [],
        [],
        ["sunday late"],
    ]
    assert [d.is_today for d in days].index(True) == 2


# --- the page ----------------------------------------------------------------------------------


def test_the_page_lists_overdue_first_then_today_then_upcoming(rep):
    now = timezone.now()
    ActivityFactory(owner=rep, subject="Call next week", due_at=now + dt.timedelta(days=7))
    ActivityFactory(owner=rep, subject="Send the quote", due_at=now - dt.timedelta(days=2))
    ActivityFactory(owner=rep, subject="Due in a moment", due_at=now + dt.timedelta(seconds=60))

    page = signed_in(rep).get(reverse("my-activities")).content.decode()

    order = [page.index(s) for s in ("Send the quote", "Due in a moment", "Call next week")]
    assert order == sorted(order)
    assert page.index("Overdue") < page.index("Send the quote")
    assert 'href="/activities/" aria-current="page">Activities</a>' in page


def test_one_click_done_takes_it_off_the_list_and_reads_its_reminder(rep):
    task = ActivityFactory(owner=rep, subject="Send the quote", due_at=timezone.now())
    NotificationFactory(user=rep, dedupe_key=f"reminder:{task.pk}:2026-01-01T09:00:00+00:00")
    NotificationFactory(user=rep, dedupe_key="something-else")
    client = signed_in(rep)

    response = hx(client, reverse("activity-done", args=[task.pk]))

    assert response.status_code == 200
    assert 'id="shown"' in response.content.decode()
    assert "Send the quote" not in response.content.decode()
    assert "notifications-changed" in response["HX-Trigger"]
    task.refresh_from_db()
    assert task.done_at is not None
    assert Notification.objects.visible_to(rep).unread().count() == 1
    bell = client.get(reverse("notification-bell")).content.decode()
    assert "Notifications, 1 unread" in bell


def test_the_bell_shows_no_badge_at_zero(rep):
    client = signed_in(rep)
    assert 'class="count"' not in client.get(reverse("notification-bell")).content.decode()
    NotificationFactory(user=rep)
    assert (
        'class="count" data-count="1"' in client.get(reverse("notification-bell")).content.decode()
    )


def test_rescheduling_in_place_moves_the_due_time_and_its_reminder(rep):
    due = timezone.now() - dt.timedelta(days=1)
    task = ActivityFactory(
        owner=rep,
        subject="Call back",
        due_at=due,
        remind_at=due - dt.timedelta(hours=1),
        reminded_at=due,
    )
    new_due = timezone.localtime() + dt.timedelta(days=3)

    response = hx(
        signed_in(rep),
        reverse("activity-reschedule", args=[task.pk]),
        {"due_at": new_due.strftime("%Y-%m-%dT%H:%M")},
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("Upcoming") < page.index("Call back")
    task.refresh_from_db()
    assert task.due_at == new_due.replace(second=0, microsecond=0)
    assert task.remind_at == task.due_at - dt.timedelta(hours=1)
    assert task.reminded_at is None  # it reminds again at the new time


@pytest.mark.parametrize("value", ["", "next tuesday", "9999-01-01T10:00", "2026-02-30T10:00"])
def test_a_bad_new_due_time_comes_back_in_its_row_with_the_error(rep, value):
    due = timezone.now() + dt.timedelta(days=1)
    task = ActivityFactory(owner=rep, subject="Call back", due_at=due)

    response = hx(signed_in(rep), reverse("activity-reschedule", args=[task.pk]), {"due_at": value})

    assert response.status_code == 422
    assert response["HX-Retarget"] == f"#activity-{task.pk}"
    row = response.content.decode()
    assert row.lstrip().startswith(f'<li class="followup" id="activity-{task.pk}"')
    assert 'class="field-error"' in row
    assert 'aria-invalid="true"' in row
    task.refresh_from_db()
    assert task.due_at == due


def test_a_manager_looks_at_a_reps_follow_ups_and_completes_one(rep, manager, team_a):
    task = ActivityFactory(owner=rep, subject="Rep call", due_at=timezone.now())
    ActivityFactory(owner=manager, subject="Manager own")
    client = signed_in(manager)

    page = client.get(reverse("my-activities"), {"owner": rep.pk}).content.decode()

    assert "Rep call" in page
    assert "Manager own" not in page
    assert f'<option value="{rep.pk}" selected>' in page
    done = hx(client, reverse("activity-done", args=[task.pk]) + f"?owner={rep.pk}")
    assert done.status_code == 200
    task.refresh_from_db()
    assert task.done_at is not None


@pytest.mark.parametrize("viewer", ["manager", "rep"])
def test_someone_out_of_sight_is_a_404(people, team_a, team_b, viewer):
    client = signed_in(people[viewer])
    outsider = people["outsider"]
    ActivityFactory(owner=outsider, subject="Not yours")

    for owner in (outsider.pk, "abc", "999999", "-1"):
        assert client.get(reverse("my-activities"), {"owner": owner}).status_code == 404


def test_a_teammate_reads_a_reps_follow_ups_but_cannot_complete_them(rep, teammate, team_a):
    task = ActivityFactory(owner=rep, subject="Rep call", due_at=timezone.now())
    client = signed_in(teammate)

    page = client.get(reverse("my-activities"), {"owner": rep.pk}).content.decode()

    assert "Rep call" in page
    assert reverse("activity-done", args=[task.pk]) not in page
    assert "Reschedule" not in page
    assert hx(client, reverse("activity-done", args=[task.pk])).status_code == 403
    task.refresh_from_db()
    assert task.done_at is None


def test_an_outsiders_activity_cannot_be_completed_or_moved(rep, outsider, team_a, team_b):
    task = ActivityFactory(owner=outsider, due_at=timezone.now())
    client = signed_in(rep)
    assert hx(client, reverse("activity-done", args=[task.pk])).status_code == 404
    moved = hx(
        client, reverse("activity-reschedule", args=[task.pk]), {"due_at": "2030-01-01T10:00"}
    )
    assert moved.status_code == 404


def test_the_week_view_has_seven_days_and_links_to_the_weeks_around_it(rep):
    ActivityFactory(
        owner=rep,
        subject="Wednesday demo",
        due_at=timezone.make_aware(dt.datetime(2026, 3, 11, 10)),
    )
    client = signed_in(rep)

    page = client.get(
        reverse("my-activities"), {"view": "week", "week": "2026-03-12"}
    ).content.decode()

    assert len(re.findall(r'<section class="week-day', page)) == 7
    assert 'aria-label="Monday, March 9"' in page
    wednesday = page.split('aria-label="Wednesday, March 11"', 1)[1].split("</section>", 1)[0]
    assert "Wednesday demo" in wednesday
    assert "week=2026-03-02" in page
    assert "week=2026-03-16" in page
    next_week = client.get(reverse("my-activities"), {"view": "week", "week": "2026-03-16"})
    assert "Wednesday demo" not in next_week.content.decode()


def test_a_bad_week_shows_this_week(rep):
    response = signed_in(rep).get(reverse("my-activities"), {"view": "week", "week": "0000-99-99"})
    assert response.status_code == 200
    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday())
    assert f'aria-label="{monday:%A}, {monday:%B} {monday.day}"' in response.content.decode()


def test_completing_from_the_week_view_answers_with_the_week(rep):
    task = ActivityFactory(owner=rep, subject="Demo", due_at=timezone.now())
    url = reverse("activity-done", args=[task.pk]) + "?view=week"

    response = hx(signed_in(rep), url)

    assert 'class="week"' in response.content.decode()
    assert Activity.objects.get(pk=task.pk).done_at is not None


@pytest.mark.parametrize("view", ["list", "week"])
def test_the_page_costs_the_same_queries_for_one_or_many_follow_ups(rep, view):
    client = signed_in(rep)
    url = reverse("my-activities") + f"?view={view}"

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    ActivityFactory(owner=rep, deal=DealFactory(owner=rep), due_at=timezone.now())
    one = queries()
    for hours in range(1, 12):
        deal = DealFactory(owner=rep)
        ActivityFactory(owner=rep, deal=deal, due_at=timezone.now() + dt.timedelta(hours=hours))

    assert queries() == one


def test_a_change_asked_for_someone_out_of_sight_changes_nothing(rep, outsider, team_a, team_b):
    task = ActivityFactory(owner=rep, due_at=timezone.now())
    url = reverse("activity-done", args=[task.pk]) + f"?owner={outsider.pk}"

    assert hx(signed_in(rep), url).status_code == 404

    task.refresh_from_db()
    assert task.done_at is None


def test_completing_on_the_deal_page_reads_the_reminder_and_tells_the_bell_too(rep, team_a):
    deal = DealFactory(owner=rep)
    task = ActivityFactory(owner=rep, deal=deal, due_at=timezone.now())
    NotificationFactory(user=rep, deal=deal, dedupe_key=f"reminder:{task.pk}:x")

    response = signed_in(rep).post(
        reverse("activity-complete", args=[task.pk]), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert "notifications-changed" in response["HX-Trigger"]
    assert "toast" in response["HX-Trigger"]
    assert not Notification.objects.visible_to(rep).unread().exists()
