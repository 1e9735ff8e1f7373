"""Sign-ins in the audit log: who, from which address, on which account; failures and lockouts
too, on the login form and the API token endpoint alike."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.models import Action, AuditEntry
from tests.audit.conftest import CLIENT_IP, logged, only
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
API_LOGIN = "/api/auth/token/"


def test_a_sign_in_on_the_form_is_recorded_with_the_user_and_address(rep):
    Client(REMOTE_ADDR=CLIENT_IP).post(LOGIN, {"username": "rep", "password": PASSWORD})

    entry = only(Action.LOGIN)
    assert (entry.actor, entry.actor_label, entry.ip) == (rep, "rep", CLIENT_IP)
    assert (entry.target_type, entry.target_id, entry.target_label) == ("user", str(rep.pk), "rep")
    assert entry.details["path"] == LOGIN


def test_a_wrong_password_is_recorded_against_the_account_with_no_actor(rep):
    Client(REMOTE_ADDR=CLIENT_IP).post(LOGIN, {"username": "rep", "password": "nope"})

    entry = only(Action.LOGIN_FAILED)
    assert entry.actor is None
    assert (entry.target_id, entry.target_label, entry.ip) == (str(rep.pk), "rep", CLIENT_IP)
    assert entry.details["username"] == "rep"
    assert "nope" not in str(entry.details)  # never the password tried
    assert not logged(Action.LOGIN)


def test_a_failure_for_an_unknown_username_names_what_was_tried(db):
    Client().post(LOGIN, {"username": "ghost", "password": "nope"})

    entry = only(Action.LOGIN_FAILED)
    assert (entry.target_type, entry.target_id, entry.target_label) == ("user", "", "ghost")


def test_reaching_the_failure_limit_and_each_refused_attempt_are_lockouts(rep, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR=CLIENT_IP).post(LOGIN, {"username": "rep", "password": f"no-{i}"})

    assert len(logged(Action.LOGIN_FAILED)) == settings.AXES_FAILURE_LIMIT - 1
    lockout = only(Action.LOCKOUT)
    assert (lockout.target_label, lockout.ip) == ("rep", CLIENT_IP)

    refused = Client(REMOTE_ADDR=CLIENT_IP).post(LOGIN, {"username": "rep", "password": PASSWORD})

    assert refused.status_code == 429
    assert len(logged(Action.LOCKOUT)) == 2
    assert not logged(Action.LOGIN)


def test_the_token_endpoint_records_the_sign_in_and_the_new_token_once(rep):
    client = APIClient(REMOTE_ADDR=CLIENT_IP)

    first = client.post(API_LOGIN, {"username": "rep", "password": PASSWORD})
    again = client.post(API_LOGIN, {"username": "rep", "password": PASSWORD})

    assert first.json()["token"] == again.json()["token"]
    sign_ins = logged(Action.LOGIN)
    assert [(e.actor, e.ip, e.details["via"]) for e in sign_ins] == [
        (rep, CLIENT_IP, "API token endpoint")
    ] * 2
    created = only(Action.TOKEN_CREATED)
    assert (created.actor, created.target_label, created.ip) == (rep, "rep", CLIENT_IP)


def test_a_wrong_password_and_a_lockout_on_the_token_endpoint_are_recorded(rep, settings):
    client = APIClient(REMOTE_ADDR=CLIENT_IP)
    for i in range(settings.AXES_FAILURE_LIMIT):
        client.post(API_LOGIN, {"username": "rep", "password": f"guess-{i}"})

    failures = logged(Action.LOGIN_FAILED)
    assert len(failures) == settings.AXES_FAILURE_LIMIT - 1
    assert {e.details["path"] for e in failures} == {API_LOGIN}
    assert only(Action.LOCKOUT).target_label == "rep"
    assert not logged(Action.TOKEN_CREATED)


def test_signing_out_is_recorded(rep):
    client = Client(REMOTE_ADDR=CLIENT_IP)
    client.post(LOGIN, {"username": "rep", "password": PASSWORD})

    client.post("/accounts/logout/")

    assert (only(Action.LOGOUT).actor, only(Action.LOGOUT).ip) == (rep, CLIENT_IP)
    assert AuditEntry.objects.count() == 2
