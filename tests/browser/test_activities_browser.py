"""My activities in a real browser: overdue first, one click marks one done and the bell's
count follows; a bad reschedule shows its error in the row; the week view.

Also saves docs/screenshots/activities.png for the README.
"""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from followups.models import Activity
from tests.factories import ActivityFactory, DealFactory, NotificationFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_overdue_comes_first_and_completing_one_updates_the_bell(open_page, screenshot):
    rep = UserFactory(username="rita", first_name="Rita", last_name="Reyes", role="rep")
    now = timezone.now()
    deal = DealFactory(owner=rep, title="Acme renewal")
    late = ActivityFactory(
        owner=rep,
        deal=deal,
        kind="call",
        subject="Call Acme back",
        due_at=now - dt.timedelta(days=1),
    )
    ActivityFactory(
        owner=rep, kind="task", subject="Send the proposal", due_at=now + dt.timedelta(minutes=30)
    )
    ActivityFactory(
        owner=rep, kind="meeting", subject="Quarterly review", due_at=now + dt.timedelta(days=3)
    )
    NotificationFactory(
        user=rep, deal=deal, dedupe_key=f"reminder:{late.pk}:x", message="Reminder: Call Acme back"
    )

    page = open_page(rep, "/activities/")
    groups = page.locator(".followup-group h2")
    expect(groups.nth(0)).to_contain_text("Overdue")
    expect(page.locator(".followup").first).to_contain_text("Call Acme back")
    expect(page.locator("#notification-bell .count")).to_have_text("1")
    screenshot(page, "activities.png")

    page.get_by_role("button", name="Done: Call Acme back").click()

    expect(page.locator("#shown")).not_to_contain_text("Call Acme back")
    expect(page.locator("#notification-bell .count")).to_have_count(0)  # no red "0"
    expect(page.locator("#notification-bell")).to_have_attribute(
        "aria-label", "Notifications, 0 unread"
    )
    assert Activity.objects.get(pk=late.pk).done_at is not None
    assert page.errors == []


def test_a_bad_reschedule_shows_its_error_in_place_and_a_good_one_moves_it(open_page):
    rep = UserFactory(username="sam", role="rep")
    task = ActivityFactory(
        owner=rep, subject="Call back", due_at=timezone.now() + dt.timedelta(hours=1)
    )

    page = open_page(rep, "/activities/")
    row = page.locator(f"#activity-{task.pk}")
    row.locator("input[name=due_at]").fill("")
    row.get_by_role("button", name="Reschedule").click()
    expect(page.locator(f"#activity-{task.pk} .field-error")).to_be_visible()

    later = timezone.localtime() + dt.timedelta(days=4)
    page.locator(f"#activity-{task.pk} input[name=due_at]").fill(later.strftime("%Y-%m-%dT%H:%M"))
    page.locator(f"#activity-{task.pk}").get_by_role("button", name="Reschedule").click()
    expect(page.locator(".group-upcoming")).to_contain_text("Call back")
    expect(page.locator(".field-error")).to_have_count(0)

    page.get_by_role("link", name="Week").click()
    expect(page.locator(".week-day")).to_have_count(7)
    page.get_by_role("link", name="Next week →").click()
    page.wait_for_url("**/activities/?*week=*")
    expect(page.locator(".week-day")).to_have_count(7)
    assert page.errors == []
