"""An activity on a deal (or a lead) is in sight only while its deal is: after an admin gives
the deal to another team, its former owner no longer reads, edits or completes the deal's
activities."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from deals import services as deals
from deals.digest import build_digest
from followups import services
from followups.calendar_feed import planned_activities
from followups.models import Activity, Notification
from followups.reminders import send_due_reminders
from pipeline_crm.errors import NotAllowed
from tests.clients import htmx_post, signed_in
from tests.factories import ActivityFactory, DealFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def given_away(deal, *, to, by):
    """The admin reassigns the deal, as the deal page and the API do."""
    return deals.update_deal(deal=deal, by=by, changes={"owner": to})


@pytest.fixture
def reassigned_task(rep, outsider, admin_user, team_a, team_b):
    """The rep's planned task on a stalled deal the admin then gave to the other team."""
    deal = DealFactory(owner=rep, stalled=True, stall_reasons=["idle"], title="Acme renewal")
    task = ActivityFactory(
        owner=rep, deal=deal, kind="task", subject="Call Jane", due_at=timezone.now()
    )
    given_away(deal, to=outsider, by=admin_user)
    return task


def test_the_former_owner_no_longer_sees_the_activities_of_a_reassigned_deal(rep, reassigned_task):
    assert not Activity.objects.visible_to(rep).filter(pk=reassigned_task.pk).exists()
    own = ActivityFactory(owner=rep, kind="task")  # no deal: the owner rule alone
    assert list(Activity.objects.visible_to(rep)) == [own]


def test_the_api_answers_404_for_an_activity_on_a_reassigned_deal(rep, reassigned_task, api_for):
    client = api_for(rep)
    url = f"/api/activities/{reassigned_task.pk}/"

    assert client.get("/api/activities/").json()["count"] == 0
    assert client.get(url).status_code == 404
    assert client.patch(url, {"subject": "Mine again"}).status_code == 404
    assert client.post(f"{url}complete/").status_code == 404
    assert client.delete(url).status_code == 404

    reassigned_task.refresh_from_db()
    assert (reassigned_task.subject, reassigned_task.done_at) == ("Call Jane", None)
    reassigned_task.deal.refresh_from_db()
    assert reassigned_task.deal.stalled is True


def test_the_deal_page_complete_button_answers_404_for_a_reassigned_deal(rep, reassigned_task):
    response = htmx_post(
        signed_in(rep), reverse("activity-complete", args=[reassigned_task.pk]), {}
    )

    assert response.status_code == 404
    reassigned_task.refresh_from_db()
    assert reassigned_task.done_at is None
    reassigned_task.deal.refresh_from_db()
    assert reassigned_task.deal.stalled is True


def test_the_calendar_feed_and_the_digest_leave_out_a_reassigned_deals_activities(
    rep, reassigned_task
):
    now = timezone.now()
    assert planned_activities(rep, now=now) == []
    assert build_digest(rep, now=now).follow_ups == []


def test_an_activity_on_a_deal_seen_but_not_writable_cannot_be_completed(
    rep, teammate, admin_user, team_a
):
    deal = DealFactory(owner=rep, stalled=True, stall_reasons=["idle"])
    task = ActivityFactory(owner=rep, deal=deal, kind="task")
    given_away(deal, to=teammate, by=admin_user)

    assert Activity.objects.visible_to(rep).filter(pk=task.pk).exists()
    assert not Activity.objects.writable_by(rep).filter(pk=task.pk).exists()
    with pytest.raises(NotAllowed):
        services.complete_activity(activity=task, by=rep)
    with pytest.raises(NotAllowed):
        services.update_activity(activity=task, by=rep, changes={"subject": "Renamed"})
    deal.refresh_from_db()
    assert deal.stalled is True


def test_an_admin_still_sees_and_completes_the_activities_of_a_reassigned_deal(
    admin_user, reassigned_task
):
    assert Activity.objects.visible_to(admin_user).filter(pk=reassigned_task.pk).exists()

    done = services.complete_activity(activity=reassigned_task, by=admin_user)

    assert done.done_at is not None


def test_a_reminder_on_a_reassigned_deal_does_not_reach_its_former_owner(
    rep, reassigned_task, team_a
):
    reassigned_task.remind_at = timezone.now() - dt.timedelta(minutes=5)
    reassigned_task.save()
    teammates_deal = DealFactory(owner=UserFactory(), title="Teammate's deal")
    team_a.members.add(teammates_deal.owner)
    seen = ActivityFactory(owner=rep, deal=teammates_deal, remind_at=reassigned_task.remind_at)

    send_due_reminders()

    reminders = Notification.objects.filter(user=rep, kind=Notification.Kind.REMINDER)
    assert [n.deal_id for n in reminders] == [seen.deal_id]
    assert all("Acme renewal" not in email.subject + email.body for email in mail.outbox)
    reassigned_task.refresh_from_db()
    assert reassigned_task.reminded_at is not None  # not claimed again every minute


def test_an_activity_on_a_lead_given_to_another_team_follows_the_lead(
    rep, outsider, team_a, team_b
):
    """The lead's owner rule applies through the link, as the deal's does."""
    lead = LeadFactory(owner=rep)
    task = ActivityFactory(
        owner=rep, lead=lead, subject="Call the lead", remind_at=timezone.now() - dt.timedelta(1)
    )
    assert Activity.objects.writable_by(rep).filter(pk=task.pk).exists()
    lead.owner = outsider
    lead.save(update_fields=["owner"])

    assert not Activity.objects.visible_to(rep).filter(pk=task.pk).exists()
    assert not Activity.objects.writable_by(rep).filter(pk=task.pk).exists()
    send_due_reminders()
    assert not Notification.objects.filter(user=rep).exists()
    task.refresh_from_db()
    assert task.reminded_at is not None
