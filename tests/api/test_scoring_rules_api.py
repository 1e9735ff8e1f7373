"""/api/scoring-rules/ (everyone reads, admins write; bad rules 400 with the field at fault) and
the breakdown and learned score on /api/leads/."""

from __future__ import annotations

import pytest

from contacts.models import Lead, ScoringRule
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_an_admin_adds_a_rule_and_every_lead_is_rescored(admin_user, rep, api_for):
    ScoringRule.objects.all().delete()
    lead = LeadFactory(owner=rep, company_name="Acme Labs")

    answer = api_for(admin_user).post(
        "/api/scoring-rules/",
        {"field": "company_name", "operator": "contains", "value": "acme", "points": 35},
        format="json",
    )

    assert answer.status_code == 201, answer.json()
    rule = answer.json()
    assert rule == {
        "id": rule["id"],
        "field": "company_name",
        "operator": "contains",
        "value": "acme",
        "points": 35,
        "description": "Company contains acme",
    }
    body = api_for(rep).get(f"/api/leads/{lead.pk}/").json()
    assert body["score"] == 35
    assert body["score_breakdown"] == [
        {"rule_id": rule["id"], "rule": "Company contains acme", "points": 35}
    ]
    assert body["learned_score"] is None  # no model trained yet


def test_changing_and_deleting_a_rule_rescores(admin_user, rep, api_for):
    ScoringRule.objects.all().delete()
    lead = LeadFactory(owner=rep, authority=True)
    client = api_for(admin_user)
    rule = client.post(
        "/api/scoring-rules/",
        {"field": "authority", "operator": "equals", "value": True, "points": 40},
        format="json",
    ).json()

    assert client.patch(f"/api/scoring-rules/{rule['id']}/", {"points": 15}).status_code == 200
    assert Lead.objects.get(pk=lead.pk).score == 15
    assert client.delete(f"/api/scoring-rules/{rule['id']}/").status_code == 204
    assert Lead.objects.get(pk=lead.pk).score == 0


@pytest.mark.parametrize(
    ("body", "at_fault"),
    [
        ({"field": "nope", "operator": "equals", "value": 1, "points": 5}, "field"),
        ({"field": "budget", "operator": "contains", "value": "1", "points": 5}, "operator"),
        ({"field": "budget", "operator": "gte", "value": "much", "points": 5}, "value"),
        ({"field": "source", "operator": "in", "value": ["referral", "x"], "points": 5}, "value"),
        ({"field": "need", "operator": "is_set", "points": 101}, "points"),
    ],
)
def test_a_bad_rule_is_a_400_naming_the_field(admin_user, api_for, body, at_fault):
    answer = api_for(admin_user).post("/api/scoring-rules/", body, format="json")
    assert answer.status_code == 400
    assert at_fault in answer.json()
    assert ScoringRule.objects.count() == 15  # the migrated ones, nothing added


def test_everyone_reads_the_rules_only_admins_write_them(rep, manager, api_for):
    assert len(api_for(rep).get("/api/scoring-rules/").json()["results"]) == 15
    body = {"field": "need", "operator": "is_set", "points": 5}
    assert api_for(manager).post("/api/scoring-rules/", body, format="json").status_code == 403
    rule = ScoringRule.objects.first()
    assert api_for(rep).delete(f"/api/scoring-rules/{rule.pk}/").status_code == 403
    assert ScoringRule.objects.count() == 15
