"""The follow-up rules of followups.services: logging, completing and rescheduling activities."""

import datetime as dt

import pytest
from django.utils import timezone

from followups import services
from pipeline_crm.errors import DomainError
from tests.factories import ActivityFactory, DealFactory

pytestmark = pytest.mark.django_db


def test_logging_an_activity_refreshes_the_deal_and_clears_its_stall(rep, team_a):
    deal = DealFactory(owner=rep, stalled=True, stall_reasons=["idle"])

    services.log_activity(by=rep, kind="call", subject="Called the buyer", deal=deal, done=True)

    deal.refresh_from_db()
    assert deal.last_activity_at is not None
    assert deal.stalled is False


def test_activity_needs_a_subject(rep, team_a):
    with pytest.raises(DomainError) as refused:
        services.log_activity(by=rep, kind="call", subject=" ")
    assert refused.value.field == "subject"


def test_completing_a_planned_activity_marks_it_done_and_touches_the_deal(rep, team_a):
    deal = DealFactory(owner=rep)
    planned = ActivityFactory(owner=rep, deal=deal, due_at=timezone.now())

    done = services.complete_activity(activity=planned, by=rep)

    assert done.done_at is not None
    deal.refresh_from_db()
    assert deal.last_activity_at == done.done_at


def test_rescheduling_a_reminder_arms_it_again(rep, team_a):
    activity = ActivityFactory(owner=rep, remind_at=timezone.now(), reminded_at=timezone.now())

    later = timezone.now() + dt.timedelta(days=1)
    updated = services.update_activity(activity=activity, by=rep, changes={"remind_at": later})

    assert (updated.remind_at, updated.reminded_at) == (later, None)
