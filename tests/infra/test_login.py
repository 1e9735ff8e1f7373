"""Signing in and out through Django's standard login form (SPEC §8 pages)."""

import pytest
from django.contrib.auth.forms import AuthenticationForm
from django.test import Client

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_renders_djangos_authentication_form():
    response = Client().get("/accounts/login/")

    assert response.status_code == 200
    assert isinstance(response.context["form"], AuthenticationForm)
    page = response.content.decode()
    assert 'name="username"' in page
    assert 'name="password"' in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_signing_in_lands_on_the_signed_in_home(rep):
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value

    response = client.post(
        "/accounts/login/",
        {"username": "rep", "password": PASSWORD, "csrfmiddlewaretoken": token},
        follow=True,
    )

    assert response.status_code == 200
    assert response.context["user"] == rep
    assert response.redirect_chain[0][0] == "/"


def test_a_wrong_password_keeps_the_form_with_an_error(rep):
    response = Client().post("/accounts/login/", {"username": "rep", "password": "nope"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not response.context["user"].is_authenticated


def test_login_without_the_csrf_token_is_refused(rep):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {"username": "rep", "password": PASSWORD})

    assert response.status_code == 403


def test_signed_in_pages_send_anonymous_visitors_to_the_login_form():
    response = Client().get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_logout_signs_the_user_out(rep):
    client = Client()
    client.force_login(rep)

    response = client.post("/accounts/logout/")

    assert response.status_code in (200, 302)
    assert client.get("/").status_code == 302  # back to the login form
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_so_a_link_cannot_sign_anyone_out(rep):
    client = Client()
    client.force_login(rep)

    assert client.get("/accounts/logout/").status_code == 405
    assert client.session["_auth_user_id"] == str(rep.pk)
