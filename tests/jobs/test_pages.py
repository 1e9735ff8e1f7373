"""Notification bell and list, mark read, the settings page and the calendar feed."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from tests.factories import ActivityFactory, DealFactory, NotificationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for():
    def make(user, **kwargs):
        client = Client(**kwargs)
        client.force_login(user)
        return client

    return make


def test_the_bell_on_every_page_shows_the_unread_count(rep, client_for):
    NotificationFactory.create_batch(3, user=rep)
    NotificationFactory(user=rep, read_at=timezone.now())
    NotificationFactory()  # someone else's

    html = client_for(rep).get(reverse("notifications")).content.decode()

    assert 'id="notification-bell"' in html
    assert 'aria-label="Notifications, 3 unread"' in html


def test_the_bell_refreshes_itself_with_htmx(rep, client_for):
    client = client_for(rep)
    page = client.get(reverse("notifications")).content.decode()
    assert f'hx-get="{reverse("notification-bell")}"' in page
    assert "every 30s" in page
    assert "notifications-changed from:body" in page

    NotificationFactory(user=rep)
    bell = client.get(reverse("notification-bell"), HTTP_HX_REQUEST="true")
    assert bell.status_code == 200
    assert 'aria-label="Notifications, 1 unread"' in bell.content.decode()
    assert "<html" not in bell.content.decode()


def test_the_bell_asks_a_signed_out_browser_to_sign_in():
    response = Client().get(reverse("notification-bell"), HTTP_HX_REQUEST="true")
    assert "/accounts/login/" in response.headers.get("HX-Redirect", "")


def test_the_list_shows_my_notifications_newest_first_with_a_way_to_the_deal(rep, client_for):
    deal = DealFactory(owner=rep, title="Acme")
    NotificationFactory(user=rep, message="Old news")
    NotificationFactory(user=rep, message="Acme stalled", deal=deal, kind="stalled")
    NotificationFactory(message="Not for you")

    html = client_for(rep).get(reverse("notifications")).content.decode()

    assert html.index("Acme stalled") < html.index("Old news")
    assert "Not for you" not in html
    assert reverse("notification-open", args=[deal.notifications.get().pk]) in html


def test_the_list_can_show_unread_only(rep, client_for):
    NotificationFactory(user=rep, message="Fresh")
    NotificationFactory(user=rep, message="Seen", read_at=timezone.now())
    html = client_for(rep).get(reverse("notifications") + "?show=unread").content.decode()
    assert "Fresh" in html
    assert "Seen" not in html


def test_the_list_query_count_does_not_grow_with_its_length(
    rep, client_for, django_assert_max_num_queries
):
    for _ in range(25):
        NotificationFactory(user=rep, deal=DealFactory(owner=rep))
    client = client_for(rep)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("notifications")).status_code == 200


def test_marking_one_read_with_htmx_swaps_the_row_and_tells_the_bell(rep, client_for):
    notification = NotificationFactory(user=rep)
    response = client_for(rep).post(
        reverse("notification-read", args=[notification.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "notifications-changed"
    assert f'id="notification-{notification.pk}"' in response.content.decode()
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_marking_one_read_without_javascript_comes_back_to_the_list(rep, client_for):
    notification = NotificationFactory(user=rep)
    response = client_for(rep).post(reverse("notification-read", args=[notification.pk]))
    assert response.status_code == 302
    assert response.url == reverse("notifications")
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_someone_elses_notification_is_not_found(rep, client_for):
    theirs = NotificationFactory()
    response = client_for(rep).post(reverse("notification-read", args=[theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_read_needs_a_post_with_csrf_token(rep, client_for):
    notification = NotificationFactory(user=rep)
    url = reverse("notification-read", args=[notification.pk])
    assert client_for(rep).get(url).status_code == 405
    assert client_for(rep, enforce_csrf_checks=True).post(url).status_code == 403
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_read(rep, client_for):
    NotificationFactory.create_batch(4, user=rep)
    other = NotificationFactory()
    client = client_for(rep)

    response = client.post(reverse("notifications-read-all"), follow=True)

    assert "Marked 4 notifications read." in response.content.decode()
    assert 'aria-label="Notifications, 0 unread"' in response.content.decode()
    other.refresh_from_db()
    assert other.read_at is None


def test_opening_a_notification_marks_it_read_and_goes_to_the_deal(rep, client_for):
    deal = DealFactory(owner=rep)
    notification = NotificationFactory(user=rep, deal=deal)
    response = client_for(rep).post(reverse("notification-open", args=[notification.pk]))
    assert response.status_code == 302
    assert response.url == f"/deals/{deal.pk}/"
    notification.refresh_from_db()
    assert notification.read_at is not None


# --- settings: digest opt-out and calendar link -------------------------------------------------


def test_turning_the_digest_off_and_on_again(rep, client_for):
    client = client_for(rep)
    page = client.get(reverse("my-settings")).content.decode()
    assert 'name="send_digest"' in page
    assert "checked" in page

    client.post(reverse("my-settings"), {})  # unticked box
    rep.refresh_from_db()
    assert rep.digest_opt_out is True
    assert "checked" not in client.get(reverse("my-settings")).content.decode()

    client.post(reverse("my-settings"), {"send_digest": "on"})
    rep.refresh_from_db()
    assert rep.digest_opt_out is False


def test_the_settings_page_shows_my_calendar_feed_address(rep, client_for):
    html = client_for(rep).get(reverse("my-settings")).content.decode()
    assert f"http://testserver/calendar/{rep.calendar_token}.ics" in html
    assert f"webcal://testserver/calendar/{rep.calendar_token}.ics" in html


def test_the_settings_page_needs_sign_in():
    response = Client().get(reverse("my-settings"))
    assert response.status_code == 302
    assert "/accounts/login/" in response.url


def test_the_calendar_feed_lists_my_planned_activities(rep, teammate):
    deal = DealFactory(owner=rep, title="Acme")
    due = timezone.now() + dt.timedelta(days=1)
    planned = ActivityFactory(
        owner=rep,
        kind="meeting",
        subject="Demo at Acme",
        deal=deal,
        due_at=due,
        remind_at=due - dt.timedelta(minutes=30),
    )
    ActivityFactory(owner=rep, subject="Done call", due_at=due, done_at=timezone.now())
    ActivityFactory(owner=rep, subject="No date")
    ActivityFactory(owner=teammate, subject="Teammate's call", due_at=due)

    response = Client().get(reverse("calendar-feed", args=[rep.calendar_token]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    assert [str(e["SUMMARY"]) for e in events] == ["Meeting: Demo at Acme"]
    event = events[0]
    assert str(event["UID"]) == f"activity-{planned.pk}@pipeline-crm"
    assert event.decoded("DTSTART") == due.replace(microsecond=0)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == dt.timedelta(hours=1)
    assert f"/deals/{deal.pk}/" in str(event["URL"])
    alarm = next(iter(event.walk("VALARM")))
    assert alarm.decoded("TRIGGER") == -dt.timedelta(minutes=30)


def test_an_unknown_calendar_token_is_not_found(rep):
    assert Client().get(reverse("calendar-feed", args=["not-a-token"])).status_code == 404


def test_revoking_the_calendar_link_makes_the_old_one_stop_working(rep, client_for):
    old_url = reverse("calendar-feed", args=[rep.calendar_token])
    assert Client().get(old_url).status_code == 200

    response = client_for(rep).post(reverse("calendar-revoke"), follow=True)

    rep.refresh_from_db()
    new_url = reverse("calendar-feed", args=[rep.calendar_token])
    assert new_url != old_url
    assert Client().get(old_url).status_code == 404
    assert Client().get(new_url).status_code == 200
    assert new_url in response.content.decode()
    assert "old one no longer works" in response.content.decode()


def test_revoking_needs_a_post(rep, client_for):
    assert client_for(rep).get(reverse("calendar-revoke")).status_code == 405


def test_every_page_links_the_signed_in_user_to_their_settings(rep, client_for):
    html = client_for(rep).get(reverse("leads")).content.decode()

    assert f'href="{reverse("my-settings")}"' in html
