"""Issue 14 item 7: the forecast ahead and the history window as separate controls, post-sale
conversion not applicable, lost reasons per stage, one meaning of "pipeline on date X", and the
deals behind every movement figure (page and API)."""

import csv
import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from deals.models import Deal, FieldChange, StageChange
from forecasting import analytics, services
from forecasting.analytics import Scope
from forecasting.models import ForecastSnapshot
from tests.factories import lost_reason_entry, stage_named
from tests.forecasting.conftest import history, make_deal
from tests.forecasting.test_dashboard import table_rows

pytestmark = pytest.mark.django_db


def card(html: str, key: str) -> str:
    found = re.search(rf'data-card="{key}"><span class="label">[^<]*</span><strong>([^<]*)', html)
    assert found, f"no {key} card"
    return found.group(1)


def test_cards_stay_filled_with_a_past_history_window_and_later_forecast_months(
    client, manager, people
):
    today = timezone.localdate()
    make_deal(people["rep"], "Proposal", amount="1000.00", close=today.isoformat())
    make_deal(people["rep"], "Closed", amount="400.00", won_at=timezone.now())
    client.force_login(manager)
    later = (today + dt.timedelta(days=400)).strftime("%Y-%m")
    query = f"?forecast_from={later}&forecast_to={later}"
    query += "&history_since=2020-01-01&history_until=2020-03-31"
    html = client.get(reverse("forecast") + query).content.decode()
    assert card(html, "weighted") == "$550"  # 1,000 at Proposal's 55 %, due this month
    assert card(html, "won") == "$400"
    assert "2020-01-01 – 2020-03-31" in html  # the closed-deal cards read the history window
    rows = table_rows(html, "forecast")
    assert rows[0][0] == later  # the table shows the months asked for


def test_the_controls_come_in_three_groups_and_say_what_pipeline_on_a_day_means(client, manager):
    client.force_login(manager)
    html = client.get(reverse("forecast")).content.decode()
    for group in ("scope", "forecast", "history"):
        assert f'data-group="{group}"' in html
    for name in ("forecast_from", "forecast_to", "history_since", "history_until"):
        assert f'name="{name}"' in html
    assert "at the start of that day (00:00)" in html


def test_an_old_link_with_one_range_still_works(client, manager, people):
    make_deal(people["rep"], "Proposal", amount="1000.00", close="2026-10-05")
    client.force_login(manager)
    page = client.get(reverse("forecast") + "?since=2026-10-01&until=2026-10-31")
    assert page.status_code == 200
    assert table_rows(page.content.decode(), "forecast")[0][0] == "2026-10"
    funnel = client.get(reverse("forecast-panel", args=["funnel"]) + "?since=2026-10-01")
    assert "2026-10-01 –" in funnel.content.decode()
    # A range wholly ahead was meant for the forecast: the history keeps its default window.
    ahead = (timezone.localdate() + dt.timedelta(days=60)).isoformat()
    funnel = client.get(reverse("forecast-panel", args=["funnel"]) + f"?since={ahead}")
    start, today = analytics.default_funnel_range()
    assert f"{start} – {today}" in funnel.content.decode()


def test_post_sale_conversion_is_not_applicable_on_the_page_and_null_in_the_api(
    client, manager, people
):
    deal = make_deal(people["rep"], "Post-sale", amount="100.00")
    history(
        deal, ("Prospecting", "2026-10-02"), ("Closed", "2026-10-05"), ("Post-sale", "2026-10-09")
    )
    client.force_login(manager)
    dates = "?history_since=2026-10-01&history_until=2026-10-31"
    html = client.get(reverse("forecast-panel", args=["funnel"]) + dates).content.decode()
    rows = {row[0]: row for row in table_rows(html, "funnel")}
    assert rows["Post-sale"][1] == "1"
    assert rows["Post-sale"][3] == "n/a"
    assert rows["Closed"][3] == "100.0 %"
    body = client.get("/api/analytics/funnel/" + dates).json()
    stages = {s["name"]: s for s in body["stages"]}
    assert stages["Post-sale"]["conversion"] is None
    assert stages["Closed"]["conversion"] == 1.0
    exported = client.get(reverse("forecast-export", args=["funnel"]) + dates)
    post_sale = next(
        r
        for r in csv.reader(io.StringIO(exported.content.decode("utf-8-sig")))
        if r[0] == "Post-sale"
    )
    assert post_sale[3] == ""


def test_lost_reasons_per_stage_give_counts_and_share_of_the_stage(client, manager, people):
    now = timezone.now()
    price, timing = lost_reason_entry("Price"), lost_reason_entry("Timing")
    for reason in (price, price, timing):
        make_deal(people["rep"], "Proposal", status="lost", lost_at=now, lost_reason=reason)
    make_deal(people["rep"], "Negotiation", status="lost", lost_at=now, lost_reason=timing)
    client.force_login(manager)
    html = client.get(reverse("forecast-panel", args=["funnel"])).content.decode()
    assert 'data-panel="lost_by_stage"' in html
    assert table_rows(html, "lost_by_stage") == [
        ["Proposal", "Price", "2", "66.7 %"],
        ["Proposal", "Timing", "1", "33.3 %"],
        ["Negotiation", "Timing", "1", "100.0 %"],
    ]
    exported = client.get(reverse("forecast-export", args=["lost_by_stage"]))
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == ["Stage", "Reason", "Deals", "Share of stage"]
    assert rows[1] == ["Proposal", "Price", "2", "0.6667"]


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=timezone.get_current_timezone())


def snapshot_rows():
    fields = ("taken_on", "deal", "stage", "status", "amount", "probability")
    return sorted(ForecastSnapshot.objects.values_list(*fields, "expected_close_date"))


def test_pipeline_on_a_day_is_its_start_from_the_snapshot_and_from_history_alike(people):
    day = dt.date(2026, 10, 10)
    rep = people["rep"]
    moved = make_deal(rep, "Proposal", amount="1000.00", created="2026-10-01", close="2026-11-20")
    history(moved, ("Prospecting", "2026-10-01"), ("Proposal", "2026-10-05"))
    staying = make_deal(rep, "Prospecting", amount="500.00", created="2026-10-01")
    history(staying, ("Prospecting", "2026-10-01"))
    services.take_snapshot(day=day)  # what the nightly job sees at 00:15 of the day
    # During the day, after the snapshot: a move, a loss and a new deal.
    StageChange.objects.create(
        deal=moved,
        from_stage=stage_named("Proposal"),
        to_stage=stage_named("Negotiation"),
        from_stage_name="Proposal",
        to_stage_name="Negotiation",
        at=_at(day, 11),
    )
    FieldChange.objects.create(
        deal=moved,
        field="expected_close_date",
        old_value="2026-11-20",
        new_value="2026-12-15",
        at=_at(day, 11),
    )
    Deal.objects.filter(pk=moved.pk).update(
        stage=stage_named("Negotiation"), expected_close_date=dt.date(2026, 12, 15)
    )
    FieldChange.objects.create(
        deal=staying, field="status", old_value="open", new_value="lost", at=_at(day, 12)
    )
    Deal.objects.filter(pk=staying.pk).update(status="lost", lost_at=_at(day, 12))
    later = make_deal(rep, "Prospecting", amount="9000.00")
    Deal.objects.filter(pk=later.pk).update(created_at=_at(day, 13))

    scope = Scope(user=people["manager"])
    from_snapshot = analytics.pipeline_as_of(scope, day)
    taken = snapshot_rows()
    ForecastSnapshot.objects.all().delete()
    from_history = analytics.pipeline_as_of(scope, day)
    # The demo's snapshots are written from the same reconstruction: the same rows.
    assert services.snapshot_from_history(days=[day]) == 2
    assert snapshot_rows() == taken
    assert (from_snapshot.source, from_history.source) == ("snapshot", "history")

    def shape(result):
        return [(s.name, s.deals, s.amount, s.weighted) for s in result.stages]

    assert shape(from_history) == shape(from_snapshot)
    assert shape(from_history) == [
        ("Prospecting", 1, 500, 50),
        ("Proposal", 1, 1000, 550),
    ]


@pytest.fixture
def moves(people):
    """Deals moving since 2026-10-01: two new (one advanced), one won, one lost, one slipped."""
    rep = people["rep"]
    since = "2026-10-01"
    advanced = make_deal(rep, "Proposal", amount="1000.00", created="2026-10-02")
    history(advanced, ("Prospecting", "2026-10-02"), ("Proposal", "2026-10-04"))
    make_deal(rep, "Prospecting", amount="200.00", created="2026-10-03")
    make_deal(
        rep, "Closed", amount="300.00", created="2026-01-01", won_at=_at(dt.date(2026, 10, 6), 9)
    )
    make_deal(
        rep, "Proposal", status="lost", created="2026-01-01", lost_at=_at(dt.date(2026, 10, 7), 9)
    )
    slipped = make_deal(
        rep, "Negotiation", amount="700.00", created="2026-01-01", close="2026-12-01"
    )
    FieldChange.objects.create(
        deal=slipped,
        field="expected_close_date",
        old_value="2026-10-20",
        new_value="2026-12-01",
        at=_at(dt.date(2026, 10, 8), 9),
    )
    make_deal(people["outsider"], "Prospecting", created="2026-10-03")  # not the manager's
    return since


def test_every_movement_figure_opens_as_many_deals_as_it_counts(client, manager, moves):
    client.force_login(manager)
    query = f"history_since={moves}"
    figures = analytics.movement_since(Scope(user=manager), dt.date.fromisoformat(moves))
    assert figures.counts == {"new": 2, "advanced": 1, "slipped": 1, "won": 1, "lost": 1}
    api = APIClient()
    api.force_authenticate(manager)
    summary = {
        m["kind"]: m["count"] for m in api.get(f"/api/forecast/movement/?{query}").json()["moves"]
    }
    assert summary == figures.counts
    for kind, count in figures.counts.items():
        page = client.get(reverse("forecast-movement-deals") + f"?{query}&kind={kind}")
        assert page.status_code == 200
        assert len(table_rows(page.content.decode(), "movement_deals")) == count
        listed = api.get(f"/api/forecast/movement/deals/?{query}&kind={kind}").json()
        assert listed["count"] == count == len(listed["results"])
    fragment = client.get(reverse("forecast-movement") + f"?{query}").content.decode()
    assert f"{reverse('forecast-movement-deals')}?{query}&amp;kind=slipped" in fragment
    assert table_rows(fragment, "movement")[2] == [
        "Close date pushed into a later period",
        "1",
        "$700",
    ]


def test_the_movement_deals_page_pages_and_exports_them_all(client, manager, moves):
    client.force_login(manager)
    url = reverse("forecast-movement-deals") + f"?history_since={moves}&kind=new"
    exported = client.get(url + "&format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["Deal", "Owner", "Stage"]
    assert len(rows) == 3
    assert client.get(url.replace("kind=new", "kind=nonsense")).status_code == 400
    api = APIClient()
    api.force_authenticate(manager)
    assert api.get("/api/forecast/movement/deals/?kind=nonsense").status_code == 400


def test_the_movement_deals_page_reads_in_a_fixed_number_of_queries(
    client, manager, people, django_assert_max_num_queries
):
    client.force_login(manager)
    url = reverse("forecast-movement-deals") + "?kind=new"
    make_deal(people["rep"], "Prospecting")
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for _ in range(20):
        make_deal(people["teammate"], "Proposal")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
