"""Board headers in the reporting currency (SPEC §9 Money): each currency's amounts converted at
today's rate before adding; cards keep their own currency; a currency without a rate is left
out of the money with a warning (its cards still count); PostgreSQL keeps the running totals
per currency."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Sum
from django.urls import reverse

from currencies import services as rates
from deals import services
from deals.models import ColumnTotal, Deal
from tests.clients import signed_in
from tests.deals.test_board_teams_and_totals import all_headers, pipeline_total
from tests.factories import DealFactory, stage_named

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the totals are kept by PostgreSQL triggers"
)


def euro_rate(admin_user, rate="1.10", day=dt.date(2026, 1, 1)):
    return rates.set_rate(by=admin_user, currency="EUR", rate=rate, valid_from=day)


def negotiation_header(html):
    """Negotiation's header: the fourth column of the default pipeline."""
    names = [stage.name for stage in stage_named("Negotiation").pipeline.stages.order_by("order")]
    return all_headers(html)[names.index("Negotiation")]


@pytest.fixture
def mixed_column(rep, team_a, admin_user):
    negotiation = stage_named("Negotiation")
    DealFactory(owner=rep, stage=negotiation, amount=Decimal("1000.00"))
    DealFactory(owner=rep, stage=negotiation, amount=Decimal("2000.00"), currency="EUR")
    euro_rate(admin_user)
    return negotiation


@pytest.mark.parametrize("query", [{}, {"q": "e"}])  # running totals (PostgreSQL), counted
def test_euros_and_dollars_in_one_column_are_added_in_dollars(rep, mixed_column, query):
    html = signed_in(rep).get(reverse("board"), query).content.decode()

    header = negotiation_header(html)
    probability = Decimal(mixed_column.probability) / 100
    assert header["count"] == "2"
    assert Decimal(header["total"]) == Decimal("3200.00")  # 1000 + 2000 × 1.10
    assert Decimal(header["weighted"]) == (Decimal("3200.00") * probability).quantize(
        Decimal("0.01")
    )
    assert Decimal(pipeline_total(html)["total"]) == Decimal("3200.00")
    assert "left out" not in html


def test_cards_keep_their_own_currency(rep, mixed_column):
    html = signed_in(rep).get(reverse("board")).content.decode()

    assert "€2,000" in html or "EUR 2,000" in html


def test_a_rate_change_changes_the_header(rep, admin_user, mixed_column):
    euro_rate(admin_user, "1.20", dt.date.today())

    html = signed_in(rep).get(reverse("board")).content.decode()

    assert Decimal(negotiation_header(html)["total"]) == Decimal("3400.00")


@pytest.mark.parametrize("query", [{}, {"q": "e"}])
def test_a_currency_without_a_rate_is_left_out_with_a_warning(rep, mixed_column, query):
    DealFactory(owner=rep, stage=mixed_column, amount=Decimal("12400.00"), currency="GBP")

    html = signed_in(rep).get(reverse("board"), query).content.decode()

    header = negotiation_header(html)
    assert header["count"] == "3"  # its card is on the board
    assert Decimal(header["total"]) == Decimal("3200.00")  # the rest is still added
    assert 'data-unconverted="GBP"' in html
    total = html.split('id="pipeline-total"', 1)[1].split("</p>", 1)[0]
    assert "1 deal in GBP" in total
    assert "left out: no exchange rate" in total


# --- the running totals per currency (PostgreSQL) ----------------------------------------------


def counted():
    rows = (
        Deal.objects.order_by()
        .values_list("stage_id", "status", "owner_id", "currency")
        .annotate(n=Count("*"), total=Sum("amount", default=0))
    )
    return {key: (n, total) for *key_, n, total in rows for key in [tuple(key_)]}


def stored():
    rows = ColumnTotal.objects.exclude(deals=0, amount_sum=0).values_list(
        "stage_id", "status", "owner_id", "currency", "deals", "amount_sum"
    )
    return {(s, st, o, c): (n, a) for s, st, o, c, n, a in rows}


@on_postgresql
def test_the_triggers_keep_a_totals_row_per_currency(rep, manager, team_a):
    usd = DealFactory(owner=rep, amount=Decimal("100.00"))
    eur = DealFactory(owner=rep, amount=Decimal("200.00"), currency="EUR")
    assert stored() == counted()
    assert {key[3] for key in stored()} == {"USD", "EUR"}

    services.move_deal(deal=eur, by=rep, stage=stage_named("Proposal"), version=eur.version)
    assert stored() == counted()
    services.update_deal(
        deal=Deal.objects.get(pk=usd.pk), by=rep, changes={"amount": Decimal("150.00")}
    )
    assert stored() == counted()
    Deal.objects.filter(pk=usd.pk).update(currency="GBP")  # a currency change, however made
    assert stored() == counted()
    assert {key[3] for key in stored()} == {"GBP", "EUR"}
    services.delete_deal(deal=Deal.objects.get(pk=eur.pk), by=rep)
    assert stored() == counted()


@on_postgresql
def test_rebuilding_the_totals_keeps_them_per_currency(rep):
    DealFactory(owner=rep, amount=Decimal("100.00"))
    DealFactory(owner=rep, amount=Decimal("200.00"), currency="EUR")
    ColumnTotal.objects.all().delete()

    out = io.StringIO()
    call_command("rebuild_column_totals", stdout=out)

    assert stored() == counted()
    assert "(stage, status, owner, currency)" in out.getvalue()
