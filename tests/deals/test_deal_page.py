"""The deal page /deals/<id>/: inline edits, stage path, timeline, activities, won/lost/reopen."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from deals import services
from deals.models import Deal, FieldChange
from followups import services as followups
from followups.models import Activity
from tests.clients import signed_in
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    DealFactory,
    lost_reason_entry,
    stage_named,
)

pytestmark = pytest.mark.django_db


def hx(client, method, url, data=None):
    return getattr(client, method)(url, data or {}, HTTP_HX_REQUEST="true")


# --- the page ---------------------------------------------------------------------------------


def test_the_deal_page_shows_fields_stage_path_with_time_and_the_timeline(rep, team_a):
    deal = services.create_deal(
        by=rep, title="Acme rollout", amount=Decimal("8000"), company=CompanyFactory(name="Acme")
    )
    deal.stage_changes.update(at=timezone.now() - dt.timedelta(days=5))
    deal = services.move_deal(deal=deal, by=rep, stage=stage_named("Qualification"), version=1)
    services.update_deal(deal=deal, by=rep, changes={"amount": Decimal("9500")})
    followups.log_activity(by=rep, deal=deal, kind="call", subject="Intro call", done=True)

    response = signed_in(rep).get(reverse("deal-detail", args=[deal.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme rollout" in html
    assert "$9,500" in html
    assert "Acme" in html
    prospecting = html.split(f'data-stage-id="{stage_named("Prospecting").pk}"', 1)[1]
    assert '<span class="step-time">5 d</span>' in prospecting.split("</li>", 1)[0]
    assert 'aria-current="step"' in html.split("Qualification</span>", 1)[0].rsplit("<li", 1)[1]
    timeline = html.split('id="timeline"', 1)[1]
    assert "Moved from <strong>Prospecting</strong> to <strong>Qualification</strong>" in timeline
    assert "Created in <strong>Prospecting</strong>" in timeline
    assert 'Amount: <span class="old">$8,000</span> → <strong>$9,500</strong>' in timeline
    assert "Intro call" in timeline


def test_a_deal_outside_sight_is_404_on_every_deal_page_endpoint(people):
    deal = DealFactory(owner=people["outsider"])
    client = signed_in(people["rep"])

    assert client.get(reverse("deal-detail", args=[deal.pk])).status_code == 404
    assert client.get(reverse("deal-field-edit", args=[deal.pk, "title"])).status_code == 404
    assert (
        client.post(reverse("deal-field", args=[deal.pk, "title"]), {"title": "x"}).status_code
        == 404
    )
    assert client.post(reverse("deal-plan", args=[deal.pk]), {"subject": "x"}).status_code == 404
    assert client.post(reverse("deal-log", args=[deal.pk]), {"subject": "x"}).status_code == 404
    assert client.post(reverse("deal-reopen", args=[deal.pk])).status_code == 404
    assert client.get(reverse("deal-detail", args=[999999])).status_code == 404


def test_a_teammates_deal_reads_but_offers_no_edits_and_refuses_them_with_403(people):
    deal = DealFactory(owner=people["teammate"], title="Theirs")
    client = signed_in(people["rep"])

    html = client.get(reverse("deal-detail", args=[deal.pk])).content.decode()
    refused = hx(
        client,
        "post",
        reverse("deal-field", args=[deal.pk, "title"]),
        {"title": "Mine", "version": 1},
    )

    assert "Theirs" in html
    assert "Mark won" not in html
    assert ">Edit<" not in html
    assert 'id="plan-form"' not in html
    assert refused.status_code == 403
    deal.refresh_from_db()
    assert deal.title == "Theirs"


# --- inline edit --------------------------------------------------------------------------------


def test_inline_edit_shows_the_form_then_saves_through_the_service(rep, team_a):
    deal = DealFactory(owner=rep, amount=Decimal("1000"))
    client = signed_in(rep)

    form = hx(client, "get", reverse("deal-field-edit", args=[deal.pk, "amount"]))
    saved = hx(
        client,
        "post",
        reverse("deal-field", args=[deal.pk, "amount"]),
        {"amount": "2500", "version": 1},
    )

    assert 'name="amount"' in form.content.decode()
    assert 'value="1000.00"' in form.content.decode()
    assert saved.status_code == 200
    deal.refresh_from_db()
    assert deal.amount == Decimal("2500")
    assert deal.version == 2
    html = saved.content.decode()
    assert "$2,500" in html
    assert 'id="deal-version" name="version" value="2"' in html  # the header, out of band
    assert FieldChange.objects.filter(deal=deal, field="amount", new_value="2500").exists()


def test_inline_edit_with_bad_input_shows_the_error_in_place(rep, team_a):
    deal = DealFactory(owner=rep)
    client = signed_in(rep)

    bad_amount = hx(
        client,
        "post",
        reverse("deal-field", args=[deal.pk, "amount"]),
        {"amount": "-3", "version": 1},
    )
    bad_probability = hx(
        client,
        "post",
        reverse("deal-field", args=[deal.pk, "probability_override"]),
        {"probability_override": "150", "version": 1},
    )
    empty_title = hx(
        client, "post", reverse("deal-field", args=[deal.pk, "title"]), {"title": " ", "version": 1}
    )
    unknown = hx(client, "get", reverse("deal-field-edit", args=[deal.pk, "stage"]))

    assert bad_amount.status_code == 422
    assert "greater than or equal to 0" in bad_amount.content.decode()
    assert bad_amount["HX-Retarget"] == "#field-amount"
    assert bad_probability.status_code == 422
    assert empty_title.status_code == 422
    assert "This field is required." in empty_title.content.decode()
    assert unknown.status_code == 404
    deal.refresh_from_db()
    assert deal.version == 1


def test_inline_edit_of_a_deal_changed_meanwhile_shows_its_current_value(rep, team_a):
    deal = DealFactory(owner=rep, title="Old title")
    services.update_deal(deal=deal, by=rep, changes={"title": "Renamed by a colleague"})

    response = hx(
        signed_in(rep),
        "post",
        reverse("deal-field", args=[deal.pk, "title"]),
        {"title": "Mine", "version": 1},
    )

    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone else changed this deal" in html
    assert 'value="Renamed by a colleague"' in html
    assert "changed by someone else" in json.loads(response["HX-Trigger"])["toast"]["message"]
    deal.refresh_from_db()
    assert deal.title == "Renamed by a colleague"


def test_typing_a_new_company_name_creates_it_and_an_owner_must_be_assignable(people):
    rep = people["rep"]
    deal = DealFactory(owner=rep, company=None)
    client = signed_in(rep)

    company = hx(
        client,
        "post",
        reverse("deal-field", args=[deal.pk, "company"]),
        {"company": "Hooli", "version": 1},
    )
    owner = hx(
        client,
        "post",
        reverse("deal-field", args=[deal.pk, "owner"]),
        {"owner": people["outsider"].pk, "version": 2},
    )

    assert company.status_code == 200
    deal.refresh_from_db()
    assert deal.company.name == "Hooli"
    assert owner.status_code == 422  # not a choice: reps give deals only to themselves
    assert deal.owner == rep


# --- activities ---------------------------------------------------------------------------------


def test_planning_the_next_step_lists_it_and_logging_a_call_adds_it_to_the_timeline(rep, team_a):
    deal = DealFactory(owner=rep)
    client = signed_in(rep)
    due = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")

    planned = hx(
        client,
        "post",
        reverse("deal-plan", args=[deal.pk]),
        {"kind": "meeting", "subject": "Demo for the board", "due_at": due, "remind_at": due},
    )
    logged = hx(
        client,
        "post",
        reverse("deal-log", args=[deal.pk]),
        {"kind": "call", "subject": "Called the CFO", "body": "Budget approved"},
    )

    assert planned.status_code == 200
    assert 'id="planned-list" hx-swap-oob="true"' in planned.content.decode()
    assert "Demo for the board" in planned.content.decode()
    activity = Activity.objects.get(subject="Demo for the board")
    assert activity.done_at is None
    assert activity.remind_at is not None
    assert activity.owner == rep
    assert logged.status_code == 200
    assert "Called the CFO" in logged.content.decode().split('id="timeline"', 1)[1]
    assert Activity.objects.get(subject="Called the CFO").done_at is not None
    deal.refresh_from_db()
    assert deal.last_activity_at is not None


def test_an_activity_without_a_subject_shows_the_form_error(rep, team_a):
    deal = DealFactory(owner=rep)
    client = signed_in(rep)

    plan = hx(
        client,
        "post",
        reverse("deal-plan", args=[deal.pk]),
        {"kind": "call", "subject": "", "due_at": "soon"},
    )
    log = hx(client, "post", reverse("deal-log", args=[deal.pk]), {"kind": "bogus", "subject": "x"})

    assert plan.status_code == 422
    assert plan["HX-Retarget"] == "#plan-form"
    assert "This field is required." in plan.content.decode()
    assert "Enter a valid date/time." in plan.content.decode()
    assert log.status_code == 422
    assert "Select a valid choice" in log.content.decode()
    assert not Activity.objects.exists()


def test_completing_a_planned_activity_moves_it_to_the_timeline(rep, team_a):
    deal = DealFactory(owner=rep)
    activity = ActivityFactory(owner=rep, deal=deal, subject="Send the contract")

    response = hx(signed_in(rep), "post", reverse("activity-complete", args=[activity.pk]))

    assert response.status_code == 200
    activity.refresh_from_db()
    assert activity.done_at is not None
    planned, timeline = response.content.decode().split('id="timeline"', 1)
    assert "Send the contract" not in planned
    assert "Send the contract" in timeline


def test_completing_someone_elses_activity_is_refused(people):
    deal = DealFactory(owner=people["teammate"])
    activity = ActivityFactory(owner=people["teammate"], deal=deal)

    response = hx(
        signed_in(people["rep"]), "post", reverse("activity-complete", args=[activity.pk])
    )

    assert response.status_code == 403
    activity.refresh_from_db()
    assert activity.done_at is None


# --- won, lost, reopen and moves from the page -------------------------------------------------


def test_won_lost_and_moves_from_the_page_reload_it(rep, team_a):
    deal = DealFactory(owner=rep, amount=Decimal("100"))
    client = signed_in(rep)

    moved = hx(
        client,
        "post",
        reverse("deal-move", args=[deal.pk]),
        {"stage": stage_named("Contact").pk, "version": 1, "from": "page"},
    )
    won = hx(client, "post", reverse("deal-won", args=[deal.pk]), {"version": 2, "from": "page"})

    assert moved.status_code == 204
    assert moved["HX-Refresh"] == "true"
    assert won.status_code == 204
    assert won["HX-Refresh"] == "true"
    deal.refresh_from_db()
    assert deal.status == Deal.Status.WON


def test_a_lost_deal_can_be_reopened_in_the_stage_it_was_lost_in(rep, team_a):
    stage = stage_named("Negotiation")
    deal = DealFactory(
        owner=rep, stage=stage, status=Deal.Status.LOST, lost_reason=lost_reason_entry("Price")
    )
    client = signed_in(rep)

    page = client.get(reverse("deal-detail", args=[deal.pk])).content.decode()
    response = hx(client, "post", reverse("deal-reopen", args=[deal.pk]), {"version": 1})
    again = hx(client, "post", reverse("deal-reopen", args=[deal.pk]), {"version": 2})

    assert "Lost in Negotiation" in page
    assert "Reopen" in page
    assert response.status_code == 204
    assert response["HX-Refresh"] == "true"
    deal.refresh_from_db()
    assert deal.status == Deal.Status.OPEN
    assert deal.stage == stage
    assert again.status_code == 400
    assert "Only a lost deal" in again.content.decode()


def test_deal_page_writes_need_the_csrf_token(rep, team_a):
    deal = DealFactory(owner=rep)
    activity = ActivityFactory(owner=rep, deal=deal)
    client = signed_in(rep, enforce_csrf_checks=True)

    for url, data in [
        (reverse("deal-field", args=[deal.pk, "title"]), {"title": "x", "version": 1}),
        (reverse("deal-plan", args=[deal.pk]), {"kind": "call", "subject": "x"}),
        (reverse("deal-log", args=[deal.pk]), {"kind": "call", "subject": "x"}),
        (reverse("deal-reopen", args=[deal.pk]), {}),
        (reverse("activity-complete", args=[activity.pk]), {}),
    ]:
        assert client.post(url, data).status_code == 403
    deal.refresh_from_db()
    assert deal.version == 1
    assert Activity.objects.count() == 1


def test_the_deal_page_query_count_is_bounded(rep, team_a, django_assert_max_num_queries):
    deal = DealFactory(owner=rep)
    for i in range(15):
        ActivityFactory(owner=rep, deal=deal, subject=f"done {i}", done_at=timezone.now())
        ActivityFactory(owner=rep, deal=deal, subject=f"planned {i}")
    client = signed_in(rep)

    with django_assert_max_num_queries(16):
        response = client.get(reverse("deal-detail", args=[deal.pk]))

    assert len(re.findall(r"planned \d+", response.content.decode())) == 15
