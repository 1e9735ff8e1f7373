"""Exchange rates (SPEC §9 Money): who keeps them, what is refused, which rate is in effect."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from currencies import services
from currencies.models import ExchangeRate
from currencies.selectors import rates_in_effect, rates_on
from pipeline_crm.errors import DomainError, NotAllowed
from tests.clients import htmx_post, signed_in

DAY = dt.date(2026, 1, 1)


def post_rate(client, **body):
    return client.post(
        reverse("api-exchange-rate-list"), json.dumps(body), content_type="application/json"
    )


def test_every_signed_in_user_reads_the_rates_and_only_admins_add_them(rep, admin_user):
    services.set_rate(by=admin_user, currency="EUR", rate="1.08", valid_from=DAY)

    listed = signed_in(rep).get(reverse("api-exchange-rate-list")).json()
    refused = post_rate(signed_in(rep), currency="GBP", rate="1.27", valid_from="2026-01-01")
    added = post_rate(signed_in(admin_user), currency="GBP", rate="1.27", valid_from="2026-01-01")

    assert [(r["currency"], r["rate"], r["valid_from"]) for r in listed["results"]] == [
        ("EUR", "1.080000", "2026-01-01")
    ]
    assert refused.status_code == 403
    assert added.status_code == 201
    assert added.json()["currency"] == "GBP"
    assert ExchangeRate.objects.filter(currency="GBP").exists()


def test_anonymous_callers_get_401(db):
    from django.test import Client

    assert Client().get(reverse("api-exchange-rate-list")).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"currency": "eur", "rate": "1.1"}, "currency"),  # lowercase
        ({"currency": "XYZ", "rate": "1.1"}, "currency"),  # no such currency
        ({"currency": "USD", "rate": "1.1"}, "currency"),  # the reporting currency: always 1
        ({"currency": "EUR", "rate": "0"}, "rate"),
        ({"currency": "EUR", "rate": "-2"}, "rate"),
        ({"currency": "EUR", "rate": "abc"}, "rate"),
        ({"currency": "EUR", "rate": "1.1", "valid_from": "2026-02-30"}, "valid_from"),
    ],
)
def test_bad_rates_are_refused_with_the_field_at_fault(admin_user, body, field):
    response = post_rate(signed_in(admin_user), **{"valid_from": "2026-01-01", **body})

    assert response.status_code == 400
    assert field in response.json()
    assert not ExchangeRate.objects.exists()


def test_a_second_rate_for_the_same_currency_and_day_is_refused(admin_user):
    client = signed_in(admin_user)
    post_rate(client, currency="EUR", rate="1.08", valid_from="2026-01-01")

    again = post_rate(client, currency="EUR", rate="1.09", valid_from="2026-01-01")

    assert again.status_code == 400
    assert "valid_from" in again.json()
    assert ExchangeRate.objects.get().rate == Decimal("1.08")


def test_admins_delete_a_rate_and_reps_may_not(rep, admin_user):
    entry = services.set_rate(by=admin_user, currency="EUR", rate="1.08", valid_from=DAY)
    url = reverse("api-exchange-rate-detail", args=[entry.pk])

    assert signed_in(rep).get(url).json()["rate"] == "1.080000"
    assert signed_in(rep).delete(url).status_code == 403
    assert signed_in(admin_user).delete(url).status_code == 204
    assert not ExchangeRate.objects.exists()


def test_the_services_refuse_non_admins(rep, admin_user):
    with pytest.raises(NotAllowed):
        services.set_rate(by=rep, currency="EUR", rate="1.08", valid_from=DAY)
    entry = services.set_rate(by=admin_user, currency="EUR", rate="1.08", valid_from=DAY)
    with pytest.raises(NotAllowed):
        services.delete_rate(by=rep, rate=entry)
    with pytest.raises(DomainError):
        services.set_rate(by=admin_user, currency="EUR", rate="1.0000001", valid_from=DAY)


def test_the_rate_in_effect_is_the_latest_from_that_day_or_before(admin_user):
    services.set_rate(by=admin_user, currency="EUR", rate="1.05", valid_from=dt.date(2026, 1, 1))
    services.set_rate(by=admin_user, currency="EUR", rate="1.10", valid_from=dt.date(2026, 6, 1))

    assert rates_on(dt.date(2025, 12, 31)).per_unit == {"USD": Decimal(1)}
    assert rates_on(dt.date(2026, 5, 31)).per_unit["EUR"] == Decimal("1.05")
    assert rates_on(dt.date(2026, 6, 1)).per_unit["EUR"] == Decimal("1.10")
    assert rates_on(dt.date(2026, 6, 1)).convert(Decimal(100), "EUR") == Decimal("110.000000")
    assert rates_on(dt.date(2026, 6, 1)).convert(Decimal(100), "GBP") is None


def test_a_new_rate_takes_effect_at_once_despite_the_cache(admin_user):
    today = dt.date.today()
    assert "EUR" not in rates_in_effect().per_unit  # now cached
    services.set_rate(by=admin_user, currency="EUR", rate="1.2", valid_from=today)

    assert rates_in_effect().per_unit["EUR"] == Decimal("1.2")
    services.delete_rate(by=admin_user, rate=ExchangeRate.objects.get())
    assert "EUR" not in rates_in_effect().per_unit


def in_a_request(view):
    """`view()` run the way a request runs it (inside the project's middleware)."""
    from django.http import HttpResponse
    from django.test import RequestFactory

    from pipeline_crm.request_context import RequestContextMiddleware

    answers = []

    def respond(_request):
        answers.append(view())
        return HttpResponse()

    RequestContextMiddleware(respond)(RequestFactory().get("/"))
    return answers[0]


def test_a_rate_set_during_a_request_takes_effect_in_it_at_once(admin_user):
    today = dt.date.today()

    def read_twice_with_a_rate_set_between():
        before = rates_in_effect()
        services.set_rate(by=admin_user, currency="EUR", rate="1.2", valid_from=today)
        return before, rates_in_effect()

    before, after = in_a_request(read_twice_with_a_rate_set_between)
    assert "EUR" not in before.per_unit
    assert after.per_unit["EUR"] == Decimal("1.2")


def test_a_rate_set_by_another_process_waits_for_the_next_request(db):
    from currencies import selectors

    def read_twice_with_the_cache_emptied_between():
        before = rates_in_effect()
        # Another process saves a rate (no signal here) and empties the shared cache.
        ExchangeRate.objects.bulk_create(
            [ExchangeRate(currency="EUR", rate="1.2", valid_from=dt.date.today())]
        )
        selectors.cache.delete(selectors.CACHE_KEY)
        return before, rates_in_effect()

    before, during = in_a_request(read_twice_with_the_cache_emptied_between)

    assert "EUR" not in before.per_unit
    assert during is before  # every total of the page at the same rates
    assert in_a_request(rates_in_effect).per_unit["EUR"] == Decimal("1.2")


def test_a_dashboard_reads_the_rates_from_the_cache_once(rep, monkeypatch):
    from currencies import selectors

    reads = []
    real_get = selectors.cache.get

    def counted_get(key, *args, **kwargs):
        reads.append(key)
        return real_get(key, *args, **kwargs)

    monkeypatch.setattr(selectors.cache, "get", counted_get)
    response = signed_in(rep).get(reverse("forecast"))

    assert response.status_code == 200
    assert reads.count(selectors.CACHE_KEY) == 1


# --- the settings page ----------------------------------------------------------------------


def test_admins_keep_rates_on_the_settings_page(admin_user):
    client = signed_in(admin_user)
    page = client.get(reverse("exchange-rate-settings")).content.decode()
    assert "Exchange rates" in page
    assert (
        reverse("exchange-rate-settings")
        in signed_in(admin_user).get(reverse("lost-reason-settings")).content.decode()
    )

    added = htmx_post(
        client,
        reverse("exchange-rate-create"),
        {"currency": "EUR", "rate": "1.08", "valid_from": "2026-01-01"},
    )
    entry = ExchangeRate.objects.get()
    assert added.status_code == 200
    assert f'id="rate-{entry.pk}"' in added.content.decode()

    refused = htmx_post(
        client,
        reverse("exchange-rate-create"),
        {"currency": "EUR", "rate": "0", "valid_from": "2026-02-01"},
    )
    assert refused.status_code == 422
    assert "more than 0" in refused.content.decode()

    deleted = htmx_post(client, reverse("exchange-rate-delete", args=[entry.pk]), {})
    assert deleted.status_code == 200
    assert not ExchangeRate.objects.exists()


def test_the_settings_page_is_not_there_for_reps(rep):
    assert signed_in(rep).get(reverse("exchange-rate-settings")).status_code == 404
