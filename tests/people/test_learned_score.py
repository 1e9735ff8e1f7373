"""The learned lead score (SPEC §9): trained on a generated history whose true relation is
known, it ranks held-out leads far better than chance with weights of the right signs; below
`LEARNED_SCORE_MIN_OUTCOMES` there is no model and the API says so."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from contacts.models import Lead, ScoringModel
from deals.models import Deal
from people.learned_scoring import auc, leads_with_outcome, train_scoring_model
from people.tasks import train_lead_scoring_model
from tests.factories import DealFactory, LeadFactory

pytestmark = pytest.mark.django_db


def _history(owner, count: int, *, seed: int = 7) -> None:
    """Leads whose chance of being won rises with a decision maker, a budget and a referral
    and falls for cold calls; won ones get a won deal, the rest a lost deal or disqualified."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible history, not a secret
    leads = []
    for _ in range(count):
        authority = rng.random() < 0.5
        source = rng.choice(["referral", "cold_call", "web_form", "event"])
        budget = rng.choice([None, Decimal("500"), Decimal("50000")])
        logit = -1.0 + 2.2 * authority + (1.5 if budget and budget > 1000 else 0)
        logit += {"referral": 1.2, "cold_call": -1.5}.get(source, 0)
        won = rng.random() < 1 / (1 + 2.718281828**-logit)
        lost_how = rng.choice(["deal", "disqualified"])
        status = "disqualified" if not won and lost_how == "disqualified" else "qualified"
        leads.append(
            LeadFactory.build(
                owner=owner, authority=authority, source=source, budget=budget, status=status
            )
        )
        leads[-1].won = won
    Lead.objects.bulk_create(leads)
    for lead in leads:
        if lead.won or lead.status != "disqualified":
            status = Deal.Status.WON if lead.won else Deal.Status.LOST
            DealFactory(owner=owner, lead=lead, status=status)


def test_below_the_minimum_of_outcomes_there_is_no_model_and_the_api_says_so(
    rep, api_for, settings
):
    _history(rep, 30)
    LeadFactory(owner=rep)  # no outcome yet
    DealFactory(owner=rep, lead=LeadFactory(owner=rep))  # its deal still open: no outcome

    assert leads_with_outcome().count() == 30
    assert train_lead_scoring_model() is None
    assert not ScoringModel.objects.exists()
    body = api_for(rep).get("/api/leads/scoring-model/").json()
    assert body["trained_at"] is None
    assert body["auc"] is None
    assert body["features"] == []
    assert body["samples"] == 30
    assert "30 of the 200" in body["detail"]
    assert Lead.objects.filter(learned_score__isnull=False).count() == 0


def test_the_model_learns_a_known_relation_and_ranks_better_than_chance(rep, api_for, settings):
    settings.LEARNED_SCORE_MIN_OUTCOMES = 200
    _history(rep, 600)

    model = train_scoring_model()

    assert model is not None
    assert model.samples == 600
    print(f"held-out AUC {model.auc:.3f}")  # the figure the README quotes (pytest -s)
    assert model.auc is not None
    assert model.auc > 0.7, model.auc
    weights = {f["name"]: f["weight"] for f in model.features}
    assert weights["decision maker"] > 0
    assert weights["source=referral"] > 0
    assert weights["source=cold_call"] < 0
    assert weights["budget (log10)"] > 0
    body = api_for(rep).get("/api/leads/scoring-model/").json()
    assert body["samples"] == 600
    assert body["auc"] == pytest.approx(model.auc)
    assert body["features"][0]["name"] in weights  # strongest first
    assert abs(body["features"][0]["weight"]) >= abs(body["features"][-1]["weight"])
    # Every lead has a learned score beside its rule score, higher for a better-looking lead.
    assert Lead.objects.filter(learned_score__isnull=True).count() == 0
    best = Lead.objects.filter(authority=True, source="referral", budget=50000).first()
    worst = Lead.objects.filter(authority=False, source="cold_call", budget=None).first()
    assert best.learned_score > 70 > 30 > worst.learned_score
    lead = api_for(rep).get(f"/api/leads/{best.pk}/").json()
    assert lead["learned_score"] == best.learned_score


def test_auc_counts_ties_as_half():
    import numpy as np

    assert auc(np.array([1.0, 0.0]), np.array([0.9, 0.1])) == 1.0
    assert auc(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == 0.5
    assert auc(np.array([0.0, 0.0]), np.array([0.5, 0.5])) is None
