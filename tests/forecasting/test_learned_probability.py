"""One learned probability per deal, whoever looks: the pipeline's rate per stage, a team's
shrunk toward it and a rep's toward their team's (`forecasting.analytics.learning`)."""

import pytest

from forecasting.analytics.learning import DEFAULT_STRENGTH, learn_model
from tests.factories import stage_named
from tests.forecasting.conftest import closed_deals_through

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
