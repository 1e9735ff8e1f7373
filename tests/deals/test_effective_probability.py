"""One definition of a deal's win probability (`deals.models.effective_probability`: its
override, else its stage's), read alike by the board's counted headers, the deal page and the
API."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from deals import services
from deals.models import Deal
from deals.selectors import BoardFilters, board_deals, column_totals
from tests.clients import signed_in
from tests.deals.test_board import header_of
from tests.factories import DealFactory, default_pipeline, stage_named

pytestmark = pytest.mark.django_db


def test_counted_headers_weigh_each_deal_by_its_effective_probability(rep, team_a):
    """A text filter makes the board count its deals (no running totals answer it)."""
    proposal = stage_named("Proposal")  # 55 %
    DealFactory(owner=rep, stage=proposal, title="Acme one", amount=Decimal("1000"))
    DealFactory(
        owner=rep, stage=proposal, title="Acme two", amount=Decimal("2000"), probability_override=90
    )
    DealFactory(
        owner=rep, stage=proposal, title="Acme three", amount=Decimal("500"), probability_override=0
    )
    DealFactory(owner=rep, stage=proposal, title="Other", amount=Decimal("7000"))

    html = signed_in(rep).get(reverse("board"), {"q": "acme"}).content.decode()

    # 1000 × 55 % + 2000 × 90 % + 500 × 0 %
    assert header_of(html, proposal) == {"count": "3", "total": "3500.00", "weighted": "2350.00"}


def test_counted_totals_equal_the_annotation_column_by_column(rep, teammate, team_a):
    for name, override in (
        ("Prospecting", None),
        ("Contact", 35),
        ("Proposal", 100),
        ("Closed", None),
    ):
        status = Deal.Status.WON if name == "Closed" else Deal.Status.OPEN
        for amount in (Decimal("10.10"), Decimal("333.33"), None):
            DealFactory(
                owner=rep,
                stage=stage_named(name),
                status=status,
                amount=amount,
                probability_override=override,
            )
    pipeline = default_pipeline()
    stages = list(pipeline.stages.order_by("order"))
    filters = BoardFilters()

    totals = column_totals(board_deals(rep, pipeline, filters), stages, filters.statuses())

    annotated = Deal.objects.with_effective_probability()
    for stage in stages:
        expected = sum(
            (
                d.amount * d.effective_probability / 100
                for d in annotated.filter(stage=stage)
                if d.amount
            ),
            Decimal(0),
        )
        assert totals[stage.pk].weighted == expected.quantize(Decimal("0.01")), stage.name


def test_the_deal_page_shows_the_effective_probability_and_the_weighted_amount(rep, team_a):
    stage_default = DealFactory(owner=rep, stage=stage_named("Proposal"), amount=Decimal("1000"))
    overridden = DealFactory(
        owner=rep, stage=stage_named("Proposal"), amount=Decimal("1234.50"), probability_override=90
    )
    no_amount = DealFactory(owner=rep, stage=stage_named("Proposal"), amount=None)
    client = signed_in(rep)

    def kpis(deal) -> dict[str, str]:
        html = client.get(reverse("deal-detail", args=[deal.pk])).content.decode()
        pairs = re.findall(r'kpi-label">([^<]+)</span><span class="kpi-value">([^<]+)<', html)
        return dict(pairs)

    assert kpis(stage_default)["Probability"] == "55 %"
    assert kpis(stage_default)["Weighted"] == "$550"
    assert kpis(overridden)["Probability"] == "90 %"
    assert kpis(overridden)["Weighted"] == "$1,111.05"
    assert kpis(no_amount)["Weighted"] == "—"


def test_an_edited_probability_shows_at_once_on_the_deal_page(rep, team_a):
    deal = DealFactory(owner=rep, stage=stage_named("Proposal"), amount=Decimal("200"))
    client = signed_in(rep)

    response = client.post(
        reverse("deal-field", args=[deal.pk, "probability_override"]),
        {"probability_override": "25", "version": 1},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    page = client.get(reverse("deal-detail", args=[deal.pk])).content.decode()
    assert '<span class="kpi-value">25 %</span>' in page
    assert '<span class="kpi-value">$50</span>' in page


def test_every_write_answers_with_the_probability_the_deal_now_has(rep, api_for):
    deal = DealFactory(owner=rep, probability_override=70)
    client = api_for(rep)

    cleared = client.patch(f"/api/deals/{deal.pk}/", {"probability_override": None}, format="json")
    moved = client.post(
        f"/api/deals/{deal.pk}/move/", {"stage": stage_named("Negotiation").pk, "version": 2}
    )
    won = client.post(f"/api/deals/{deal.pk}/won/", {"version": 3})
    created = client.post("/api/deals/", {"title": "New", "probability_override": 15})

    assert cleared.json()["probability"] == 10  # Prospecting's
    assert moved.json()["probability"] == 75
    assert won.json()["probability"] == 100
    assert created.json()["probability"] == 15


def test_a_stale_write_answers_with_the_probability_of_the_deal_as_it_is(rep, api_for):
    deal = DealFactory(owner=rep, stage=stage_named("Contact"))
    services.update_deal(deal=deal, by=rep, changes={"probability_override": 45})

    response = api_for(rep).patch(
        f"/api/deals/{deal.pk}/", {"title": "Late", "version": 1}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["deal"]["probability"] == 45
