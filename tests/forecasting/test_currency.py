"""Every currency in the forecast (SPEC §9 Money): converted to the reporting currency (USD
here) at today's rates before adding up; a currency without a rate is left out with a warning,
never silently; one currency asked for is shown alone, unconverted."""

import datetime as dt
from decimal import Decimal

from django.urls import reverse

from currencies import services
from deals.models import Deal
from forecasting import analytics
from forecasting.analytics import Scope
from forecasting.analytics.scope import unconverted_in
from forecasting.analytics.watch import WATCHLIST_LIMIT
from tests.clients import signed_in
from tests.forecasting.conftest import TODAY, at, make_deal


def november(result):
    return next(p for p in result.periods if p.period == "2026-11")


def world(rep, admin_user, *, eur_rate="1.10"):
    make_deal(rep, "Proposal", amount="1000.00", close="2026-11-20")  # Proposal: 55 %
    make_deal(rep, "Proposal", amount="2000.00", close="2026-11-21", currency="EUR")
    make_deal(rep, "Proposal", amount="400.00", close="2026-11-22", currency="GBP")  # no rate
    if eur_rate:
        services.set_rate(
            by=admin_user, currency="EUR", rate=eur_rate, valid_from=dt.date(2026, 1, 1)
        )


def test_euros_and_dollars_are_added_in_dollars_at_todays_rate(rep, admin_user):
    world(rep, admin_user)

    result = analytics.forecast(Scope(user=rep), today=TODAY)

    figures = november(result)
    assert result.currency == "USD"
    assert figures.weighted == Decimal("1760.00")  # (1000 + 2000 × 1.10) × 55 %
    assert figures.deals == 2  # the GBP deal is left out, and said so
    assert [(u.currency, u.deals, u.amount) for u in result.unconverted] == [
        ("GBP", 1, Decimal("400.00"))
    ]


def test_a_rate_change_changes_the_totals(rep, admin_user):
    world(rep, admin_user)
    before = november(analytics.forecast(Scope(user=rep), today=TODAY)).weighted
    services.set_rate(by=admin_user, currency="EUR", rate="1.20", valid_from=dt.date.today())

    after = november(analytics.forecast(Scope(user=rep), today=TODAY)).weighted

    assert (before, after) == (Decimal("1760.00"), Decimal("1870.00"))


def test_one_currency_asked_for_is_shown_alone_and_unconverted(rep, admin_user):
    world(rep, admin_user)

    euros = analytics.forecast(Scope(user=rep, currency="EUR"), today=TODAY)
    dollars = analytics.forecast(Scope(user=rep, currency="USD"), today=TODAY)

    assert (euros.currency, november(euros).weighted, euros.unconverted) == (
        "EUR",
        Decimal("1100.00"),
        [],
    )
    assert november(dollars).weighted == Decimal("550.00")


def test_the_api_gives_converted_figures_and_what_it_left_out(rep, admin_user):
    world(rep, admin_user)

    payload = signed_in(rep).get(reverse("api-forecast"), {"owner": rep.pk}).json()

    assert payload["currency"] == "USD"
    assert payload["unconverted"] == [{"currency": "GBP", "deals": 1, "amount": "400.00"}]
    assert Decimal(payload["totals"]["weighted"]) == Decimal("1760.00")
    alone = signed_in(rep).get(reverse("api-forecast"), {"currency": "gbp"}).json()
    assert (alone["currency"], alone["unconverted"]) == ("GBP", [])


def test_the_page_warns_about_deals_left_out_and_offers_all_currencies_first(rep, admin_user):
    world(rep, admin_user)

    html = signed_in(rep).get(reverse("forecast")).content.decode()

    assert "1 deal in GBP" in html
    assert "left out: no exchange rate" in html
    select = html.split('name="currency"', 1)[1].split("</select>", 1)[0]
    assert '<option value="" selected>All (in USD)</option>' in select
    assert ">EUR only<" in select
    assert ">GBP only<" in select


def test_a_currency_no_deal_in_sight_uses_is_neither_offered_nor_warned_about(people, admin_user):
    rep = people["rep"]
    world(rep, admin_user)
    make_deal(people["outsider"], "Proposal", amount="700.00", currency="CHF")  # out of sight
    pounds = Deal.objects.get(currency="GBP")
    assert analytics.currencies_in_use(rep) == ["USD", "EUR", "GBP"]

    pounds.currency = "EUR"  # the only GBP deal changes currency: GBP is in use no more
    pounds.save()

    assert analytics.currencies_in_use(rep) == ["USD", "EUR"]
    assert analytics.currencies_in_use(admin_user) == ["USD", "CHF", "EUR"]
    assert unconverted_in(Scope(user=rep)) == []
    assert [(u.currency, u.deals) for u in unconverted_in(Scope(user=admin_user))] == [("CHF", 1)]


def test_single_currency_figures_are_unchanged_by_conversion(rep, admin_user):
    world(rep, admin_user, eur_rate=None)
    make_deal(rep, "Closed", amount="300.00", close="2026-11-02", won_at=at("2026-11-03"))

    every = analytics.forecast(Scope(user=rep), today=TODAY)
    dollars = analytics.forecast(Scope(user=rep, currency="USD"), today=TODAY)

    assert november(every).weighted == november(dollars).weighted == Decimal("550.00")
    assert november(every).won == november(dollars).won


def test_watched_deals_show_their_amount_in_the_scopes_currency(rep, admin_user):
    world(rep, admin_user)
    make_deal(rep, "Proposal", amount="500.00", close="2020-01-01", currency="EUR")  # overdue

    watched = analytics.watchlist(Scope(user=rep))["at_risk"]
    alone = analytics.watchlist(Scope(user=rep, currency="EUR"))["at_risk"]

    # Both euro deals are overdue (the world's closes in November 2026), largest first.
    assert [w.amount for w in watched if w.currency == "EUR"] == [
        Decimal("2200.00"),
        Decimal("550.00"),
    ]
    assert [w.amount for w in alone] == [Decimal("2000.00"), Decimal("500.00")]


def test_the_watchlist_keeps_the_largest_deals_across_currencies_once_converted(rep, admin_user):
    world(rep, admin_user)  # EUR at 1.10; GBP has no rate
    for _ in range(WATCHLIST_LIMIT):
        make_deal(rep, "Proposal", amount="1050.00", close="2020-01-01")  # overdue dollars
    euros = make_deal(rep, "Proposal", amount="1000.00", close="2020-01-01", currency="EUR")
    make_deal(rep, "Proposal", amount="900.00", close="2020-01-01", currency="EUR")
    unpriced = make_deal(rep, "Proposal", amount=None, close="2020-01-01")

    watched = analytics.watchlist(Scope(user=rep))["at_risk"]

    # The world's 2000 EUR (2200 USD, overdue too), then 1000 EUR (1100 USD): above every
    # 1050 USD deal; the world's 1000 USD, 900 EUR (990 USD) and the deal without an amount
    # fall off the list.
    assert [w.amount for w in watched] == [
        Decimal("2200.00"),
        Decimal("1100.00"),
        *[Decimal("1050.00")] * (WATCHLIST_LIMIT - 2),
    ]
    assert watched[1].deal_id == euros.pk
    assert unpriced.pk not in [w.deal_id for w in watched]
