"""Token login end to end: get a token, call the API with it, bad credentials and no credentials."""

import pytest
from django.http import HttpRequest
from rest_framework.test import APIClient

from tests.factories import PASSWORD, DealFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_script_logs_in_with_a_token_and_lists_its_deals(rep):
    DealFactory.create_batch(2, owner=rep)
    client = APIClient()
    response = client.post(
        "/api/auth/token/", {"username": "rep", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert set(response.json()) == {"token"}

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    deals = client.get("/api/deals/")
    assert deals.status_code == 200
    assert deals.json()["count"] == 2

    again = APIClient().post("/api/auth/token/", {"username": "rep", "password": PASSWORD})
    assert again.json()["token"] == token  # one token per user, stable across logins


def test_a_wrong_password_or_unknown_user_is_a_400_without_a_token(rep):
    client = APIClient()
    wrong = client.post("/api/auth/token/", {"username": "rep", "password": "nope"})
    unknown = client.post("/api/auth/token/", {"username": "ghost", "password": "nope"})
    missing = client.post("/api/auth/token/", {"username": "rep"})
    assert wrong.status_code == unknown.status_code == missing.status_code == 400
    assert "token" not in wrong.json()
    assert wrong.json() == unknown.json()  # no hint whether the user exists
    assert "password" in missing.json()


def test_a_deactivated_user_gets_no_token(db):
    UserFactory(username="gone", is_active=False)
    response = APIClient().post("/api/auth/token/", {"username": "gone", "password": PASSWORD})
    assert response.status_code == 400


def test_anonymous_and_bad_token_calls_are_401_with_a_token_challenge(rep):
    anonymous = APIClient().get("/api/deals/")
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    forged = bad.get("/api/deals/")
    assert anonymous.status_code == forged.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Token"


def test_session_login_works_for_the_browser_with_csrf_enforced(rep):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(request=HttpRequest(), username="rep", password=PASSWORD)
    assert client.get("/api/deals/").status_code == 200
    refused = client.post("/api/deals/", {"title": "No CSRF token"})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
