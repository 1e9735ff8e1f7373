"""One learned probability per deal, whoever looks: the pipeline's rate per stage, a team's
shrunk toward it and a rep's toward their team's (`forecasting.analytics.learning`)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from forecasting import analytics
from forecasting.analytics.learning import DEFAULT_STRENGTH, learn_model
from tests.factories import stage_named
from tests.forecasting.conftest import closed_deals_through, make_deal

pytestmark = pytest.mark.django_db


def _strength(groups):
    """The method-of-moments strength, by hand: ρ = (Σ n(p̂ − m)²/(m(1 − m)) − G)/Σ(n − 1)."""
    score = sum(n * (w / n - m) ** 2 / (m * (1 - m)) for n, w, m in groups)
    rho = (score - len(groups)) / sum(n - 1 for n, _, _ in groups)
    return 1 / rho - 1


def test_a_team_with_few_closed_deals_lies_between_its_rate_and_the_pipelines(people):
    rep, outsider = people["rep"], people["outsider"]
    closed_deals_through(rep, "Proposal", won=3, lost=1)  # team A: 3 of 4
    closed_deals_through(outsider, "Proposal", won=4, lost=16)  # team B: 4 of 20
    model = learn_model()
    proposal = stage_named("Proposal").pk
    pipeline = 7 / 24
    assert model.probability(stage_id=proposal, owner_id=None) == pytest.approx(pipeline)
    assert model.behind(stage_id=proposal, owner_id=None) == 24
    k = _strength([(4, 3, pipeline), (20, 4, pipeline)])
    assert k == pytest.approx(6.637, abs=0.001)
    team_a = (3 + k * pipeline) / (4 + k)
    assert team_a == pytest.approx(0.4640, abs=0.0001)
    teammate = people["teammate"]  # no closed deal of their own: their team's figure
    assert model.probability(stage_id=proposal, owner_id=teammate.pk) == pytest.approx(team_a)
    own = model.probability(stage_id=proposal, owner_id=rep.pk)
    assert team_a < own < 3 / 4
    assert model.behind(stage_id=proposal, owner_id=rep.pk) == 4


def test_a_stage_nobody_closed_a_deal_through_keeps_its_configured_probability(people):
    closed_deals_through(people["rep"], "Proposal", won=1, lost=1)
    model = learn_model()
    negotiation = stage_named("Negotiation")
    assert model.probability(stage_id=negotiation.pk, owner_id=people["rep"].pk) == pytest.approx(
        negotiation.probability / 100
    )
    assert model.behind(stage_id=negotiation.pk, owner_id=None) == 0


def test_with_one_team_the_default_strength_pulls_toward_the_pipeline(people):
    rep = people["rep"]
    closed_deals_through(rep, "Proposal", won=1, lost=0)
    closed_deals_through(people["teammate"], "Proposal", won=0, lost=1)
    model = learn_model()
    proposal = stage_named("Proposal").pk
    # One team group: nothing to estimate its spread from; it is the pipeline (1 of 2).
    team = (1 + DEFAULT_STRENGTH * 0.5) / (2 + DEFAULT_STRENGTH)
    assert team == pytest.approx(0.5)
    assert 0.5 < model.probability(stage_id=proposal, owner_id=rep.pk) < 1


def _learned_weighted(client, user, owner, month):
    client.force_login(user)
    query = f"probabilities=learned&owner={owner.pk}&since={month}-01&until={month}-28"
    body = client.get(f"/api/forecast/?{query}").json()
    return body["periods"][0]["weighted"]


def test_the_same_deal_shows_the_same_learned_probability_to_everyone(client, people):
    rep, outsider = people["rep"], people["outsider"]
    closed_deals_through(rep, "Proposal", won=3, lost=1)
    closed_deals_through(outsider, "Proposal", won=4, lost=16)  # not visible to the rep
    today = timezone.localdate()
    month = f"{today.year}-{today.month:02d}"
    make_deal(rep, "Proposal", amount="1000.00", close=f"{month}-28")
    make_deal(rep, "Proposal", amount="500.00", close=f"{month}-28", probability_override=90)
    percent = learn_model().percent(stage_id=stage_named("Proposal").pk, owner_id=rep.pk)
    # Learned from every closed deal (not only the viewer's), with no timing history: the
    # whole weighted amount in the expected month; the override still wins.
    expected = analytics.money(Decimal(1000) * percent / 100 + Decimal(450))
    seen = {
        who: _learned_weighted(client, people[who], rep, month)
        for who in ("rep", "manager", "admin")
    }
    assert seen == {"rep": str(expected), "manager": str(expected), "admin": str(expected)}


def test_the_learned_forecast_takes_the_same_queries_for_more_deals(
    client, people, django_assert_max_num_queries
):
    rep = people["rep"]
    closed_deals_through(rep, "Proposal", won=2, lost=2)
    client.force_login(people["manager"])
    url = "/api/forecast/?probabilities=learned"
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for i in range(30):
        make_deal(rep if i % 2 else people["teammate"], "Proposal", close="2026-12-20")
    closed_deals_through(people["outsider"], "Negotiation", won=5, lost=5)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
