"""Forgot password: from the login page's link to signing in with the new password."""

import pytest
from django.core import mail
from django.test import Client

from accounts import services
from tests.accounts.conftest import can_sign_in, mailed_link, set_password_through
from tests.clients import signed_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_forgot_password_from_the_login_page_to_signing_in_with_the_new_one(rep, new_password):
    client = Client()
    login = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password_reset/">Forgot password?' in login

    asked = client.post("/accounts/password_reset/", {"email": rep.email}, follow=True)

    assert "Check your" in asked.content.decode()
    assert len(mail.outbox) == 1
    set_password_through(mailed_link(rep.email), new_password)
    assert can_sign_in("rep", new_password)
    assert not can_sign_in("rep", PASSWORD)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(db):
    asked = Client().post("/accounts/password_reset/", {"email": "nobody@example.com"})

    assert asked.status_code == 302
    assert asked["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []


def test_an_invited_user_who_lost_the_invitation_asks_for_a_link(admin_user, new_password):
    services.invite_user(by=admin_user, email="lost@example.com")
    mail.outbox.clear()

    Client().post("/accounts/password_reset/", {"email": "lost@example.com"})

    set_password_through(mailed_link("lost@example.com"), new_password)
    assert can_sign_in("lost@example.com", new_password)


def test_a_deactivated_user_gets_no_link(db):
    UserFactory(email="gone@example.com", is_active=False)

    Client().post("/accounts/password_reset/", {"email": "gone@example.com"})

    assert mail.outbox == []


def test_the_password_pages_look_like_the_app(rep):
    page = signed_in(rep).get("/accounts/password_reset/").content.decode()

    assert "login-card" in page
    assert "Pipeline CRM" in page
