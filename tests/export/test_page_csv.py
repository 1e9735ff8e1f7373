"""Every list page answers `?format=csv` with the rows its filters select (not one page), within
the viewer's sight, formula-safe, and links to it with the filters it shows."""

import datetime as dt
import html
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from contacts.models import Company, Contact, Lead
from forecasting.models import Quota
from tests.export.conftest import EVIL_TITLE, as_dicts, live_formulas, read_csv
from tests.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    NotificationFactory,
    stage_named,
)

pytestmark = pytest.mark.django_db

PEOPLE_PAGES = ["/leads/", "/contacts/", "/companies/"]
# Every list page of the app: each has an Export CSV link and answers ?format=csv. A new list
# page goes here (its rows for the admin made by `every_kind_of_row`).
LIST_PAGES = [
    *PEOPLE_PAGES,
    "/notifications/",
    "/forecast/quotas/",
    "/settings/users/",
    "/settings/teams/",
]


@pytest.fixture
def evil_people(people):
    rep = people["rep"]
    company = CompanyFactory(name="@SUM(A1:A9)", domain="evil.example", owner=rep)
    ContactFactory(first_name="+1", last_name="=2+2", company=company, owner=rep)
    LeadFactory(first_name=EVIL_TITLE, company_name="-cmd", owner=rep)


@pytest.fixture
def every_kind_of_row(people, evil_people):
    """A row for the admin on every list page, with text a spreadsheet would run."""
    deal = DealFactory(title=EVIL_TITLE, owner=people["rep"])
    NotificationFactory(user=people["admin"], message="=1+1 happened", deal=deal)
    Quota.objects.create(
        user=people["rep"], period="month", period_start=dt.date(2026, 12, 1), amount=Decimal(5)
    )


@pytest.mark.parametrize("url", LIST_PAGES)
def test_every_list_page_links_to_its_csv_and_answers_it(url, people, every_kind_of_row):
    client = signed_in(people["admin"])
    page = html.unescape(client.get(url).content.decode())
    assert "Export CSV" in page
    assert "format=csv" in page
    response = client.get(url, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    rows = read_csv(response)
    assert len(rows) >= 2
    assert live_formulas(rows) == []


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", PEOPLE_PAGES)
def test_every_people_list_downloads_as_csv_without_a_live_formula(url, people, evil_people):
    response = signed_in(people["rep"]).get(url, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = read_csv(response)
    assert rows[0][0] == "ID"
    assert len(rows) == 2
    assert live_formulas(rows) == []


def test_formula_names_come_back_as_text_on_every_people_csv(people, evil_people):
    client = signed_in(people["rep"])
    (lead,) = as_dicts(read_csv(client.get("/leads/?format=csv")))
    (contact,) = as_dicts(read_csv(client.get("/contacts/?format=csv")))
    (company,) = as_dicts(read_csv(client.get("/companies/?format=csv")))
    assert (lead["First name"], lead["Company"]) == ("'" + EVIL_TITLE, "'-cmd")
    assert (contact["First name"], contact["Last name"]) == ("'+1", "'=2+2")
    assert (contact["Company"], company["Name"]) == ("'@SUM(A1:A9)", "'@SUM(A1:A9)")


def test_a_reps_lead_csv_holds_all_their_teams_leads_and_never_another_teams(people):
    LeadFactory.create_batch(30, owner=people["teammate"], company_name="Ours")
    LeadFactory.create_batch(3, owner=people["outsider"], company_name="Theirs")
    rows = as_dicts(read_csv(signed_in(people["rep"]).get("/leads/?format=csv")))
    assert len(rows) == 30  # past the page's 25 rows: the whole list
    assert {row["Company"] for row in rows} == {"Ours"}


def test_the_page_filters_narrow_the_csv(people):
    LeadFactory(first_name="Ada", status=Lead.Status.WORKING, owner=people["rep"])
    LeadFactory(first_name="Ada", status=Lead.Status.NEW, owner=people["rep"])
    LeadFactory(first_name="Bob", status=Lead.Status.WORKING, owner=people["rep"])
    CompanyFactory(name="Acme", owner=people["outsider"])
    CompanyFactory(name="Globex", owner=people["outsider"])
    client = signed_in(people["rep"])
    leads = as_dicts(read_csv(client.get("/leads/?q=ada&status=working&format=csv")))
    assert [(lead["First name"], lead["Status"]) for lead in leads] == [("Ada", "Working")]
    companies = as_dicts(read_csv(client.get("/companies/?q=acme&format=csv")))
    assert [company["Name"] for company in companies] == ["Acme"]


def test_a_companys_open_deals_count_only_the_deals_the_viewer_sees(people):
    company = CompanyFactory(name="Acme", owner=people["rep"])
    DealFactory(company=company, owner=people["rep"])
    DealFactory(company=company, owner=people["outsider"])
    (row,) = as_dicts(read_csv(signed_in(people["rep"]).get("/companies/?format=csv")))
    assert row["Open deals"] == "1"


@pytest.mark.parametrize("url", PEOPLE_PAGES)
def test_the_export_link_carries_the_filters_shown(url, people):
    rep = people["rep"]
    LeadFactory(first_name="Zed", owner=rep)
    ContactFactory(first_name="Zed", owner=rep)
    CompanyFactory(name="Zed", owner=rep)
    client = signed_in(rep)
    shown = client.get(url, {"q": "zed", "sort": "-created", "page": "1"})
    assert 'href="?q=zed&sort=-created&format=csv"' in html.unescape(shown.content.decode())
    # The search box swaps only the results: the link in them follows the new search.
    swapped = client.get(url, {"q": "ze"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    assert 'href="?q=ze&amp;format=csv"' in swapped.content.decode()
    assert "Export CSV" in swapped.content.decode()


def test_notifications_csv_holds_only_ones_own_and_follows_show_unread(people):
    rep = people["rep"]
    NotificationFactory.create_batch(35, user=rep, message="Yours")
    NotificationFactory(user=rep, message="=1+1 read", read_at=dt.datetime.now(dt.UTC))
    NotificationFactory(user=people["teammate"], message="Not yours")
    client = signed_in(rep)
    rows = read_csv(client.get("/notifications/?format=csv"))
    messages = [row["Message"] for row in as_dicts(rows)]
    assert len(messages) == 36  # past the page's 30
    assert "Not yours" not in messages
    assert "'=1+1 read" in messages
    unread = as_dicts(read_csv(client.get("/notifications/?show=unread&format=csv")))
    assert {row["Message"] for row in unread} == {"Yours"}
    page = html.unescape(client.get("/notifications/?show=unread").content.decode())
    assert 'href="?show=unread&format=csv"' in page


def test_quotas_csv_holds_what_the_quota_page_shows_and_reps_are_refused(people):
    Quota.objects.create(
        user=people["rep"], period="month", period_start=dt.date(2026, 12, 1), amount=Decimal(500)
    )
    Quota.objects.create(
        user=people["outsider"], period="month", period_start=dt.date(2026, 12, 1), amount=9
    )
    manager = signed_in(people["manager"])
    rows = as_dicts(read_csv(manager.get("/forecast/quotas/?format=csv")))
    assert [(row["Rep"], row["Amount"]) for row in rows] == [(str(people["rep"]), "500.00")]
    assert "Export CSV" in manager.get("/forecast/quotas/").content.decode()
    assert signed_in(people["rep"]).get("/forecast/quotas/?format=csv").status_code == 403


@pytest.mark.parametrize("table", ["stalled", "at_risk"])
def test_the_forecast_watch_tables_export_deal_titles_as_text(table, people):
    stalled = table == "stalled"
    DealFactory(
        title=EVIL_TITLE,
        owner=people["rep"],
        stage=stage_named("Proposal"),
        stalled=stalled,
        expected_close_date=dt.date(2027, 1, 10) if stalled else dt.date(2020, 1, 1),
    )
    response = signed_in(people["admin"]).get(f"/forecast/export/{table}.csv")
    rows = read_csv(response)
    assert rows[1][0] == "'" + EVIL_TITLE
    assert live_formulas(rows) == []


@pytest.mark.parametrize("url", [*LIST_PAGES, "/forecast/export/forecast.csv"])
def test_an_anonymous_csv_request_goes_to_the_login_page(client, url):
    response = client.get(url, {"format": "csv"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_page_csv_needs_no_csrf_token(people, evil_people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["rep"])
    assert client.get("/leads/?format=csv").status_code == 200


def queries_of_csv(client, url):
    with CaptureQueriesContext(connection) as captured:
        rows = read_csv(client.get(url))
    return len(captured), len(rows) - 1


@pytest.mark.parametrize("url", PEOPLE_PAGES)
def test_a_people_csv_costs_the_same_queries_for_3_and_300_rows(
    url, people, django_assert_max_num_queries
):
    client = signed_in(people["rep"])
    owners = [people["rep"], people["teammate"]]

    def add(count):
        start = Company.objects.count()
        companies = Company.objects.bulk_create(
            Company(name=f"Co {i}", owner=owners[i % 2]) for i in range(start, start + count)
        )
        Lead.objects.bulk_create(
            Lead(first_name=f"Lead {i}", owner=owners[i % 2]) for i in range(count)
        )
        Contact.objects.bulk_create(
            Contact(first_name=f"Contact {i}", owner=owners[i % 2], company=companies[i])
            for i in range(count)
        )

    add(3)
    few, rows = queries_of_csv(client, f"{url}?format=csv")
    assert rows == 3
    add(297)
    with django_assert_max_num_queries(few):
        _, rows = queries_of_csv(client, f"{url}?format=csv")
    assert rows == 300
