"""A user sees their own API token (its end and age, never the whole key) and can revoke it."""

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.clients import signed_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def token_for(username: str) -> str:
    response = APIClient().post("/api/auth/token/", {"username": username, "password": PASSWORD})
    assert response.status_code == 200
    return response.json()["token"]


def test_my_settings_lead_to_my_token_showing_only_its_last_characters(rep):
    key = token_for("rep")
    client = signed_in(rep)

    assert 'href="/settings/me/api-token/"' in client.get("/settings/me/").content.decode()
    page = client.get("/settings/me/api-token/").content.decode()

    assert f"…{key[-4:]}" in page
    assert key not in page
    assert "Revoke" in page


def test_revoking_my_token_refuses_scripts_using_it_at_once(rep):
    key = token_for("rep")
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert script.get("/api/deals/").status_code == 200

    done = signed_in(rep).post("/settings/me/api-token/revoke/", follow=True)

    assert "Your API token is revoked" in done.content.decode()
    assert "You have no API token." in done.content.decode()
    assert script.get("/api/deals/").status_code == 401
    assert token_for("rep") != key  # a new one is there for the asking


def test_revoking_touches_only_my_own_token(rep, teammate):
    token_for("rep")
    theirs = token_for("teammate")

    signed_in(rep).post("/settings/me/api-token/revoke/")

    assert not Token.objects.filter(user=rep).exists()
    assert Token.objects.get(user=teammate).key == theirs


def test_the_token_page_needs_a_sign_in_and_revoking_needs_a_post(rep):
    anonymous = Client().get("/settings/me/api-token/")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/accounts/login/")
    assert Client().post("/settings/me/api-token/revoke/").status_code == 302
    assert signed_in(rep).get("/settings/me/api-token/revoke/").status_code == 405
