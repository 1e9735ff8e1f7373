"""Numbers on the forecast pages read like the rest of the app ("$98,600", "25.9 %"), their CSV
files keep the raw figures, the currency filter offers the currencies in use, and the quota list
comes in pages."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from forecasting.models import Quota
from forecasting.views import QUOTA_PAGE_SIZE
from tests.forecasting.conftest import make_deal
from tests.forecasting.test_dashboard import table_rows

pytestmark = pytest.mark.django_db


def csv_rows(client, table, query=""):
    response = client.get(reverse("forecast-export", args=[table]) + query)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_watchlist_cells_are_formatted_in_the_deals_currency_and_raw_in_csv(
    client, manager, people
):
    make_deal(people["rep"], "Proposal", amount="98600.00", close="2020-01-01", currency="EUR")
    client.force_login(manager)

    html = client.get(reverse("forecast") + "?currency=EUR")
    rows = table_rows(html.content.decode(), "at_risk")
    assert rows[0][3:6] == ["€98,600", "55 %", "2020-01-01"]
    assert "close date passed" in rows[0][6]
    assert csv_rows(client, "at_risk", "?currency=EUR")[1][3:6] == ["98600.00", "55", "2020-01-01"]


def test_rates_read_as_percents_on_the_page_and_as_shares_in_csv(client, manager, people):
    rep = people["rep"]
    now = dt.datetime.now(dt.UTC)
    make_deal(rep, "Closed", amount="1200.00", won_at=now)
    make_deal(rep, "Proposal", status="lost", lost_at=now)
    make_deal(rep, "Proposal", status="lost", lost_at=now)
    client.force_login(manager)

    html = client.get(reverse("forecast-panel", args=["reps"])).content.decode()
    row = next(r for r in table_rows(html, "reps") if r[0] == str(rep))
    raw = next(r for r in csv_rows(client, "reps") if r[0] == str(rep))
    win_rate = 8  # Rep, open, pipeline, weighted, won, quota, gap, attainment, win rate
    assert (row[win_rate], raw[win_rate]) == ("33.3 %", "0.3333")
    assert (row[7], raw[7]) == ("—", "")  # no quota: no attainment


def test_the_currency_filter_offers_the_currencies_of_the_deals_one_may_see(
    client, manager, people
):
    make_deal(people["rep"], "Proposal", currency="EUR")
    make_deal(people["teammate"], "Proposal", currency="CHF")
    make_deal(people["outsider"], "Proposal", currency="GBP")  # team B: not the manager's
    client.force_login(manager)

    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("forecast")).content.decode()
    distinct = [q for q in queries.captured_queries if "DISTINCT" in q["sql"]]
    assert len(distinct) == 1  # the currencies in use: one query
    select = re.search(r'<select name="currency"[^>]*>(.*?)</select>', html, re.S)
    assert select, "the currency filter is not a select"
    # "": All (in USD), every currency converted; then each currency alone
    assert re.findall(r'<option value="(\w*)"', select.group(1)) == ["", "USD", "CHF", "EUR"]

    chosen = client.get(reverse("forecast") + "?currency=eur").content.decode()
    assert '<option value="EUR" selected>' in chosen
    assert 'data-currency="EUR"' in chosen  # what the charts format their axes with


def test_a_currency_no_deal_uses_stays_selectable_from_the_url(client, manager, people):
    client.force_login(manager)
    html = client.get(reverse("forecast") + "?currency=SEK").content.decode()
    assert '<option value="SEK" selected>' in html
    assert "Forecast by month (SEK)" in html


def test_the_quota_list_is_paged_and_its_csv_has_every_quota(client, manager, people):
    total = QUOTA_PAGE_SIZE * 2 + 16
    start = dt.date(2020, 1, 1)
    Quota.objects.bulk_create(
        Quota(
            user=people["rep"],
            period="month",
            period_start=dt.date(start.year + n // 12, n % 12 + 1, 1),
            amount=Decimal(1000 + n),
        )
        for n in range(total)
    )
    client.force_login(manager)

    first = client.get(reverse("forecast-quotas")).content.decode()
    assert len(table_rows(first, "quotas")) == QUOTA_PAGE_SIZE
    assert "Page 1 of 3" in first
    assert table_rows(first, "quotas")[0][3:5] == ["2029-08-01", "$1,115"]  # the newest first
    last = client.get(reverse("forecast-quotas") + "?page=3").content.decode()
    assert len(table_rows(last, "quotas")) == 16
    assert table_rows(last, "quotas")[-1][3:5] == ["2020-01-01", "$1,000"]
    assert 'rel="prev" href="/forecast/quotas/?page=2"' in last

    export = client.get(reverse("forecast-quotas") + "?format=csv")
    text = b"".join(export.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == total + 1
    assert rows[1][-1] == "1115.00"  # raw, as every CSV


def test_forecast_and_movement_tables_read_like_the_cards_and_csv_stays_raw(
    client, manager, people, team_a
):
    today = dt.date.today()
    month = today.replace(day=1)
    won_at = dt.datetime.combine(today, dt.time(0, 30), tzinfo=dt.UTC)
    make_deal(people["rep"], "Closed", amount="98600.00", won_at=won_at)
    Quota.objects.create(team=team_a, period="month", period_start=month, amount=Decimal("90000"))
    client.force_login(manager)
    query = f"?forecast_from={month:%Y-%m}&forecast_to={month:%Y-%m}&history_since={month}"

    html = client.get(reverse("forecast") + query).content.decode()
    row = table_rows(html, "forecast")[0]
    assert (row[5], row[6], row[8]) == ("$98,600", "$90,000", "109.6 %")  # won, quota, attainment
    raw = csv_rows(client, "forecast", query)[1]
    assert (raw[5], raw[6], raw[8]) == ("98600.00", "90000.00", "1.0956")

    moves = client.get(reverse("forecast-movement") + query).content.decode()
    won = next(r for r in table_rows(moves, "movement") if r[0] == "Won")
    assert won[1:] == ["1", "$98,600"]
    assert next(r for r in csv_rows(client, "movement", query) if r[0] == "Won")[1:] == [
        "1",
        "98600.00",
    ]
