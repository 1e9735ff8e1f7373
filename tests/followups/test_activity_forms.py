"""What a user tripped over in the activity forms: a reminder after the due time was accepted,
an error stayed on screen after a later successful submit, and a call could only be logged as
done "now"."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from followups import services
from followups.models import Activity
from pipeline_crm.errors import DomainError
from tests.clients import signed_in
from tests.factories import ActivityFactory, DealFactory

pytestmark = pytest.mark.django_db

FORM_TIME = "%Y-%m-%dT%H:%M"


def hx(client, url, data):
    return client.post(url, data, HTTP_HX_REQUEST="true")


def local(delta):
    return (timezone.localtime() + delta).strftime(FORM_TIME)


# --- a reminder after the due time ----------------------------------------------------------


def test_the_service_refuses_a_reminder_after_the_due_time_on_the_reminder(rep):
    due = timezone.now() + dt.timedelta(days=1)
    with pytest.raises(DomainError) as refused:
        services.log_activity(
            by=rep, kind="call", subject="Call", due_at=due, remind_at=due + dt.timedelta(minutes=1)
        )
    assert refused.value.field == "remind_at"
    # At the due time itself is fine.
    services.log_activity(by=rep, kind="call", subject="Call", due_at=due, remind_at=due)


def test_moving_the_due_time_before_the_reminder_is_refused_too(rep):
    due = timezone.now() + dt.timedelta(days=1)
    task = ActivityFactory(owner=rep, due_at=due, remind_at=due - dt.timedelta(hours=1))

    with pytest.raises(DomainError) as refused:
        services.update_activity(
            activity=task, by=rep, changes={"due_at": due - dt.timedelta(hours=2)}
        )

    assert refused.value.field == "remind_at"
    task.refresh_from_db()
    assert task.due_at == due


def test_the_api_answers_400_on_remind_at(rep, api_for):
    due = timezone.now() + dt.timedelta(days=1)
    payload = {"kind": "call", "subject": "Call", "due_at": due.isoformat()}
    late = (due + dt.timedelta(hours=1)).isoformat()

    created = api_for(rep).post("/api/activities/", {**payload, "remind_at": late})
    task = ActivityFactory(owner=rep, due_at=due)
    patched = api_for(rep).patch(f"/api/activities/{task.pk}/", {"remind_at": late})

    for response in (created, patched):
        assert response.status_code == 400
        assert "remind_at" in response.json()
    assert not Activity.objects.filter(remind_at__isnull=False).exists()


def test_the_deal_page_shows_the_error_under_the_reminder(rep, team_a):
    deal = DealFactory(owner=rep)

    response = hx(
        signed_in(rep),
        reverse("deal-plan", args=[deal.pk]),
        {
            "kind": "call",
            "subject": "Call",
            "due_at": local(dt.timedelta(days=1)),
            "remind_at": local(dt.timedelta(days=1, minutes=30)),
        },
    )

    assert response.status_code == 422
    assert response["HX-Retarget"] == "#plan-form"
    assert "The reminder comes after the activity is due" in response.content.decode()
    assert not Activity.objects.exists()


# --- errors cleared after a successful submit -------------------------------------------------


@pytest.mark.parametrize(
    ("url_name", "partial", "good"),
    [
        ("deal-plan", "plan-form", {"kind": "call", "subject": "Call back"}),
        ("deal-log", "log-form", {"kind": "call", "subject": "Called"}),
    ],
)
def test_a_successful_submit_swaps_in_an_empty_form_without_the_old_error(
    rep, team_a, url_name, partial, good
):
    deal = DealFactory(owner=rep)
    client = signed_in(rep)
    url = reverse(url_name, args=[deal.pk])

    refused = hx(client, url, {"kind": "call", "subject": ""})
    accepted = hx(client, url, good)

    assert refused.status_code == 422
    assert 'class="field-error"' in refused.content.decode()
    assert accepted.status_code == 200
    page = accepted.content.decode()
    form = page.split(f'<form id="{partial}"', 1)[1].split("</form>", 1)[0]
    assert 'hx-swap-oob="true"' in form
    assert "field-error" not in form
    assert good["subject"] not in form  # emptied for the next one


# --- logged as done at a given time -------------------------------------------------------------


def test_a_call_is_logged_as_done_when_it_happened(rep, team_a):
    deal = DealFactory(owner=rep)
    when = timezone.localtime() - dt.timedelta(days=2)

    response = hx(
        signed_in(rep),
        reverse("deal-log", args=[deal.pk]),
        {"kind": "call", "subject": "Called Jane", "done_at": when.strftime(FORM_TIME)},
    )

    assert response.status_code == 200
    assert Activity.objects.get(subject="Called Jane").done_at == when.replace(
        second=0, microsecond=0
    )


def test_a_done_time_in_the_future_is_refused_in_the_log_form(rep, team_a):
    deal = DealFactory(owner=rep)

    response = hx(
        signed_in(rep),
        reverse("deal-log", args=[deal.pk]),
        {"kind": "call", "subject": "Called Jane", "done_at": local(dt.timedelta(hours=2))},
    )

    assert response.status_code == 422
    assert response["HX-Retarget"] == "#log-form"
    assert "cannot be done in the future" in response.content.decode()
    assert not Activity.objects.exists()


def test_the_log_form_offers_a_done_time(rep, team_a):
    deal = DealFactory(owner=rep)
    page = signed_in(rep).get(reverse("deal-detail", args=[deal.pk])).content.decode()
    log_form = page.split('<form id="log-form"', 1)[1].split("</form>", 1)[0]
    assert 'type="datetime-local" name="done_at"' in log_form
    assert "When (empty: now)" in log_form
