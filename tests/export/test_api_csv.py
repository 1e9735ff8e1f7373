"""Every API list answers `?format=csv`: all its rows, same filters and visibility, formula-safe.

The list endpoints are found by walking the API's URL conf, so a list added later without
`pipeline_crm.csv_api.CsvListMixin` fails here.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLResolver, get_resolver, reverse

from accounts.models import Team, User
from contacts.models import Lead
from currencies.models import ExchangeRate
from forecasting.models import Quota
from imports.models import Import
from integrations.models import Webhook
from tests.export.conftest import EVIL_TITLE, as_dicts, live_formulas, read_csv
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    NotificationFactory,
    StageFactory,
    bulk_deals,
    default_pipeline,
)

pytestmark = pytest.mark.django_db


def api_list_routes():
    """URL names of every viewset's list action under /api/."""
    found = []

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif getattr(pattern.callback, "actions", {}).get("get") == "list":
                found.append(pattern.name)

    walk(get_resolver("pipeline_crm.api_urls").url_patterns)
    return found


LIST_ROUTES = api_list_routes()


@pytest.fixture
def evil_world(people):
    """A record of every listed kind, each with text a spreadsheet would run where it shows."""
    admin, rep = people["admin"], people["rep"]
    admin.first_name = "=Eve"
    admin.save()
    deal = DealFactory(title=EVIL_TITLE, owner=rep, next_step="@SUM(A1)")
    company = CompanyFactory(name="@SUM(A1:A9)", industry="-2+3", owner=rep)
    ContactFactory(first_name="+1", title="=1+1", company=company, owner=rep)
    LeadFactory(first_name="-cmd", company_name="\tTabbed", owner=rep)
    ActivityFactory(subject="=cmd|' /C calc'!A0", owner=rep, deal=deal)
    NotificationFactory(user=admin, message="@everyone look", deal=deal)
    StageFactory(name="=Stage", pipeline__name="+Pipeline")
    Team.objects.filter(name="Team A").update(name="=Team A")
    Webhook.objects.create(url="https://93.184.215.14/=hook", events=["deal.won"])
    Import.objects.create(kind="leads", created_by=admin, file_name="=leads.csv", status="done")
    Quota.objects.create(
        user=rep, period="month", period_start=dt.date(2026, 12, 1), amount=Decimal("500")
    )
    ExchangeRate.objects.create(
        currency="EUR", rate=Decimal("1.08"), valid_from=dt.date(2026, 1, 1)
    )
    return deal


def test_the_walk_finds_every_list_of_the_spec():
    names = set(LIST_ROUTES)
    for name in ("user", "team", "pipeline", "stage", "deal", "company", "contact", "lead"):
        assert f"api-{name}-list" in names
    for name in ("activity", "notification", "quota"):
        assert f"api-{name}-list" in names


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_every_api_list_answers_csv_with_the_json_fields_and_no_live_formula(
    route, api_for, people, evil_world
):
    client = api_for(people["admin"])
    url = reverse(route)
    response = client.get(url, {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    rows = read_csv(response)
    records = client.get(url).json()["results"]
    assert rows[0] == list(records[0])  # one column per field, in the JSON's order
    assert len(rows) - 1 == len(records)  # every row (all fit in one JSON page here)
    assert live_formulas(rows) == []


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_accept_text_csv_is_the_same_as_format_csv(route, api_for, people, evil_world):
    client = api_for(people["admin"])
    by_header = client.get(reverse(route), HTTP_ACCEPT="text/csv")
    by_format = client.get(reverse(route), {"format": "csv"})
    assert by_header["Content-Type"].startswith("text/csv")
    assert read_csv(by_header) == read_csv(by_format)


def test_a_deal_titled_as_a_formula_comes_back_as_text_and_money_as_a_number(
    api_for, people, evil_world
):
    rows = as_dicts(read_csv(api_for(people["rep"]).get("/api/deals/", {"format": "csv"})))
    (deal,) = rows
    assert deal["title"] == "'" + EVIL_TITLE
    assert deal["next_step"] == "'@SUM(A1)"
    assert deal["amount"] == "1000.00"
    assert deal["owner"] == str(people["rep"].pk)


def test_contacts_companies_and_leads_named_as_formulas_come_back_as_text(
    api_for, people, evil_world
):
    client = api_for(people["rep"])
    (contact,) = as_dicts(read_csv(client.get("/api/contacts/?format=csv")))
    (company,) = as_dicts(read_csv(client.get("/api/companies/?format=csv")))
    (lead,) = as_dicts(read_csv(client.get("/api/leads/?format=csv")))
    assert (contact["first_name"], contact["title"]) == ("'+1", "'=1+1")
    assert (company["name"], company["industry"]) == ("'@SUM(A1:A9)", "'-2+3")
    assert (lead["first_name"], lead["company_name"]) == ("'-cmd", "'\tTabbed")


def test_a_reps_csv_holds_every_deal_they_see_and_never_another_teams(api_for, people):
    bulk_deals([people["rep"], people["teammate"]], 120, title="Ours")
    bulk_deals([people["outsider"]], 30, title="Theirs")
    rows = as_dicts(read_csv(api_for(people["rep"]).get("/api/deals/?format=csv")))
    assert len(rows) == 120  # past the JSON's page of 50: no pagination
    assert all(row["title"].startswith("Ours") for row in rows)
    outsider = str(people["outsider"].pk)
    assert outsider not in {row["owner"] for row in rows}
    outsiders_csv = as_dicts(read_csv(api_for(people["outsider"]).get("/api/deals/?format=csv")))
    assert {row["title"][:6] for row in outsiders_csv} == {"Theirs"}


def test_owner_status_and_q_filters_narrow_the_csv_as_they_narrow_the_json(api_for, people):
    bulk_deals([people["rep"], people["teammate"]], 20)
    DealFactory(title="Acme renewal", owner=people["teammate"])
    client = api_for(people["rep"])
    teammate = people["teammate"].pk
    by_owner = as_dicts(read_csv(client.get(f"/api/deals/?format=csv&owner={teammate}")))
    assert len(by_owner) == 11
    assert {row["owner"] for row in by_owner} == {str(teammate)}
    by_text = as_dicts(read_csv(client.get("/api/deals/?format=csv&q=acme")))
    assert [row["title"] for row in by_text] == ["Acme renewal"]
    json_ids = [d["id"] for d in client.get(f"/api/deals/?owner={teammate}").json()["results"]]
    assert [int(row["id"]) for row in by_owner] == json_ids  # the same order, newest first


def test_lists_and_objects_are_flattened_into_readable_cells(api_for, people, evil_world):
    client = api_for(people["admin"])
    teams = {row["name"]: row for row in as_dicts(read_csv(client.get("/api/teams/?format=csv")))}
    team_a = teams["'=Team A"]
    members = sorted(int(member) for member in team_a["members"].split("; "))
    assert members == sorted([people["rep"].pk, people["teammate"].pk])
    pipelines = as_dicts(read_csv(client.get("/api/pipelines/?format=csv")))
    default = next(row for row in pipelines if row["is_default"] == "true")
    names = list(default_pipeline().stages.order_by("order").values_list("name", flat=True))
    assert default["stages"].split("; ") == names
    Lead.objects.update(score_breakdown=[{"rule_id": 1, "rule": "Need is set", "points": 20}])
    (lead,) = as_dicts(read_csv(client.get("/api/leads/?format=csv")))
    parts = set(lead["score_breakdown"].split("; "))  # jsonb keeps no key order
    assert parts == {"rule_id=1", "rule=Need is set", "points=20"}


def test_a_record_and_a_history_also_answer_csv(api_for, people, evil_world):
    client = api_for(people["rep"])
    one = read_csv(client.get(f"/api/deals/{evil_world.pk}/?format=csv"))
    assert one[1][one[0].index("title")] == "'" + EVIL_TITLE
    history = client.get(f"/api/deals/{evil_world.pk}/history/?format=csv")
    assert history.status_code == 200
    assert history["Content-Type"].startswith("text/csv")


def test_errors_stay_json_when_csv_was_asked_for(api_for, people):
    anonymous = api_for(None).get("/api/deals/?format=csv")
    assert anonymous.status_code == 401
    assert anonymous["Content-Type"] == "application/json"
    assert "detail" in anonymous.json()
    bad = api_for(people["rep"]).get("/api/deals/?format=csv&owner=abc")
    assert bad.status_code == 400
    assert "owner" in bad.json()


def test_a_signed_in_browser_downloads_without_a_csrf_token(people):
    DealFactory(owner=people["rep"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["rep"])
    response = client.get("/api/deals/?format=csv")
    assert response.status_code == 200
    assert len(read_csv(response)) == 2


def test_the_schema_offers_the_csv_format_on_lists(api_for):
    schema = api_for(None).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    deals = schema.json()["paths"]["/api/deals/"]["get"]
    assert "format" in {parameter["name"] for parameter in deals["parameters"]}
    assert "text/csv" in deals["responses"]["200"]["content"]


# --- queries do not grow with the rows ------------------------------------------------------------


def queries_of_csv(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        rows = read_csv(response)  # the rows are read while the answer streams
    return len(captured), len(rows) - 1


def add_users(count, team):
    users = User.objects.bulk_create(
        User(username=f"bulk{i}", first_name="Bulk", password="!")  # noqa: S106 - unusable
        for i in range(count)
    )
    rep = Group.objects.get(name="rep")
    User.groups.through.objects.bulk_create(
        User.groups.through(user_id=user.pk, group_id=rep.pk) for user in users
    )
    team.members.add(*users)


@pytest.mark.parametrize("viewer", ["rep", "admin"])
def test_the_deal_csv_costs_the_same_queries_for_3_and_300_deals(
    viewer, api_for, people, django_assert_max_num_queries
):
    client = api_for(people[viewer])
    bulk_deals([people["rep"]], 3)
    few, rows = queries_of_csv(client, "/api/deals/?format=csv")
    assert rows == 3
    bulk_deals([people["rep"], people["teammate"]], 297)
    with django_assert_max_num_queries(few):
        _, rows = queries_of_csv(client, "/api/deals/?format=csv")
    assert rows == 300


def test_the_user_csv_reads_groups_and_teams_per_chunk_not_per_user(
    api_for, people, team_a, django_assert_max_num_queries
):
    client = api_for(people["admin"])
    few, rows = queries_of_csv(client, "/api/users/?format=csv")
    add_users(300, team_a)
    with django_assert_max_num_queries(few):
        _, many_rows = queries_of_csv(client, "/api/users/?format=csv")
    assert many_rows == rows + 300
    users = as_dicts(read_csv(client.get("/api/users/?format=csv")))
    bulk = next(user for user in users if user["username"] == "bulk7")
    assert (bulk["role"], bulk["teams"]) == ("rep", str(team_a.pk))


def test_the_browsable_api_still_renders_and_offers_the_csv_format(people):
    DealFactory(title=EVIL_TITLE, owner=people["rep"])
    client = Client()
    client.force_login(people["rep"])
    page = client.get("/api/deals/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert "format=csv" in page.content.decode()
