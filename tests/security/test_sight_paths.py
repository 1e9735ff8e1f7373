"""Ids that reach the server outside the URL's path (filters, anchors, ids in bodies) answer
for a record out of sight exactly as for one that does not exist (issue 11, point 3).

`outsider` (team B) owns the hidden records; `rep` (team A) asks about them, then about an id
nobody owns, and must not be able to tell the two apart.
"""

import difflib
import json
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from deals.models import Deal
from deals.services import delete_deal
from forecasting.models import Quota
from tests.clients import signed_in
from tests.factories import (
    ActivityFactory,
    DealFactory,
    LeadFactory,
    lost_for,
    stage_named,
)

pytestmark = pytest.mark.django_db

MISSING = 987_654_321
# Per-response noise: CSRF tokens are masked afresh each time.
CSRF = re.compile(r'(csrf[-_a-z]*"?\s*(?:value|content)="|"X-CSRFToken": ")[^"]*"', re.IGNORECASE)


@pytest.fixture
def hidden(people):
    """Records of outsider's (team B) that rep (team A) does not see."""
    outsider = people["outsider"]
    deal = DealFactory(owner=outsider, title="Hidden deal")
    lead = LeadFactory(owner=outsider)
    return {
        "deal": deal,
        "lead": lead,
        "activity": ActivityFactory(owner=outsider, deal=deal),
        "lead_activity": ActivityFactory(owner=outsider, lead=lead),
    }


def _normalised(response, ids):
    """Status and body, with CSRF tokens blanked and either id, where echoed (an attribute's
    value, a query parameter), written ID in both answers alike."""
    body = CSRF.sub(r"\1…", response.content.decode())
    for record_id in ids:
        body = re.sub(rf"(?<=[=\">]){record_id}(?=[\"&<])", "ID", body)
    return response.status_code, body


def assert_same_answer(send, hidden_id):
    """`send(id)` answers the hidden id as it answers an id that does not exist."""
    ids = (hidden_id, MISSING)
    seen, missing = _normalised(send(hidden_id), ids), _normalised(send(MISSING), ids)
    diff = difflib.unified_diff(missing[1].splitlines(), seen[1].splitlines(), lineterm="", n=1)
    assert seen == missing, "\n".join(diff)


# --- filters on pages and the API -------------------------------------------------------------

PAGE_FILTERS = [
    ("/deals/?owner={id}", "outsider"),
    ("/deals/?owner={id}&status=all", "outsider"),
    ("/board/?owner={id}", "outsider"),
    ("/leads/?owner={id}", "outsider"),
    ("/forecast/?team={id}", "team_b"),
    ("/forecast/?owner={id}", "outsider"),
    ("/forecast/export/forecast.csv?owner={id}", "outsider"),
]
API_FILTERS = [
    ("/api/deals/?owner={id}", "outsider"),
    ("/api/leads/?owner={id}", "outsider"),
    ("/api/activities/?deal={id}", "deal"),
    ("/api/activities/?lead={id}", "lead"),
    ("/api/activities/?owner={id}", "outsider"),
    ("/api/quotas/?user={id}", "outsider"),
    ("/api/forecast/?team={id}", "team_b"),
    ("/api/forecast/?owner={id}", "outsider"),
    ("/api/analytics/funnel/?team={id}", "team_b"),
]


def _target(name, people, hidden, team_b):
    if name == "team_b":
        return team_b.pk
    return people[name].pk if name in people else hidden[name].pk


@pytest.mark.parametrize(("url", "target"), PAGE_FILTERS + API_FILTERS)
def test_a_filter_on_an_id_out_of_sight_answers_as_for_a_missing_id(
    url, target, people, hidden, team_b, api_for
):
    client = api_for(people["rep"]) if url.startswith("/api/") else signed_in(people["rep"])
    assert_same_answer(
        lambda pk: client.get(url.format(id=pk)), _target(target, people, hidden, team_b)
    )


# --- ids in request bodies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field", "target", "extra"),
    [
        ("/api/deals/", "lead", "lead", {"title": "Mine"}),
        ("/api/activities/", "deal", "deal", {"kind": "call", "subject": "Call"}),
        ("/api/activities/", "lead", "lead", {"kind": "call", "subject": "Call"}),
    ],
)
def test_an_id_out_of_sight_in_a_body_is_a_field_error_like_a_missing_one(
    path, field, target, extra, people, hidden, api_for
):
    client = api_for(people["rep"])
    answers = [
        client.post(path, {**extra, field: pk}, format="json")
        for pk in (hidden[target].pk, MISSING)
    ]
    assert [a.status_code for a in answers] == [400, 400]
    hidden_error, missing_error = (a.json()[field] for a in answers)
    assert hidden_error == [m.replace(str(MISSING), str(hidden[target].pk)) for m in missing_error]


def test_a_drop_under_a_card_out_of_sight_is_refused_like_one_under_a_missing_card(people, hidden):
    rep = people["rep"]
    mine = DealFactory(owner=rep)
    stage = hidden["deal"].stage
    client = signed_in(rep)

    def drop(after):
        mine.refresh_from_db()
        return client.post(
            f"/deals/{mine.pk}/move/",
            {"stage": stage.pk, "version": mine.version, "after": after},
            HTTP_HX_REQUEST="true",
        )

    assert_same_answer(drop, hidden["deal"].pk)


def test_a_bulk_action_naming_a_deal_out_of_sight_is_refused_like_a_missing_one(people, hidden):
    client = signed_in(people["rep"])
    mine = DealFactory(owner=people["rep"])

    def bulk(pk):
        return client.post(
            "/deals/bulk/",
            {
                "action": "lost",
                **lost_for("No budget"),
                "ids": [mine.pk, pk],
            },
            HTTP_HX_REQUEST="true",
        )

    assert_same_answer(bulk, hidden["deal"].pk)
    assert Deal.objects.get(pk=mine.pk).status == Deal.Status.OPEN


def test_restoring_a_deal_someone_else_deleted_answers_as_for_a_missing_one(people, hidden):
    outsider = people["outsider"]
    entry = delete_deal(deal=hidden["deal"], by=outsider)
    client = signed_in(people["rep"])
    assert_same_answer(
        lambda pk: client.post("/deals/trash/restore/", {"ids": [pk]}, HTTP_HX_REQUEST="true"),
        entry.pk,
    )


def test_completing_an_activity_out_of_sight_answers_as_for_a_missing_one(people, hidden):
    client = signed_in(people["rep"])
    assert_same_answer(lambda pk: client.post(f"/activities/{pk}/complete/"), hidden["activity"].pk)


def test_an_activity_of_a_lead_out_of_sight_is_not_done_through_a_lead_in_sight(people, hidden):
    mine = LeadFactory(owner=people["rep"])
    client = signed_in(people["rep"])
    assert_same_answer(
        lambda pk: client.post(f"/leads/{mine.pk}/activities/{pk}/done/"),
        hidden["lead_activity"].pk,
    )


def test_a_deal_moved_through_the_api_names_no_hidden_stage_neighbours(people, hidden, api_for):
    """The API's `position` counts only the deals the caller sees."""
    rep = people["rep"]
    mine = DealFactory(owner=rep)
    target = stage_named("Qualification")
    DealFactory(owner=people["outsider"], stage=target)
    moved = api_for(rep).post(
        f"/api/deals/{mine.pk}/move/",
        {"stage": target.pk, "version": mine.version, "position": 1},
        format="json",
    )
    assert moved.status_code == 200


# --- activities shown with a deal ---------------------------------------------------------------


@pytest.fixture
def deal_with_an_outsiders_activities(people):
    """rep's deal carrying activities outsider logged and planned on it (the deal was
    outsider's, then handed to rep): outsider's records, which team A does not read."""
    deal = DealFactory(owner=people["rep"], title="Handed over")
    ActivityFactory(owner=people["outsider"], deal=deal, subject="Outsider's call notes")
    ActivityFactory(owner=people["outsider"], deal=deal, subject="Outsider's done call")
    deal.activities.filter(subject="Outsider's done call").update(done_at=deal.created_at)
    return deal


@pytest.mark.parametrize("viewer", ["rep", "teammate", "manager"])
def test_the_deal_page_shows_no_activity_out_of_sight(
    viewer, people, deal_with_an_outsiders_activities, api_for
):
    deal = deal_with_an_outsiders_activities
    page = signed_in(people[viewer]).get(f"/deals/{deal.pk}/")
    assert page.status_code == 200
    assert "Outsider&#x27;s" not in page.content.decode()
    listed = api_for(people[viewer]).get(f"/api/activities/?deal={deal.pk}").json()
    assert listed["count"] == 0


def test_a_board_card_names_no_next_step_out_of_sight(people, deal_with_an_outsiders_activities):
    page = signed_in(people["rep"]).get("/board/")
    assert "Handed over" in page.content.decode()
    assert "Outsider&#x27;s" not in page.content.decode()


def test_the_admin_sees_every_activity_of_the_deal(people, deal_with_an_outsiders_activities):
    page = signed_in(people["admin"]).get(f"/deals/{deal_with_an_outsiders_activities.pk}/")
    assert "Outsider&#x27;s call notes" in page.content.decode()
    assert "Outsider&#x27;s done call" in page.content.decode()


# --- quotas in the forecast -----------------------------------------------------------------------


@pytest.fixture
def teammates_quota(people):
    """A quota of teammate's: a rep reads their own and their team's, not a teammate's."""
    return Quota.objects.create(
        user=people["teammate"],
        period="month",
        period_start=timezone.localdate().replace(day=1),
        amount=Decimal("7777.00"),
    )


def test_a_rep_does_not_read_a_teammates_quota_through_the_forecast(
    people, teammates_quota, api_for
):
    rep, teammate = people["rep"], people["teammate"]
    DealFactory(owner=teammate)
    client = api_for(rep)
    assert client.get(f"/api/quotas/{teammates_quota.pk}/").status_code == 404
    forecast = client.get(f"/api/forecast/?owner={teammate.pk}").json()
    assert "7777" not in json.dumps(forecast)
    page = signed_in(rep).get(f"/forecast/?owner={teammate.pk}")
    assert "7,777" not in page.content.decode()
    reps = signed_in(rep).get("/forecast/panel/reps/?owner=")
    assert "7,777" not in reps.content.decode()


def test_a_manager_reads_the_quota_of_a_member_through_the_forecast(
    people, teammates_quota, api_for
):
    DealFactory(owner=people["teammate"])
    forecast = api_for(people["manager"]).get(f"/api/forecast/?owner={people['teammate'].pk}")
    assert "7777" in json.dumps(forecast.json())


def test_an_activity_on_a_lead_given_to_another_team_leaves_its_owners_sight(people, api_for):
    """As an activity on a deal does: the lead's owner rule applies through the link."""
    rep = people["rep"]
    lead = LeadFactory(owner=rep)
    activity = ActivityFactory(owner=rep, lead=lead, subject="Call the lead")
    client = api_for(rep)
    assert client.get(f"/api/activities/{activity.pk}/").status_code == 200
    lead.owner = people["outsider"]
    lead.save(update_fields=["owner"])
    assert client.get(f"/api/activities/{activity.pk}/").status_code == 404
    assert client.get("/api/activities/").json()["count"] == 0
    assert api_for(people["outsider"]).get(f"/api/activities/{activity.pk}/").status_code == 404
    assert api_for(people["admin"]).get(f"/api/activities/{activity.pk}/").status_code == 200
