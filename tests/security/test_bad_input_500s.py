"""Input an attacker found that made the server answer 500 (issue 11): each is now a 400 or a
404 with a reason, or handled, and a guard keeps the class from coming back."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from contacts.models import Company
from contacts.services import company_for_lead
from followups.calendar_feed import calendar_for
from followups.models import Activity
from tests.clients import signed_in
from tests.factories import ActivityFactory, CompanyFactory, LeadFactory, stage_named

pytestmark = pytest.mark.django_db

DEEP = 10_000


def deeply_nested(levels):
    return "[" * levels + "]" * levels


# --- 1. JSON nested too deep ----------------------------------------------------------------------


def test_json_nested_ten_thousand_deep_is_refused_with_400_on_the_token_endpoint(db):
    response = APIClient().post(
        "/api/auth/token/", deeply_nested(DEEP), content_type="application/json"
    )
    assert response.status_code == 400
    assert "nested deeper than 64 levels" in response.json()["detail"]


def test_json_nested_ten_thousand_deep_is_refused_with_400_on_a_signed_in_endpoint(rep, api_for):
    body = '{"title": ' + deeply_nested(DEEP) + "}"
    response = api_for(rep).post("/api/deals/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested deeper than" in response.json()["detail"]


def test_json_nested_within_the_limit_is_still_parsed(rep, api_for):
    body = '{"subject": "Call", "kind": "call", "body": "' + "[[[[" * 50 + '"}'  # in a string
    response = api_for(rep).post("/api/activities/", body, content_type="application/json")
    assert response.status_code == 201, response.content


# --- 2, 3. required fields the model has a default for -----------------------------------------


def test_posting_an_activity_without_kind_answers_400_naming_kind(rep, api_for):
    response = api_for(rep).post("/api/activities/", {"subject": "Call back"}, format="json")
    assert response.status_code == 400
    assert "kind" in response.json()


def test_posting_a_quota_without_period_answers_400_naming_period(admin_user, rep, api_for):
    body = {"user": rep.pk, "period_start": "2026-01-01", "amount": "1000.00"}
    response = api_for(admin_user).post("/api/quotas/", body, format="json")
    assert response.status_code == 400
    assert "period" in response.json()


# --- 4. NUL bytes in URLs -------------------------------------------------------------------------


def test_a_nul_byte_in_the_calendar_feed_token_answers_404_not_500(rep):
    assert signed_in(rep).get(f"/calendar/{rep.calendar_token}%00.ics").status_code in (400, 404)
    token = rep.calendar_token + "\x00"
    from followups.calendar_feed import user_for_token

    assert user_for_token(token) is None  # the feed itself refuses it too, middleware aside


def test_a_nul_byte_in_the_company_autocomplete_query_answers_400(rep):
    response = signed_in(rep).get("/companies/options/?company=Acme%00")
    assert response.status_code == 400


def test_a_nul_byte_in_an_api_query_string_answers_400_with_a_reason(rep, api_for):
    response = api_for(rep).get("/api/deals/?search=a%00b")
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


# --- 5, 6. numbers from the query string -------------------------------------------------------


def test_a_unicode_digit_as_company_on_the_new_contact_page_is_ignored(rep):
    response = signed_in(rep).get("/contacts/new/?company=²")
    assert response.status_code == 200


def test_a_unicode_digit_as_owner_filter_on_the_board_is_ignored(rep, team_a):
    assert signed_in(rep).get("/board/?owner=²").status_code == 200


@pytest.mark.parametrize("after", [f"{2**63}:1", f"1:{2**63}", f"-{2**64}:1", "²:1"])
def test_a_board_cards_cursor_out_of_range_starts_from_the_top(rep, team_a, after):
    stage = stage_named("Prospecting")
    url = f"/board/{stage.pipeline_id}/stages/{stage.pk}/cards/?after={after}"
    assert signed_in(rep).get(url).status_code == 200


# --- 7. dates out of range ------------------------------------------------------------------------


def test_an_activity_due_in_year_9999_is_refused_with_400(rep, api_for):
    body = {"kind": "call", "subject": "Far away", "due_at": "9999-12-31T23:59:59Z"}
    response = api_for(rep).post("/api/activities/", body, format="json")
    assert response.status_code == 400
    assert "due_at" in response.json()


def test_the_contact_page_activity_form_refuses_year_9999(rep):
    from followups.forms import ActivityForm

    form = ActivityForm(data={"kind": "call", "subject": "x", "due_at": "9999-12-31T23:59"})
    assert not form.is_valid()
    assert "due_at" in form.errors


def test_the_calendar_feed_still_answers_with_an_activity_stored_at_year_9999(rep):
    far = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    ActivityFactory(owner=rep, kind=Activity.Kind.MEETING, subject="Far away", due_at=far)
    ActivityFactory(owner=rep, subject="Tomorrow", due_at=dt.datetime.now(dt.UTC) + dt.timedelta(1))

    response = signed_in(rep).get(f"/calendar/{rep.calendar_token}.ics")

    assert response.status_code == 200
    assert b"Far away" in response.content
    assert b"Tomorrow" in calendar_for(rep)


# --- 8. a company domain created by someone else meanwhile ---------------------------------------


@pytest.mark.django_db(transaction=True)
def test_converting_a_lead_while_another_writer_creates_its_domain_takes_that_company(rep):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's concurrent transactions (set DATABASE_URL)")
    lead = LeadFactory(owner=rep, email="buyer@racing.example", company_name="Racing Ltd")
    inserted = threading.Event()

    def rival():  # a form or API create: does not serialize on the domain
        from django.db import connection as rival_connection

        try:
            with transaction.atomic():
                CompanyFactory(name="Racing", domain="racing.example", owner=rep)
                inserted.set()
                time.sleep(1)  # committed only once the conversion waits on the unique index
        finally:
            rival_connection.close()

    thread = threading.Thread(target=rival)
    thread.start()
    assert inserted.wait(timeout=30)
    company = company_for_lead(lead, owner=rep)
    thread.join(timeout=30)

    assert company == Company.objects.get(domain="racing.example")
    assert company.name == "Racing"


# --- found while fixing: ids posted as unicode digits ---------------------------------------------


def test_bulk_action_and_trash_restore_ignore_ids_that_are_unicode_digits(manager, team_a):
    client = signed_in(manager)
    headers = {"HTTP_HX_REQUEST": "true"}
    bulk = client.post("/deals/bulk/", {"action": "lost", "ids": ["²"]}, **headers)
    restore = client.post("/deals/trash/restore/", {"ids": ["²", str(2**70)]}, **headers)
    assert bulk.status_code < 500
    assert restore.status_code == 404  # nothing of that in the trash
