"""Bad input answers 400 naming the field, 413 for a body too large, 415 for a wrong content
type; never a 500."""

import json
import tempfile
from urllib.parse import urlencode

import pytest
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.base import BaseHandler
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contacts.models import Contact
from deals.models import Deal
from tests.factories import (
    PASSWORD,
    DealFactory,
    LeadFactory,
    PipelineFactory,
    StageFactory,
    stage_named,
)

pytestmark = pytest.mark.django_db

LONG = "x" * 10_000


@pytest.fixture
def client(rep, api_for):
    return api_for(rep)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "T", "amount": "-1.00"}, "amount"),
        ({"title": "T", "amount": "lots"}, "amount"),
        ({"title": "T", "amount": "1.234"}, "amount"),
        ({"title": "T", "amount": "1e20"}, "amount"),
        ({"title": "T", "probability_override": 150}, "probability_override"),
        ({"title": "T", "probability_override": -1}, "probability_override"),
        ({"title": "T", "probability_override": "high"}, "probability_override"),
        ({"title": "T", "stage": 999999}, "stage"),
        ({"title": "T", "stage": "first"}, "stage"),
        ({"title": "T", "pipeline": 999999}, "pipeline"),
        ({"title": "T", "owner": 999999}, "owner"),
        ({"title": "T", "company": [1, 2]}, "company"),
        ({"title": "T", "expected_close_date": "next tuesday"}, "expected_close_date"),
        ({"title": "T", "currency": "DOLLARS"}, "currency"),
        ({"title": "T", "currency": "1$€"}, "currency"),
        ({"title": LONG}, "title"),
        ({"title": "T", "next_step": LONG}, "next_step"),
        ({"title": ""}, "title"),
        ({"title": None}, "title"),
        ({"title": ["a", "list"]}, "title"),
        ({}, "title"),
    ],
)
def test_creating_a_deal_with_bad_input_is_a_400_naming_the_field(client, payload, field):
    response = client.post("/api/deals/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Deal.objects.exists()


def test_a_stage_of_another_pipeline_is_refused_on_create_and_on_move(rep, client):
    foreign = StageFactory(pipeline=PipelineFactory())
    created = client.post("/api/deals/", {"title": "T", "stage": foreign.pk})
    # Without a pipeline the stage decides it; with the default pipeline named it clashes.
    assert created.status_code == 201
    clash = client.post(
        "/api/deals/",
        {"title": "T", "stage": foreign.pk, "pipeline": stage_named("Contact").pipeline_id},
    )
    assert clash.status_code == 400
    assert "stage" in clash.json()

    deal = DealFactory(owner=rep)
    moved = client.post(f"/api/deals/{deal.pk}/move/", {"stage": foreign.pk, "version": 1})
    assert moved.status_code == 400
    assert "stage" in moved.json()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"version": 1}, "stage"),
        ({"stage": 999999, "version": 1}, "stage"),
        ({"stage": "PLACEHOLDER"}, "version"),
        ({"stage": "PLACEHOLDER", "version": "one"}, "version"),
        ({"stage": "PLACEHOLDER", "version": -1}, "version"),
        ({"stage": "PLACEHOLDER", "version": 1, "position": -3}, "position"),
        ({"stage": "PLACEHOLDER", "version": 1, "position": "top"}, "position"),
        ({"stage": "PLACEHOLDER", "version": 1, "values": "amount=5"}, "values"),
    ],
)
def test_a_bad_move_is_a_400_naming_the_field(rep, client, payload, field):
    deal = DealFactory(owner=rep)
    if payload.get("stage") == "PLACEHOLDER":
        payload = {**payload, "stage": stage_named("Contact").pk}
    response = client.post(f"/api/deals/{deal.pk}/move/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    deal.refresh_from_db()
    assert deal.version == 1


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("won/", {"amount": "-5"}, "amount"),
        ("lost/", {"reason": ""}, "reason"),
        ("lost/", {"reason": "   "}, "reason"),
        ("lost/", {"reason": LONG}, "reason"),
        ("lost/", {"reason": "x", "version": "v2"}, "version"),
    ],
)
def test_bad_won_and_lost_input_is_a_400_naming_the_field(rep, client, path, payload, field):
    deal = DealFactory(owner=rep)
    response = client.post(f"/api/deals/{deal.pk}/{path}", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_malformed_json_is_a_400_not_a_500(rep, client):
    deal = DealFactory(owner=rep)
    for method, url in [
        ("post", "/api/deals/"),
        ("patch", f"/api/deals/{deal.pk}/"),
        ("post", f"/api/deals/{deal.pk}/move/"),
        ("post", "/api/leads/"),
    ]:
        response = getattr(client, method)(
            url, data='{"title": "broken', content_type="application/json"
        )
        assert response.status_code == 400, url
        assert "detail" in response.json()


def test_a_json_body_that_is_not_an_object_is_a_400(client):
    response = client.post(
        "/api/deals/", data=json.dumps(["title"]), content_type="application/json"
    )
    assert response.status_code == 400


def test_an_unsupported_content_type_is_a_415(client):
    response = client.post("/api/deals/", data="<deal/>", content_type="application/xml")
    assert response.status_code == 415


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"first_name": "A", "budget": "-100"}, "budget"),
        ({"first_name": "A", "source": "carrier pigeon"}, "source"),
        ({"first_name": "A", "email": "not-an-email"}, "email"),
        ({"first_name": "A", "authority": "maybe"}, "authority"),
        ({"first_name": "A", "timeline": "soon"}, "timeline"),
        ({"first_name": "A", "status": "disqualified"}, "status"),
        ({"first_name": LONG}, "first_name"),
        ({"first_name": "A", "company_name": LONG}, "company_name"),
        ({"first_name": "A", "need": LONG}, "need"),
        ({"first_name": "A", "score": 500}, None),  # read-only: ignored, not stored
        ({}, "first_name"),
    ],
)
def test_bad_lead_input_is_a_400_naming_the_field(client, payload, field):
    response = client.post("/api/leads/", payload, format="json")
    if field is None:
        assert response.status_code == 201
        assert response.json()["score"] <= 100
        return
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_bad_convert_and_disqualify_input_is_a_400(rep, client):
    lead = LeadFactory(owner=rep)
    assert "amount" in client.post(f"/api/leads/{lead.pk}/convert/", {"amount": "-1"}).json()
    assert "pipeline" in client.post(f"/api/leads/{lead.pk}/convert/", {"pipeline": 99999}).json()
    refused = client.post(f"/api/leads/{lead.pk}/disqualify/", {})
    assert refused.status_code == 400
    assert "reason" in refused.json()


@pytest.mark.parametrize(
    ("url", "payload", "field"),
    [
        ("/api/contacts/", {"first_name": "A", "email": "nope"}, "email"),
        ("/api/contacts/", {"first_name": LONG}, "first_name"),
        ("/api/contacts/", {"first_name": "A", "company": 999999}, "company"),
        ("/api/companies/", {"name": LONG}, "name"),
        ("/api/companies/", {"name": "A", "size": "huge"}, "size"),
        ("/api/activities/", {"subject": ""}, "subject"),
        ("/api/activities/", {"subject": "Call", "kind": "telegram"}, "kind"),
        ("/api/activities/", {"subject": "Call", "due_at": "tomorrow"}, "due_at"),
        ("/api/activities/", {"subject": "Call", "deal": 999999}, "deal"),
        ("/api/activities/", {"subject": LONG}, "subject"),
    ],
)
def test_bad_contact_company_and_activity_input_is_a_400(client, url, payload, field):
    response = client.post(url, payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_a_duplicate_contact_email_is_a_400_on_email_whatever_the_case(rep, client):
    assert (
        client.post("/api/contacts/", {"first_name": "A", "email": "ann@x.example"}).status_code
        == 201
    )
    again = client.post("/api/contacts/", {"first_name": "B", "email": "ANN@x.example"})
    assert again.status_code == 400
    assert "email" in again.json()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "S", "probability": 150}, "probability"),
        ({"name": "S", "stall_days": -1}, "stall_days"),
        ({"name": "S", "kind": "lost"}, "kind"),
        ({"name": "S", "required_fields": ["title"]}, "required_fields"),
        ({"name": "S", "required_fields": "amount"}, "required_fields"),
        ({"name": LONG}, "name"),
    ],
)
def test_bad_stage_input_is_a_400_naming_the_field(admin_user, api_for, payload, field):
    pipeline = PipelineFactory()
    response = api_for(admin_user).post(
        "/api/stages/", {"pipeline": pipeline.pk, **payload}, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()


def test_an_unknown_filter_value_is_a_400_not_a_500(client):
    for query in ("status=sold", "owner=me", "pipeline=first", "stage=1.5", "q=" + LONG):
        response = client.get(f"/api/deals/?{query}")
        assert response.status_code == 400, query
    huge = client.get("/api/deals/?owner=99999999999999999999999")  # beyond any id
    assert huge.status_code == 400
    assert "owner" in huge.json()


def test_an_id_out_of_range_in_the_url_is_a_404_not_a_500(client):
    assert client.get("/api/deals/99999999999999999999999/").status_code == 404
    assert client.get("/api/deals/abc/").status_code == 404


def test_a_page_past_the_end_is_a_404_with_a_message(client):
    response = client.get("/api/deals/?page=99")
    assert response.status_code == 404
    assert "detail" in response.json()


# --- 413: a request body over DATA_UPLOAD_MAX_MEMORY_SIZE (5 MB) ---------------------------------

OVERSIZE = 6 * 1024 * 1024


def _asgi_post(path, body, content_type, headers=()):
    """The request Django's ASGI handler builds: the body spooled to a temporary file, its
    Content-Length only what the headers say (none for a chunked body), so its real size shows
    only once it is read."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", content_type.encode()), *headers],
    }
    handler = BaseHandler()
    handler.load_middleware()
    with tempfile.SpooledTemporaryFile() as spooled:
        spooled.write(body)
        spooled.seek(0)
        return handler.get_response(ASGIRequest(scope, spooled))


def _assert_json_413(response):
    assert response.status_code == 413, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert "too large" in json.loads(response.content)["detail"]


def test_an_oversize_json_body_to_the_token_endpoint_is_a_413_without_a_token(rep):
    body = json.dumps({"username": "rep", "password": PASSWORD, "pad": "x" * OVERSIZE})
    response = APIClient().post("/api/auth/token/", data=body, content_type="application/json")
    _assert_json_413(response)
    assert not Token.objects.exists()


def test_an_oversize_json_body_creating_a_deal_is_a_413_and_creates_nothing(client):
    body = json.dumps({"title": "Huge", "next_step": "x" * OVERSIZE})
    response = client.post("/api/deals/", data=body, content_type="application/json")
    _assert_json_413(response)
    assert not Deal.objects.exists()
    # A body under the limit still goes through.
    assert client.post("/api/deals/", {"title": "Small"}, format="json").status_code == 201


def test_an_oversize_form_post_to_a_page_is_a_413_and_creates_nothing(rep):
    browser = Client()
    browser.force_login(rep)
    response = browser.post("/contacts/new/", {"first_name": "x" * OVERSIZE, "last_name": "Big"})
    assert response.status_code == 413
    assert not response["Content-Type"].startswith("application/json")
    assert b"too large" in response.content
    assert not Contact.objects.exists()


def test_an_api_body_larger_than_its_content_length_says_is_a_413_and_creates_nothing(rep):
    # The up-front check trusts Content-Length; Django measures the spooled ASGI body when
    # DRF reads it, and the API's exception handler answers that as a 413 too.
    body = json.dumps({"title": "Huge", "next_step": "x" * OVERSIZE}).encode()
    understated = (b"content-length", b"100")
    token = Token.objects.create(user=rep)
    auth = (b"authorization", f"Token {token.key}".encode())
    _assert_json_413(_asgi_post("/api/deals/", body, "application/json", [understated, auth]))
    _assert_json_413(_asgi_post("/api/auth/token/", body, "application/json", [understated]))
    assert not Deal.objects.exists()


def test_a_chunked_form_post_that_grows_past_the_limit_is_a_413(rep):
    body = urlencode({"username": "rep", "password": "x" * OVERSIZE}).encode()
    response = _asgi_post("/accounts/login/", body, "application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert b"too large" in response.content
