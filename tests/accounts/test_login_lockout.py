"""Brute-force lockout (django-axes): a username or an address with LOGIN_FAILURE_LIMIT failed
sign-ins is refused for a while, on the login form and the API token endpoint alike."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
API_LOGIN = "/api/auth/token/"


def fail_on_the_form(username: str, times: int, **headers) -> None:
    for i in range(times):
        Client(**headers).post(LOGIN, {"username": username, "password": f"wrong-{i}"})


def test_five_wrong_passwords_lock_the_login_form_even_for_the_right_one(rep, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    fail_on_the_form("rep", 5)

    refused = Client().post(LOGIN, {"username": "rep", "password": PASSWORD})

    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many failed sign-in attempts" in page
    assert "locked for 15 minutes" in page
    assert int(refused.headers["Retry-After"]) == 15 * 60
    assert "_auth_user_id" not in refused.client.session


def test_five_wrong_passwords_lock_the_token_endpoint_with_a_429(rep):
    client = APIClient()
    codes = [
        client.post(API_LOGIN, {"username": "rep", "password": f"guess-{i}"}).status_code
        for i in range(5)
    ]
    refused = client.post(API_LOGIN, {"username": "rep", "password": PASSWORD})

    assert codes[:4] == [400] * 4
    assert refused.status_code == 429
    assert "token" not in refused.json()
    assert "Too many failed sign-in attempts" in refused.json()["detail"]


def test_failures_on_the_form_also_lock_the_token_endpoint(rep):
    fail_on_the_form("rep", 5)
    refused = APIClient().post(API_LOGIN, {"username": "rep", "password": PASSWORD})
    assert refused.status_code == 429


def test_rotating_x_forwarded_for_does_not_escape_the_lockout(rep, settings):
    assert settings.NUM_PROXIES == 0
    for i in range(5):
        APIClient().post(
            API_LOGIN,
            {"username": f"guess-{i}", "password": "nope"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        )

    # The address (REMOTE_ADDR) is locked, whatever the header claims, for every username.
    refused = APIClient().post(
        API_LOGIN, {"username": "rep", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="198.51.100.7"
    )
    assert refused.status_code == 429


def test_a_locked_username_stays_locked_from_another_address(rep):
    fail_on_the_form("rep", 5, REMOTE_ADDR="192.0.2.1")
    refused = Client(REMOTE_ADDR="192.0.2.2").post(LOGIN, {"username": "rep", "password": PASSWORD})
    assert refused.status_code == 429


def test_another_user_elsewhere_is_unaffected(rep, teammate):
    fail_on_the_form("rep", 5, REMOTE_ADDR="192.0.2.1")

    form = Client(REMOTE_ADDR="192.0.2.9").post(
        LOGIN, {"username": "teammate", "password": PASSWORD}
    )
    api = APIClient(REMOTE_ADDR="192.0.2.9").post(
        API_LOGIN, {"username": "teammate", "password": PASSWORD}
    )
    assert form.status_code == 302
    assert api.status_code == 200


def test_behind_a_trusted_proxy_the_forwarded_client_is_the_one_locked(rep, teammate, settings):
    settings.NUM_PROXIES = 1
    for i in range(5):
        Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1").post(
            LOGIN, {"username": f"guess-{i}", "password": "nope"}
        )

    locked = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1").post(
        LOGIN, {"username": "rep", "password": PASSWORD}
    )
    other_client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.2").post(
        LOGIN, {"username": "teammate", "password": PASSWORD}
    )
    assert locked.status_code == 429
    assert other_client.status_code == 302


def test_the_lockout_ends_after_the_cool_off(rep):
    fail_on_the_form("rep", 5)
    assert Client().post(LOGIN, {"username": "rep", "password": PASSWORD}).status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert Client().post(LOGIN, {"username": "rep", "password": PASSWORD}).status_code == 302


def test_signing_in_to_ones_own_account_does_not_reset_the_count_against_another(rep, teammate):
    fail_on_the_form("rep", 4)
    assert Client().post(LOGIN, {"username": "teammate", "password": PASSWORD}).status_code == 302
    fail_on_the_form("rep", 1)

    assert Client().post(LOGIN, {"username": "rep", "password": PASSWORD}).status_code == 429
