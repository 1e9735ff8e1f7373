"""Lead scoring rules (SPEC §9): the rules migrated from the old table, their points in the score
and breakdown, rescoring when a rule is saved (in the request, or by Celery tasks over id
ranges), the checks on field, operator and value, and who may change them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from contacts import listeners, services
from contacts.models import Lead, ScoringRule
from contacts.scoring import rescore_leads, score_with
from contacts.tasks import rescore_lead_range
from pipeline_crm.errors import DomainError, NotAllowed
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def _rule(admin_user, **fields):
    return services.save_scoring_rule(by=admin_user, fields=fields)


def test_the_migrated_rules_score_leads_as_the_old_table_did(rep):
    bare = services.create_record(Lead, by=rep, fields={"first_name": "Cold", "source": "import"})
    far = services.create_record(
        Lead,
        by=rep,
        fields={
            "first_name": "Later",
            "source": "event",
            "budget": Decimal("500"),
            "timeline": timezone.localdate() + dt.timedelta(days=120),
            "phone": "+1 555",
        },
    )
    past = services.create_record(
        Lead,
        by=rep,
        fields={
            "first_name": "Late",
            "source": "web_form",
            "timeline": timezone.localdate() - dt.timedelta(days=1),
        },
    )

    assert ScoringRule.objects.count() == 15
    assert bare.score == 2  # source "import"
    assert far.score == 12 + 10 + 5 + 10  # event, a budget under 10,000, timeline > 90 days, phone
    assert past.score == 15  # a timeline already past gives nothing


def test_a_rules_points_appear_in_the_breakdown_and_the_score(rep, admin_user):
    ScoringRule.objects.all().delete()
    rule = _rule(admin_user, field="company_name", operator="contains", value="acme", points=30)
    lead = services.create_record(
        Lead, by=rep, fields={"first_name": "A", "company_name": "ACME Europe"}
    )
    other = services.create_record(Lead, by=rep, fields={"first_name": "B", "company_name": "Z"})

    assert lead.score == 30
    assert lead.score_breakdown == [
        {"rule_id": rule.pk, "rule": "Company contains acme", "points": 30}
    ]
    assert other.score == 0
    assert other.score_breakdown == []


def test_saving_a_rule_rescores_every_lead_in_the_request(rep, admin_user):
    ScoringRule.objects.all().delete()
    leads = [LeadFactory(owner=rep, source=source) for source in ("referral", "event", "social")]

    rule = _rule(admin_user, field="source", operator="in", value=["referral", "event"], points=40)

    scores = {lead.source: Lead.objects.get(pk=lead.pk).score for lead in leads}
    assert scores == {"referral": 40, "event": 40, "social": 0}
    services.save_scoring_rule(
        by=admin_user,
        rule=rule,
        fields={"field": "source", "operator": "equals", "value": "social", "points": 25},
    )
    scores = {lead.source: Lead.objects.get(pk=lead.pk).score for lead in leads}
    assert scores == {"referral": 0, "event": 0, "social": 25}
    services.delete_scoring_rule(by=admin_user, rule=rule)
    assert {Lead.objects.get(pk=lead.pk).score for lead in leads} == {0}


def test_many_leads_are_rescored_by_celery_tasks_over_id_ranges(
    rep, admin_user, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.SCORING_RESCORE_INLINE_MAX = 2
    ScoringRule.objects.all().delete()
    leads = [LeadFactory(owner=rep, authority=True) for _ in range(3)]
    queued: list[tuple[int, int]] = []
    monkeypatch.setattr(
        listeners.rescore_lead_range, "delay_on_commit", lambda *ids: queued.append(ids)
    )

    with django_capture_on_commit_callbacks(execute=True):
        _rule(admin_user, field="authority", operator="equals", value=True, points=50)

    assert {Lead.objects.get(pk=lead.pk).score for lead in leads} == {0}  # not in the request
    assert queued
    assert queued[0][0] <= leads[0].pk
    for first, last in queued:
        rescore_lead_range(first, last)
        rescore_lead_range(first, last)  # idempotent: the same rules give the same scores
    assert {Lead.objects.get(pk=lead.pk).score for lead in leads} == {50}


def test_sql_and_python_agree_on_every_operator(rep, admin_user):
    ScoringRule.objects.all().delete()
    today = timezone.localdate()
    rules = [
        _rule(admin_user, field="need", operator="is_set", value=None, points=3),
        _rule(admin_user, field="email", operator="equals", value="A@X.EXAMPLE", points=5),
        _rule(admin_user, field="last_name", operator="in", value="smith, jones", points=7),
        _rule(admin_user, field="budget", operator="gte", value="1000", points=11),
        _rule(admin_user, field="budget", operator="lte", value=50, points=13),
        _rule(admin_user, field="timeline_days", operator="lte", value=10, points=17),
        _rule(admin_user, field="contactable", operator="equals", value=False, points=19),
        _rule(admin_user, field="status", operator="equals", value="working", points=-2),
    ]
    leads = [
        LeadFactory(owner=rep, need="x", email="a@x.example", last_name="Smith", budget=5000),
        # A last name of its own: the factory's random one may be Smith (the "in" rule's).
        LeadFactory(owner=rep, last_name="Okafor", email="", phone="", budget=20, status="working"),
        LeadFactory(owner=rep, last_name="JONES", timeline=today + dt.timedelta(days=3)),
        LeadFactory(owner=rep, budget=None, timeline=today + dt.timedelta(days=30)),
    ]

    rescore_leads(Lead.objects.all())

    for lead in leads:
        stored = Lead.objects.get(pk=lead.pk)
        assert (stored.score, stored.score_breakdown) == score_with(stored, rules, today=today)
    assert Lead.objects.get(pk=leads[0].pk).score == 3 + 5 + 7 + 11
    assert Lead.objects.get(pk=leads[1].pk).score == 13 + 19 - 2


def test_the_score_stays_between_0_and_100(rep, admin_user):
    ScoringRule.objects.all().delete()
    _rule(admin_user, field="authority", operator="equals", value=True, points=100)
    _rule(admin_user, field="source", operator="is_set", value=None, points=60)
    _rule(admin_user, field="authority", operator="equals", value=False, points=-100)
    high, low = LeadFactory(owner=rep, authority=True), LeadFactory(owner=rep, authority=False)

    rescore_leads(Lead.objects.all())

    assert Lead.objects.get(pk=high.pk).score == 100
    assert Lead.objects.get(pk=low.pk).score == 0


@pytest.mark.parametrize(
    ("fields", "at_fault"),
    [
        ({"field": "shoe_size", "operator": "equals", "value": 1}, "field"),
        ({"field": "authority", "operator": "contains", "value": "x"}, "operator"),
        ({"field": "budget", "operator": "gte", "value": "lots"}, "value"),
        ({"field": "source", "operator": "equals", "value": "carrier_pigeon"}, "value"),
        ({"field": "source", "operator": "in", "value": []}, "value"),
        ({"field": "timeline_days", "operator": "lte", "value": 1.5}, "value"),
        ({"field": "authority", "operator": "equals", "value": "maybe"}, "value"),
        ({"field": "need", "operator": "equals", "value": ""}, "value"),
        ({"field": "need", "operator": "is_set", "value": None, "points": 500}, "points"),
    ],
)
def test_a_rule_that_makes_no_sense_is_refused_with_the_field_at_fault(
    admin_user, fields, at_fault
):
    with pytest.raises(DomainError) as refused:
        services.save_scoring_rule(by=admin_user, fields={"points": 5, **fields})
    assert refused.value.field == at_fault


def test_only_admins_change_the_rules(manager):
    with pytest.raises(NotAllowed):
        services.save_scoring_rule(
            by=manager, fields={"field": "need", "operator": "is_set", "points": 5}
        )
    rule = ScoringRule.objects.first()
    with pytest.raises(NotAllowed):
        services.delete_scoring_rule(by=manager, rule=rule)
    assert ScoringRule.objects.filter(pk=rule.pk).exists()
