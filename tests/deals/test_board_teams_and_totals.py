"""The board's team picker, its whole-pipeline total, view-only cards and deal pages, and card
dates of another year."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from deals.models import Deal
from tests.clients import htmx_post, signed_in
from tests.deals.test_board import _many_deals, board_query_budget, columns_of
from tests.factories import (
    DealFactory,
    TeamFactory,
    UserFactory,
    lost_for,
    stage_named,
)

pytestmark = pytest.mark.django_db


def shown_ids(html: str) -> set[int]:
    return {pk for ids in columns_of(html).values() for pk in ids}


def team_options(html: str) -> list[str]:
    picker = html.split('<select name="team"', 1)[1].split("</select>", 1)[0]
    return re.findall(r"<option [^>]*>([^<]+)</option>", picker)


def pipeline_total(html: str) -> dict[str, str]:
    block = html.split('id="pipeline-total"', 1)[1].split("</p>", 1)[0]
    return {
        "count": re.search(r'data-count="(\d+)"', block).group(1),
        "total": re.search(r'data-total="([\d.]+)"', block).group(1),
        "weighted": re.search(r'data-weighted="([\d.]+)"', block).group(1),
    }


def all_headers(html: str) -> list[dict[str, str]]:
    return [
        {
            "count": count,
            "total": total,
            "weighted": weighted,
        }
        for count, total, weighted in re.findall(
            r'class="col-head".*?data-count="(\d+)".*?data-total="([\d.]+)"'
            r'.*?data-weighted="([\d.]+)"',
            html,
            re.S,
        )
    ]


# --- the team picker ---------------------------------------------------------------------------


def test_the_team_picker_offers_the_teams_each_person_may_see(people):
    TeamFactory(name="Team C")

    def offered(name):
        return team_options(signed_in(people[name]).get(reverse("board")).content.decode())

    assert offered("rep") == ["Every team", "Team A"]
    assert offered("manager") == ["Every team", "Team A"]
    assert offered("other_manager") == ["Every team", "Team B"]
    assert offered("admin") == ["Every team", "Team A", "Team B", "Team C"]


def test_picking_a_team_shows_its_members_deals_only_and_stays_in_the_url(people, team_a, team_b):
    ours = DealFactory(owner=people["teammate"], title="Ours")
    theirs = DealFactory(owner=people["outsider"], title="Theirs")
    client = signed_in(people["admin"])

    html = client.get(reverse("board"), {"team": team_b.pk}).content.decode()

    assert shown_ids(html) == {theirs.pk}
    assert ours.pk not in shown_ids(html)
    assert f'<option value="{team_b.pk}" selected>Team B</option>' in html
    assert f'data-qs="?team={team_b.pk}"' in html


def test_a_team_the_user_may_not_see_is_ignored_with_a_message(people, team_a, team_b):
    mine = DealFactory(owner=people["rep"])
    DealFactory(owner=people["outsider"])

    html = signed_in(people["rep"]).get(reverse("board"), {"team": team_b.pk}).content.decode()

    assert shown_ids(html) == {mine.pk}
    assert "Team: No such team. (ignored)" in html
    assert 'data-qs=""' in html


def test_the_team_and_owner_filters_narrow_together(people, team_a):
    mine = DealFactory(owner=people["rep"])
    DealFactory(owner=people["teammate"])
    client = signed_in(people["manager"])

    html = client.get(reverse("board"), {"team": team_a.pk, "owner": people["rep"].pk})

    assert shown_ids(html.content.decode()) == {mine.pk}


def test_a_column_page_keeps_to_the_team(people, team_a, team_b):
    stage = stage_named("Prospecting")
    DealFactory(owner=people["teammate"], stage=stage)
    theirs = DealFactory(owner=people["outsider"], stage=stage)
    url = reverse("board-cards", args=[stage.pipeline_id, stage.pk])

    html = signed_in(people["admin"]).get(url, {"refresh": "1", "team": team_b.pk}).content
    found = {int(pk) for pk in re.findall(rb'id="deal-(\d+)"', html)}

    assert found == {theirs.pk}


# --- the whole pipeline's total -----------------------------------------------------------------


def test_the_board_header_totals_the_whole_pipeline_as_filtered(rep, team_a):
    DealFactory(owner=rep, amount=Decimal("1000"), stage=stage_named("Prospecting"))
    DealFactory(owner=rep, amount=Decimal("3000"), stage=stage_named("Negotiation"))
    DealFactory(owner=rep, amount=Decimal("500"), status=Deal.Status.LOST)

    html = signed_in(rep).get(reverse("board")).content.decode()

    total = pipeline_total(html)
    headers = all_headers(html)
    assert total["count"] == "2"
    assert Decimal(total["total"]) == Decimal("4000.00")
    assert Decimal(total["weighted"]) == sum(Decimal(h["weighted"]) for h in headers)
    assert Decimal(total["weighted"]) > 0
    assert "2 deals" in html.split('id="pipeline-total"', 1)[1].split("</p>", 1)[0]


def test_a_move_redraws_the_pipeline_total_out_of_band(rep, team_a):
    source, target = stage_named("Prospecting"), stage_named("Negotiation")
    deal = DealFactory(owner=rep, amount=Decimal("1000"), stage=source)
    client = signed_in(rep)
    before = pipeline_total(client.get(reverse("board")).content.decode())

    response = htmx_post(
        client, reverse("deal-move", args=[deal.pk]), {"stage": target.pk, "version": 1}
    )

    html = response.content.decode()
    assert 'id="pipeline-total" hx-swap-oob="true"' in html
    after = pipeline_total(html)
    assert after["count"] == before["count"] == "1"
    assert Decimal(after["weighted"]) == Decimal("1000") * target.probability / 100
    assert Decimal(after["weighted"]) > Decimal(before["weighted"])


def test_marking_lost_takes_the_deal_out_of_the_pipeline_total(rep, team_a):
    deal = DealFactory(owner=rep, amount=Decimal("1000"))
    DealFactory(owner=rep, amount=Decimal("250"))

    response = htmx_post(
        signed_in(rep),
        reverse("deal-lost", args=[deal.pk]),
        {**lost_for("Price"), "version": 1},
    )

    assert pipeline_total(response.content.decode())["count"] == "1"
    assert Decimal(pipeline_total(response.content.decode())["total"]) == Decimal("250.00")


def test_a_quick_add_and_a_live_refresh_redraw_the_pipeline_total(rep, team_a):
    stage = stage_named("Prospecting")
    client = signed_in(rep)

    added = client.post(
        reverse("board-quick-add", args=[stage.pipeline_id, stage.pk]),
        {"title": "Fresh", "amount": "700"},
        HTTP_HX_REQUEST="true",
    )
    refreshed = client.get(
        reverse("board-cards", args=[stage.pipeline_id, stage.pk]), {"refresh": "1"}
    )

    assert added.status_code == 201
    assert pipeline_total(added.content.decode())["count"] == "1"
    assert 'id="pipeline-total" hx-swap-oob="true"' in refreshed.content.decode()


def test_the_filtered_board_body_carries_the_total_that_sits_outside_it(rep, team_a):
    DealFactory(owner=rep, title="Kept")
    DealFactory(owner=rep, title="Other")

    response = signed_in(rep).get(
        reverse("board"), {"q": "Kept"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="board-body"
    )

    html = response.content.decode()
    assert 'id="pipeline-total" hx-swap-oob="true"' in html
    assert pipeline_total(html)["count"] == "1"


@pytest.mark.parametrize("count", [10, 400])
def test_a_moves_query_count_with_the_pipeline_total_does_not_grow_with_the_deals(
    rep, team_a, count, django_assert_max_num_queries
):
    _many_deals(rep, count)
    deal = Deal.objects.filter(owner=rep, status=Deal.Status.OPEN).first()
    target = stage_named("Negotiation")
    client = signed_in(rep)
    # PostgreSQL: the running totals, one statement for every column, and the column's advisory
    # lock that keeps two drops from taking one place: 14 queries. SQLite counts each of the 7
    # columns in a query of its own (and has no lock to take): a constant too.
    budget = 14 if connection.vendor == "postgresql" else 21

    with django_assert_max_num_queries(budget):
        response = htmx_post(
            client,
            reverse("deal-move", args=[deal.pk]),
            {"stage": target.pk, "version": deal.version},
        )

    assert response.status_code == 200


@pytest.mark.parametrize("count", [10, 2000])
def test_a_team_board_query_count_does_not_grow_with_the_deals(
    manager, rep, team_a, count, django_assert_max_num_queries
):
    _many_deals(rep, count)
    client = signed_in(manager)

    with django_assert_max_num_queries(board_query_budget()):
        response = client.get(reverse("board"), {"team": team_a.pk})

    assert response.status_code == 200
    assert int(pipeline_total(response.content.decode())["count"]) == count


# --- view only ------------------------------------------------------------------------------


def test_a_teammates_card_says_view_only_whose_it_is_and_who_may_move_it(db):
    rita = UserFactory(first_name="Rita", last_name="Reyes", role="rep")
    ravi = UserFactory(first_name="Ravi", last_name="Rao", role="rep")
    TeamFactory(members=[rita, ravi])
    theirs = DealFactory(owner=ravi, title="Their deal")
    mine = DealFactory(owner=rita, title="My deal")

    html = signed_in(rita).get(reverse("board")).content.decode()
    their_card = re.search(rf'<li [^>]*id="deal-{theirs.pk}".*?</li>', html, re.S).group(0)
    my_card = re.search(rf'<li [^>]*id="deal-{mine.pk}".*?</li>', html, re.S).group(0)

    assert 'aria-label="Their deal, owner Ravi Rao, view only"' in their_card
    assert (
        'data-readonly-reason="This is Ravi Rao’s deal: only Ravi, their manager or an admin'
        ' can move it."'
    ) in their_card
    assert "View only</button>" in their_card
    assert 'draggable="false"' in their_card
    assert 'aria-label="My deal, owner Rita Reyes"' in my_card
    assert "View only" not in my_card
    assert "data-readonly-reason" not in my_card


def test_a_teammates_deal_page_says_view_only_and_whose_it_is_without_edit_controls(people):
    theirs = DealFactory(owner=people["teammate"])
    mine = DealFactory(owner=people["rep"])
    client = signed_in(people["rep"])

    their_page = client.get(reverse("deal-detail", args=[theirs.pk])).content.decode()
    my_page = client.get(reverse("deal-detail", args=[mine.pk])).content.decode()

    owner = people["teammate"]
    assert "<strong>View only</strong> — owned by" in their_page
    assert f"only {owner.first_name}, their manager or an admin can change it." in their_page
    for control in ("Mark won", "Mark lost", ">Edit<", "Delete", "Log an activity"):
        assert control not in their_page
        assert control in my_page
    assert "View only" not in my_page


# --- dates -------------------------------------------------------------------------------------


def test_card_dates_show_the_year_only_when_it_is_not_this_one(rep, team_a):
    today = timezone.localdate()
    this_year = DealFactory(owner=rep, expected_close_date=dt.date(today.year, 12, 31))
    next_year = DealFactory(owner=rep, expected_close_date=dt.date(today.year + 1, 3, 14))

    html = signed_in(rep).get(reverse("board")).content.decode()

    def closes(deal):
        card = re.search(rf'id="deal-{deal.pk}".*?</li>', html, re.S).group(0)
        return re.search(r"closes ([^<]+)</span>", card).group(1)

    assert closes(this_year) == "Dec 31"
    assert closes(next_year) == f"Mar 14, {today.year + 1}"
