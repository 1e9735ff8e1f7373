"""The deals list `/deals/` (issue 10, item 5): what it shows, in which order, filtered how,
page by page, and its CSV. Bulk actions: test_deal_list_bulk.py; trash: test_deal_list_trash.py.
"""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.clients import signed_in
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    PipelineFactory,
    StageFactory,
    stage_named,
)

pytestmark = pytest.mark.django_db

URL = "/deals/"


def listed(client, **params):
    """The deal ids of the list's first page, in the order shown."""
    response = client.get(URL, params)
    assert response.status_code == 200
    return [deal.pk for deal in response.context["page"].object_list]


def csv_of(client, **params):
    response = client.get(URL, {**params, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_list_is_at_deals_with_a_nav_link_after_board(rep, team_a):
    response = signed_in(rep).get(reverse("deal-list"))
    assert reverse("deal-list") == URL
    html = response.content.decode()
    assert html.index(">Board</a>") < html.index(">Deals</a>") < html.index(">Leads</a>")


def test_the_list_shows_every_column(rep, team_a):
    company = CompanyFactory(name="Acme", owner=rep)
    contact = ContactFactory(first_name="Jane", last_name="Roe", company=company, owner=rep)
    DealFactory(
        title="Acme renewal",
        owner=rep,
        company=company,
        contact=contact,
        amount=Decimal("1234.50"),
        currency="EUR",
        probability_override=35,
        expected_close_date=dt.date(2030, 5, 17),
        last_activity_at=timezone.now(),
    )
    html = signed_in(rep).get(URL).content.decode()
    for shown in (
        "Acme renewal",
        "Acme",
        "Jane Roe",
        "Prospecting",
        "Open",
        "1,234.50",
        "May 17, 2030",
    ):
        assert shown in html
    assert "35 %" in html


# --- visibility ----------------------------------------------------------------------------------


def test_a_rep_never_sees_an_outsiders_deals_in_the_list_or_its_csv(rep, outsider, team_a, team_b):
    mine = DealFactory(owner=rep, title="Mine")
    DealFactory(owner=outsider, title="Secret outsider deal")
    client = signed_in(rep)
    assert listed(client, status="all") == [mine.pk]
    assert "Secret outsider deal" not in client.get(URL).content.decode()
    assert [row["title"] for row in csv_of(client, status="all")] == ["Mine"]
    # Asking for the outsider by owner id shows nothing either.
    assert listed(client, owner=str(outsider.pk)) == []


def test_a_manager_lists_the_deals_of_their_team_and_an_admin_everything(
    manager, admin_user, rep, teammate, outsider, team_a, team_b
):
    ours = {DealFactory(owner=rep).pk, DealFactory(owner=teammate).pk}
    theirs = DealFactory(owner=outsider).pk
    assert set(listed(signed_in(manager))) == ours
    assert set(listed(signed_in(admin_user))) == ours | {theirs}


# --- sorting -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("title", ["a", "b", "c"]),
        ("-title", ["c", "b", "a"]),
        ("amount", ["b", "c", "a"]),
        ("-amount", ["a", "c", "b"]),
        ("close", ["c", "a", "b"]),
        ("-probability", ["b", "a", "c"]),
    ],
)
def test_clicking_a_column_header_sorts_by_it(rep, team_a, sort, expected):
    today = timezone.localdate()
    nine = dt.timedelta(days=9)
    DealFactory(
        owner=rep, title="a", amount=300, expected_close_date=today, probability_override=50
    )
    DealFactory(
        owner=rep, title="b", amount=100, expected_close_date=today + nine, probability_override=90
    )
    DealFactory(
        owner=rep, title="c", amount=200, expected_close_date=today - nine
    )  # the stage's 10
    response = signed_in(rep).get(URL, {"sort": sort})
    assert [d.title for d in response.context["page"].object_list] == expected


def test_equal_values_keep_a_stable_order_by_id_and_empty_values_go_last(rep, team_a):
    same = [DealFactory(owner=rep, amount=500) for _ in range(3)]
    empty = DealFactory(owner=rep, amount=None)
    client = signed_in(rep)
    assert listed(client, sort="amount") == [*(d.pk for d in same), empty.pk]
    assert listed(client, sort="-amount") == [*(d.pk for d in reversed(same)), empty.pk]


def test_the_sort_is_in_the_links_of_the_headers_and_an_unknown_sort_falls_back(rep, team_a):
    DealFactory(owner=rep)
    client = signed_in(rep)
    html = client.get(URL, {"sort": "title", "status": "open"}).content.decode()
    # The title header now reverses the sort and keeps the filter.
    assert 'href="/deals/?sort=-title&amp;status=open"' in html
    assert 'aria-sort="ascending"' in html
    assert client.get(URL, {"sort": "password"}).context["sort"] == "close"


# --- filters -------------------------------------------------------------------------------------


@pytest.fixture
def spread(rep, teammate, team_a):
    """Deals differing in one way each, all visible to the rep."""
    today = timezone.localdate()
    other = PipelineFactory(name="Partners")
    partner_stage = StageFactory(pipeline=other, name="Intro")
    acme = CompanyFactory(name="Acme Corp", owner=rep)
    return {
        "small": DealFactory(owner=rep, title="Small", amount=100),
        "big": DealFactory(owner=rep, title="Big", amount=90_000),
        "teammates": DealFactory(owner=teammate, title="Teammate's", amount=5000),
        "won": DealFactory(
            owner=rep, title="Won", status="won", stage=stage_named("Closed"), won_at=timezone.now()
        ),
        "lost": DealFactory(owner=rep, title="Lost", status="lost", lost_at=timezone.now()),
        "late": DealFactory(
            owner=rep, title="Late", amount=700, expected_close_date=today + dt.timedelta(days=200)
        ),
        "partner": DealFactory(
            owner=rep, title="Partner", pipeline=other, stage=partner_stage, amount=800
        ),
        "acme": DealFactory(owner=rep, title="Acme deal", company=acme, amount=900),
        "proposal": DealFactory(owner=rep, title="Proposal", stage=stage_named("Proposal")),
        "active": DealFactory(
            owner=rep, title="Active", last_activity_at=timezone.now() - dt.timedelta(days=40)
        ),
        "stalled": DealFactory(owner=rep, title="Stalled", stalled=True, amount=600),
    }


def shown(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200
    return {deal.title for deal in response.context["page"].object_list}


def test_each_filter_keeps_exactly_the_matching_deals(rep, spread):
    today = timezone.localdate()
    client = signed_in(rep)
    everything = {d.title for d in spread.values()}
    assert shown(client) == everything - {"Lost"}  # like the board: lost deals on request
    assert shown(client, status="all") == everything
    assert shown(client, status="lost") == {"Lost"}
    assert shown(client, status="won") == {"Won"}
    assert shown(client, owner="me") == everything - {"Lost", "Teammate's"}
    assert shown(client, owner=str(spread["teammates"].owner_id)) == {"Teammate's"}
    assert shown(client, q="acme") == {"Acme deal"}
    assert shown(client, stalled="1") == {"Stalled"}
    assert shown(client, pipeline=str(spread["partner"].pipeline_id)) == {"Partner"}
    assert shown(client, stage=str(stage_named("Proposal").pk)) == {"Proposal"}
    assert shown(client, amount_min="5000") == {"Big", "Teammate's"}
    assert shown(client, amount_min="600", amount_max="800") == {"Late", "Partner", "Stalled"}
    later = (today + dt.timedelta(days=100)).isoformat()
    assert shown(client, close_from=later) == {"Late"}
    assert "Late" not in shown(client, close_to=later)
    since = (today - dt.timedelta(days=60)).isoformat()
    until = (today - dt.timedelta(days=20)).isoformat()
    assert shown(client, activity_from=since, activity_to=until) == {"Active"}


def test_a_bad_filter_value_is_reported_and_ignored(rep, spread):
    response = signed_in(rep).get(URL, {"amount_min": "lots", "status": "open"})
    assert response.status_code == 200
    assert "amount_min" in response.context["filter_form"].errors
    assert "Lost" not in {d.title for d in response.context["page"].object_list}
    assert "(ignored)" in response.content.decode()


def test_the_filter_form_swaps_only_the_results_and_pushes_its_url(rep, spread):
    client = signed_in(rep)
    page = client.get(URL).content.decode()
    assert 'hx-push-url="true"' in page
    assert 'hx-target="#deal-results"' in page
    fragment = client.get(
        URL, {"q": "acme"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="deal-results"
    ).content.decode()
    assert fragment.lstrip().startswith('<div id="deal-results"')
    assert "Acme deal" in fragment
    assert "Big" not in fragment
    # The bulk form posts with the filter, so "all matching" acts on what is shown.
    assert 'hx-post="/deals/bulk/?q=acme"' in fragment


# --- pages ---------------------------------------------------------------------------------------


def test_the_list_pages_fifty_deals_at_a_time(rep, team_a):
    deals = [DealFactory(owner=rep, title=f"Deal {i:03}") for i in range(120)]
    client = signed_in(rep)
    first = listed(client, sort="title")
    third = listed(client, sort="title", page="3")
    assert first == [d.pk for d in deals[:50]]
    assert third == [d.pk for d in deals[100:]]
    assert (
        'href="/deals/?sort=title&amp;page=2"'
        in client.get(URL, {"sort": "title"}).content.decode()
    )


def test_the_number_of_queries_does_not_grow_with_the_deals_listed(
    rep, team_a, django_assert_max_num_queries
):
    for i in range(60):
        DealFactory(
            owner=rep,
            company=CompanyFactory(owner=rep),
            contact=ContactFactory(owner=rep),
            title=f"Deal {i}",
        )
    client = signed_in(rep)
    client.get(URL)  # the session is warm
    # One of them reads the lost-reason list the bulk toolbar offers.
    with django_assert_max_num_queries(12):
        response = client.get(URL, {"status": "all", "sort": "company"})
    assert len(response.context["page"].object_list) == 50
    with django_assert_max_num_queries(10):
        client.get(URL, {"page": "2"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="deal-results")


# --- CSV -----------------------------------------------------------------------------------------


def test_the_csv_carries_the_filters_and_the_sort(rep, spread):
    client = signed_in(rep)
    rows = csv_of(client, amount_min="600", amount_max="900", sort="-amount")
    assert [row["title"] for row in rows] == ["Acme deal", "Partner", "Late", "Stalled"]
    assert rows[0]["company"] == "Acme Corp"
    assert rows[0]["amount"] == "900.00"
    assert rows[0]["pipeline"]
    assert rows[0]["stage"] == "Prospecting"
    assert rows[0]["owner"] == "rep"
    html = client.get(URL, {"q": "acme"}).content.decode()
    assert 'href="/deals/?q=acme&amp;format=csv"' in html


def test_formula_titles_come_back_as_text_in_the_csv(rep, team_a):
    DealFactory(owner=rep, title='=HYPERLINK("http://evil.example","x")')
    rows = csv_of(signed_in(rep))
    assert rows[0]["title"].startswith("'=HYPERLINK")


def test_the_list_needs_a_signed_in_user(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
