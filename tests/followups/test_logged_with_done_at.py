"""An activity created with `done_at` (SPEC §8) is logged as done at that time: no reminder
for a call already made, and it counts as the deal's latest work."""

import datetime as dt

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from followups.models import Notification
from followups.reminders import send_due_reminders
from tests.factories import DealFactory

pytestmark = pytest.mark.django_db


def test_a_call_posted_with_done_at_is_logged_done_and_never_reminds(rep, team_a, api_for):
    deal = DealFactory(owner=rep, last_activity_at=None, stalled=True, stall_reasons=["idle"])
    made = timezone.now() - dt.timedelta(hours=2)
    response = api_for(rep).post(
        "/api/activities/",
        {
            "kind": "call",
            "subject": "Called Jane",
            "deal": deal.pk,
            "done_at": made.isoformat(),
            "remind_at": (made - dt.timedelta(hours=1)).isoformat(),
        },
    )

    assert response.status_code == 201, response.json()
    assert parse_datetime(response.json()["done_at"]) == made
    assert send_due_reminders().reminded == 0
    assert not Notification.objects.filter(kind=Notification.Kind.REMINDER).exists()
    deal.refresh_from_db()
    assert deal.last_activity_at == made
    assert deal.stalled is False


def test_a_done_at_in_the_future_is_a_400_on_done_at(rep, team_a, api_for):
    later = (timezone.now() + dt.timedelta(days=1)).isoformat()
    response = api_for(rep).post(
        "/api/activities/", {"kind": "call", "subject": "Tomorrow's call", "done_at": later}
    )

    assert response.status_code == 400
    assert "done_at" in response.json()


def test_an_activity_posted_without_done_at_stays_planned(rep, team_a, api_for):
    due = (timezone.now() + dt.timedelta(days=1)).isoformat()
    response = api_for(rep).post(
        "/api/activities/", {"kind": "task", "subject": "Send quote", "due_at": due}
    )

    assert response.status_code == 201
    assert response.json()["done_at"] is None
