"""/settings/scoring/: admins list, add, edit and delete scoring rules (htmx swaps the rules),
see the learned model's AUC and weights and retrain it; everyone else gets 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from contacts.models import Lead, ScoringRule
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def as_admin(client, admin_user):
    client.force_login(admin_user)
    return client


def test_the_page_lists_the_rules_and_says_there_is_no_model_yet(as_admin):
    page = as_admin.get(reverse("scoring-settings")).content.decode()
    assert "Source equals Referral" in page
    assert "Need is set" in page
    assert "No model yet: 0 of the 200" in page


def test_adding_a_rule_swaps_in_the_rules_and_rescores(as_admin, rep):
    lead = LeadFactory(owner=rep, phone="+44 20", source="other")
    answer = as_admin.post(
        reverse("scoring-rule-create"),
        {"new-field": "phone", "new-operator": "contains", "new-value": "+44", "new-points": "7"},
        **HTMX,
    )
    assert answer.status_code == 200
    body = answer.content.decode()
    assert 'id="scoring-rules"' in body
    assert "<html" not in body  # only the rules
    assert "Phone contains +44" in body
    stored = Lead.objects.get(pk=lead.pk)
    assert ("Phone contains +44", 7) in [(p["rule"], p["points"]) for p in stored.score_breakdown]


def test_a_bad_rule_is_refused_with_the_form_error(as_admin):
    answer = as_admin.post(
        reverse("scoring-rule-create"),
        {"new-field": "budget", "new-operator": "gte", "new-value": "lots", "new-points": "7"},
        **HTMX,
    )
    assert answer.status_code == 422
    assert "Give a number." in answer.content.decode()
    assert ScoringRule.objects.count() == 15


def test_editing_and_deleting_a_rule(as_admin, rep):
    rule = ScoringRule.objects.get(field="authority")
    lead = LeadFactory(owner=rep, authority=True)
    form = as_admin.get(reverse("scoring-rule-edit", args=[rule.pk]), **HTMX).content.decode()
    assert 'name="edit-points"' in form
    assert 'value="true"' in form

    answer = as_admin.post(
        reverse("scoring-rule-edit", args=[rule.pk]),
        {"edit-field": "authority", "edit-operator": "equals", "edit-value": "yes",
         "edit-points": "33"},
        **HTMX,
    )  # fmt: skip
    assert answer.status_code == 200
    assert ScoringRule.objects.get(pk=rule.pk).points == 33
    before = Lead.objects.get(pk=lead.pk).score
    as_admin.post(reverse("scoring-rule-delete", args=[rule.pk]), **HTMX)
    assert not ScoringRule.objects.filter(pk=rule.pk).exists()
    assert Lead.objects.get(pk=lead.pk).score == before - 33


def test_the_lead_page_shows_the_rules_it_meets_and_the_learned_score(client, rep):
    client.force_login(rep)
    lead = LeadFactory(owner=rep, source="referral")
    Lead.objects.filter(pk=lead.pk).update(
        learned_score=64, score_breakdown=[{"rule_id": 1, "rule": "Source equals Referral",
                                            "points": 20}]
    )  # fmt: skip
    page = client.get(reverse("lead-detail", args=[lead.pk])).content.decode()
    assert "Source equals Referral" in page
    assert "+20" in page
    assert "<strong>64</strong> / 100" in page


def test_retrain_without_enough_outcomes_says_so(as_admin):
    answer = as_admin.post(reverse("scoring-retrain"), **HTMX)
    assert answer.status_code == 200
    assert "Not enough leads with an outcome yet." in answer["HX-Trigger"]


def test_nobody_but_an_admin_finds_the_page(client, manager):
    client.force_login(manager)
    assert client.get(reverse("scoring-settings")).status_code == 404
    assert client.post(reverse("scoring-retrain")).status_code == 404
