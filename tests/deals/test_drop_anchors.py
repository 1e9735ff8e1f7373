"""A drop places the deal next to the card it landed under (or, at the top, above): one indexed
statement whatever the column's size, and only next to a card the mover can see there."""

from itertools import pairwise

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deals import services
from deals.models import Deal, StageChange
from deals.services.positions import POSITION_GAP, RESPACE_REACH
from pipeline_crm.errors import DomainError
from tests.clients import htmx_post, signed_in
from tests.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db


def column_titles(stage):
    return list(
        Deal.objects.filter(stage=stage).order_by("position", "id").values_list("title", flat=True)
    )


def stored(deal):
    return Deal.objects.filter(pk=deal.pk).values("stage_id", "position", "version").get()


def cards(stage, owner, titles, *, start=POSITION_GAP, step=POSITION_GAP):
    return [
        DealFactory(owner=owner, stage=stage, title=title, position=start + i * step)
        for i, title in enumerate(titles)
    ]


def drop(user, deal, stage, **neighbours):
    return htmx_post(
        signed_in(user),
        reverse("deal-move", args=[deal.pk]),
        {"stage": stage.pk, "version": deal.version, **neighbours},
    )


# --- where the deal lands -------------------------------------------------------------------


def test_a_drop_between_two_cards_lands_between_them(rep, team_a):
    contact = stage_named("Contact")
    first, _second, _third = cards(contact, rep, ["first", "second", "third"])
    moving = DealFactory(owner=rep, title="moved")

    response = drop(rep, moving, contact, after=first.pk)

    assert response.status_code == 200
    assert column_titles(contact) == ["first", "moved", "second", "third"]
    assert stored(moving)["position"] == POSITION_GAP + POSITION_GAP // 2


def test_a_drop_under_the_last_card_lands_at_the_bottom(rep, team_a):
    contact = stage_named("Contact")
    *_, last = cards(contact, rep, ["first", "second", "last"])
    moving = DealFactory(owner=rep, title="moved")

    drop(rep, moving, contact, after=last.pk)

    assert column_titles(contact) == ["first", "second", "last", "moved"]


def test_a_drop_at_the_top_of_another_column_lands_above_its_first_card(rep, team_a):
    contact = stage_named("Contact")
    first, _ = cards(contact, rep, ["first", "second"])
    moving = DealFactory(owner=rep, title="moved")

    drop(rep, moving, contact, after="", before=first.pk)

    assert column_titles(contact) == ["moved", "first", "second"]


def test_a_drop_at_the_top_of_its_own_column_moves_the_card_first(rep, team_a):
    stage = stage_named("Prospecting")
    first, _second, third = cards(stage, rep, ["first", "second", "third"])

    response = drop(rep, third, stage, after="", before=first.pk)

    assert response.status_code == 200
    assert column_titles(stage) == ["third", "first", "second"]
    assert not StageChange.objects.exists()


def test_a_move_within_its_column_without_a_neighbour_keeps_the_card_where_it_is(rep, team_a):
    stage = stage_named("Prospecting")
    _first, second, _third = cards(stage, rep, ["first", "second", "third"])

    moved = services.move_deal(deal=second, by=rep, stage=stage, version=1)

    assert moved.version == 2
    assert column_titles(stage) == ["first", "second", "third"]


def test_a_card_dropped_back_under_the_card_above_it_keeps_its_place(rep, team_a):
    stage = stage_named("Prospecting")
    first, second, _third = cards(stage, rep, ["first", "second", "third"])

    services.move_deal(deal=second, by=rep, stage=stage, version=1, after_id=first.pk)

    assert stored(second)["position"] == 2 * POSITION_GAP


def test_before_places_the_deal_right_above_that_card(rep, team_a):
    contact = stage_named("Contact")
    _first, second = cards(contact, rep, ["first", "second"])
    moving = DealFactory(owner=rep, title="moved")

    services.move_deal(deal=moving, by=rep, stage=contact, version=1, before_id=second.pk)

    assert column_titles(contact) == ["first", "moved", "second"]


def test_a_drop_lands_right_under_its_anchor_above_a_deal_the_mover_cannot_see(
    rep, outsider, team_a, team_b
):
    contact = stage_named("Contact")
    mine = DealFactory(owner=rep, stage=contact, title="mine", position=1000)
    DealFactory(owner=outsider, stage=contact, title="hidden", position=2000)
    DealFactory(owner=rep, stage=contact, title="mine too", position=3000)
    moving = DealFactory(owner=rep, title="moved")

    drop(rep, moving, contact, after=mine.pk)

    assert column_titles(contact) == ["mine", "moved", "hidden", "mine too"]


def test_a_lost_card_below_the_anchor_still_counts_as_its_neighbour(rep, team_a):
    contact = stage_named("Contact")
    anchor = DealFactory(owner=rep, stage=contact, title="anchor", position=1000)
    DealFactory(owner=rep, stage=contact, title="lost", position=1002, status=Deal.Status.LOST)
    moving = DealFactory(owner=rep, title="moved")

    services.move_deal(deal=moving, by=rep, stage=contact, version=1, after_id=anchor.pk)

    assert column_titles(contact) == ["anchor", "moved", "lost"]


@pytest.mark.parametrize("side", ["after_id", "before_id"])
def test_neighbours_without_a_gap_get_the_column_renumbered(rep, team_a, side):
    contact = stage_named("Contact")
    first, second = cards(contact, rep, ["first", "second"], start=0, step=1)  # no room
    moving = DealFactory(owner=rep, title="moved")
    anchor = first if side == "after_id" else second

    services.move_deal(deal=moving, by=rep, stage=contact, version=1, **{side: anchor.pk})

    assert column_titles(contact) == ["first", "moved", "second"]
    positions = list(
        Deal.objects.filter(stage=contact).order_by("position").values_list("position", flat=True)
    )
    assert all(b - a > 1 for a, b in pairwise(positions))


def test_a_crowded_spot_is_spread_out_without_renumbering_the_whole_column(rep, team_a):
    contact = stage_named("Contact")
    gap = POSITION_GAP
    top = cards(contact, rep, [f"top {i}" for i in range(40)], start=0, step=gap)
    first, _ = cards(contact, rep, ["first", "second"], start=100 * gap, step=1)  # no room
    DealFactory(
        owner=rep, stage=contact, title="lost", status=Deal.Status.LOST, position=100 * gap + 5
    )
    bottom = cards(contact, rep, [f"bottom {i}" for i in range(40)], start=200 * gap, step=gap)
    before = dict(Deal.objects.filter(stage=contact).values_list("id", "position"))
    moving = DealFactory(owner=rep, title="moved")

    services.move_deal(deal=moving, by=rep, stage=contact, version=1, after_id=first.pk)

    titles = column_titles(contact)
    assert titles[38:45] == ["top 38", "top 39", "first", "moved", "second", "lost", "bottom 0"]
    after = dict(Deal.objects.filter(stage=contact).values_list("id", "position"))
    changed = [pk for pk, position in before.items() if after[pk] != position]
    # Only the cards near the crowded spot got new keys (RESPACE_REACH on each side of it).
    assert first.pk in changed
    assert len(changed) <= 2 * RESPACE_REACH
    assert after[top[0].pk] == 0
    assert after[bottom[-1].pk] == before[bottom[-1].pk]
    positions = sorted(after.values())
    assert all(b - a > 1 for a, b in pairwise(positions))


# --- anchors that are refused ----------------------------------------------------------------


def test_an_anchor_the_mover_cannot_see_is_refused_like_one_that_does_not_exist(
    rep, outsider, team_a, team_b
):
    contact = stage_named("Contact")
    hidden = DealFactory(owner=outsider, stage=contact, title="hidden")
    moving = DealFactory(owner=rep, title="moved")
    before = stored(moving)

    refused = drop(rep, moving, contact, after=hidden.pk)
    unknown = drop(rep, moving, contact, after=hidden.pk + 1000)

    assert refused.status_code == 400
    assert refused.content == unknown.content
    assert stored(moving) == before
    assert not StageChange.objects.exists()


def test_an_anchor_in_another_column_is_refused_and_nothing_changes(rep, team_a):
    contact = stage_named("Contact")
    elsewhere = DealFactory(owner=rep, stage=stage_named("Proposal"), title="elsewhere")
    moving = DealFactory(owner=rep, title="moved")
    before = stored(moving)

    response = drop(rep, moving, contact, after=elsewhere.pk)

    assert response.status_code == 400
    assert stored(moving) == before
    assert not StageChange.objects.exists()


def test_the_moving_card_as_its_own_anchor_is_refused(rep, team_a):
    stage = stage_named("Prospecting")
    _first, second = cards(stage, rep, ["first", "second"])
    before = stored(second)

    with pytest.raises(DomainError) as refused:
        services.move_deal(deal=second, by=rep, stage=stage, version=1, after_id=second.pk)

    assert refused.value.field == "after"
    assert stored(second) == before


@pytest.mark.parametrize("side", ["after_id", "before_id"])
def test_the_service_refuses_an_invisible_anchor_on_the_side_it_was_given(
    rep, outsider, team_a, team_b, side
):
    contact = stage_named("Contact")
    hidden = DealFactory(owner=outsider, stage=contact)
    moving = DealFactory(owner=rep)
    before = stored(moving)

    with pytest.raises(DomainError) as refused:
        services.move_deal(deal=moving, by=rep, stage=contact, version=1, **{side: hidden.pk})

    assert refused.value.field == side.removesuffix("_id")
    assert stored(moving) == before


def test_naming_both_neighbours_is_refused(rep, team_a):
    contact = stage_named("Contact")
    first, second = cards(contact, rep, ["first", "second"])
    moving = DealFactory(owner=rep)

    with pytest.raises(DomainError):
        services.move_deal(
            deal=moving, by=rep, stage=contact, version=1, after_id=first.pk, before_id=second.pk
        )

    assert stored(moving)["version"] == 1


def test_a_manager_may_anchor_on_a_team_members_card(rep, manager, team_a):
    contact = stage_named("Contact")
    theirs = DealFactory(owner=rep, stage=contact, title="rep's", position=1000)
    DealFactory(owner=rep, stage=contact, title="next", position=2000)
    moving = DealFactory(owner=manager, title="moved")

    response = drop(manager, moving, contact, after=theirs.pk)

    assert response.status_code == 200
    assert column_titles(contact) == ["rep's", "moved", "next"]


# --- the API's index -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "expected"),
    [
        (0, ["moved", "mine 1", "hidden", "mine 2", "mine 3"]),
        (1, ["mine 1", "moved", "hidden", "mine 2", "mine 3"]),
        (2, ["mine 1", "hidden", "mine 2", "moved", "mine 3"]),
        (3, ["mine 1", "hidden", "mine 2", "mine 3", "moved"]),
        (50, ["mine 1", "hidden", "mine 2", "mine 3", "moved"]),
    ],
)
def test_the_api_position_is_an_index_among_the_cards_the_caller_sees(
    rep, outsider, team_a, team_b, api_for, position, expected
):
    contact = stage_named("Contact")
    DealFactory(owner=rep, stage=contact, title="mine 1", position=1000)
    DealFactory(owner=outsider, stage=contact, title="hidden", position=2000)
    DealFactory(owner=rep, stage=contact, title="mine 2", position=3000)
    DealFactory(owner=rep, stage=contact, title="lost", position=3500, status=Deal.Status.LOST)
    DealFactory(owner=rep, stage=contact, title="mine 3", position=4000)
    moving = DealFactory(owner=rep, title="moved")

    response = api_for(rep).post(
        f"/api/deals/{moving.pk}/move/",
        {"stage": contact.pk, "version": 1, "position": position},
        format="json",
    )

    assert response.status_code == 200
    assert [t for t in column_titles(contact) if t != "lost"] == expected


def test_the_api_position_reorders_within_the_deals_own_column(rep, team_a, api_for):
    stage = stage_named("Prospecting")
    first, _second, third = cards(stage, rep, ["first", "second", "third"])
    client = api_for(rep)

    to_top = client.post(
        f"/api/deals/{third.pk}/move/", {"stage": stage.pk, "version": 1, "position": 0}
    )
    to_bottom = client.post(
        f"/api/deals/{first.pk}/move/", {"stage": stage.pk, "version": 1, "position": 2}
    )

    assert to_top.status_code == 200
    assert to_bottom.status_code == 200
    assert column_titles(stage) == ["third", "second", "first"]


def test_an_api_position_too_large_for_an_index_is_a_400_on_position(rep, team_a, api_for):
    moving = DealFactory(owner=rep)

    response = api_for(rep).post(
        f"/api/deals/{moving.pk}/move/",
        {"stage": stage_named("Contact").pk, "version": 1, "position": 10**20},
        format="json",
    )

    assert response.status_code == 400
    assert "position" in response.json()
    assert stored(moving)["version"] == 1


# --- cost --------------------------------------------------------------------------------------


def column_of(user, stage, size):
    """`size` cards in `stage` and a deal to drop under its second card."""
    return cards(stage, user, [f"card {i}" for i in range(size)]), DealFactory(owner=user)


def queries_of(user, deal, stage, **neighbours):
    client = signed_in(user)
    with CaptureQueriesContext(connection) as queries:
        response = htmx_post(
            client,
            reverse("deal-move", args=[deal.pk]),
            {"stage": stage.pk, "version": deal.version, **neighbours},
        )
    assert response.status_code == 200
    return len(queries)


def test_a_drop_between_two_cards_costs_the_same_queries_in_a_column_of_3_or_300(
    rep, team_a, django_assert_num_queries
):
    small, large = stage_named("Contact"), stage_named("Proposal")
    small_column, first_mover = column_of(rep, small, 3)
    large_column, second_mover = column_of(rep, large, 300)
    client = signed_in(rep)
    small_cost = queries_of(rep, first_mover, small, after=small_column[1].pk)

    with django_assert_num_queries(small_cost):
        response = htmx_post(
            client,
            reverse("deal-move", args=[second_mover.pk]),
            {"stage": large.pk, "version": 1, "after": large_column[1].pk},
        )

    assert response.status_code == 200
    assert column_titles(large)[1:4] == ["card 1", second_mover.title, "card 2"]


def test_a_drop_between_two_cards_costs_no_more_queries_than_a_drop_at_the_top(rep, team_a):
    contact, proposal = stage_named("Contact"), stage_named("Proposal")
    column, between = column_of(rep, contact, 300)
    _, on_top = column_of(rep, proposal, 300)

    between_cost = queries_of(rep, between, contact, after=column[1].pk)
    top_cost = queries_of(rep, on_top, proposal, after="")

    assert between_cost <= top_cost
