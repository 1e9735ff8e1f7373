"""Who may win, lose, reopen and read the history of a deal through the API (SPEC §4, §8).

The deal belongs to `rep`: a teammate sees it but may not change it (403), someone outside the
team does not see it at all (404, never 403), the team's manager may; a refusal changes nothing.
"""

import pytest

from deals import services
from deals.models import Deal, FieldChange, StageChange
from tests.factories import DealFactory, lost_reason_entry, stage_named

pytestmark = pytest.mark.django_db

# The deal starts at version 3; for reopen it is lost first (version 4).
ACTIONS = {
    "won": {"version": 3},
    "lost": {"reason": "Went quiet", "version": 3},
    "reopen": {"version": 4},
}


def _deal_for(action, owner):
    lost_reason_entry("Went quiet")  # "lost" names it (the older free-text way)
    deal = DealFactory(owner=owner, stage=stage_named("Proposal"), version=3)
    if action == "reopen":
        deal = services.mark_lost(deal=deal, by=owner, reason=lost_reason_entry("Budget cut"))
    return deal


def _stored(deal):
    row = Deal.objects.get(pk=deal.pk)
    moves = StageChange.objects.filter(deal=deal).count()
    changes = FieldChange.objects.filter(deal=deal).count()
    return (row.status, row.stage_id, row.version, row.lost_reason, row.won_at, moves, changes)


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize(
    ("who", "expected"), [("teammate", 403), ("outsider", 404), ("other_manager", 404)]
)
def test_won_lost_and_reopen_are_refused_to_those_who_may_not_change_the_deal(
    people, api_for, action, who, expected
):
    deal = _deal_for(action, people["rep"])
    before = _stored(deal)

    response = api_for(people[who]).post(f"/api/deals/{deal.pk}/{action}/", ACTIONS[action])

    assert response.status_code == expected, response.content
    assert "detail" in response.json()
    if expected == 404:
        assert deal.title not in response.content.decode()  # nothing about the deal leaks
    assert _stored(deal) == before


@pytest.mark.parametrize("action", list(ACTIONS))
def test_the_owner_and_the_teams_manager_may_win_lose_and_reopen(people, api_for, action):
    expected_status = {"won": "won", "lost": "lost", "reopen": "open"}[action]
    for who in ("rep", "manager"):
        deal = _deal_for(action, people["rep"])
        response = api_for(people[who]).post(f"/api/deals/{deal.pk}/{action}/", ACTIONS[action])
        assert response.status_code == 200, (who, response.content)
        assert Deal.objects.get(pk=deal.pk).status == expected_status


@pytest.mark.parametrize("action", list(ACTIONS))
def test_won_lost_and_reopen_with_a_stale_version_are_a_409_with_the_current_deal(
    rep, team_a, api_for, action
):
    deal = _deal_for(action, rep)
    before = _stored(deal)
    stale = {**ACTIONS[action], "version": ACTIONS[action]["version"] - 1}

    response = api_for(rep).post(f"/api/deals/{deal.pk}/{action}/", stale)

    assert response.status_code == 409, response.content
    assert response.json()["deal"]["version"] == before[2]
    assert _stored(deal) == before


def test_a_teammate_reads_the_history_and_an_outsider_gets_a_404(people, api_for):
    deal = DealFactory(owner=people["rep"])
    services.move_deal(deal=deal, by=people["rep"], stage=stage_named("Contact"), version=1)

    seen = api_for(people["teammate"]).get(f"/api/deals/{deal.pk}/history/")
    assert seen.status_code == 200
    assert [entry["to_stage"] for entry in seen.json()] == [stage_named("Contact").pk]

    for who in ("outsider", "other_manager"):
        hidden = api_for(people[who]).get(f"/api/deals/{deal.pk}/history/")
        assert hidden.status_code == 404, who
