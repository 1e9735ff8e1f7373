"""Helpers of the user and team settings tests: the invitation e-mail's link, signing in."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client

from followups.outbox import deliver_pending_emails


def sent_link(to: str) -> str:
    """Deliver the outbox (the worker's job) and return the path of the link mailed to `to`."""
    deliver_pending_emails()
    return mailed_link(to)


def mailed_link(to: str) -> str:
    """The path of the set-password link in the last e-mail sent to `to`."""
    messages = [m for m in mail.outbox if m.to == [to]]
    assert messages, f"no e-mail to {to}"
    found = re.search(r"https?://\S+/accounts/reset/\S+/", messages[-1].body)
    assert found, messages[-1].body
    return urlsplit(found.group(0)).path


def set_password_through(link: str, password: str) -> Client:
    """Follow a set-password link as its recipient would and choose `password`."""
    client = Client()
    opened = client.get(link, follow=True)
    assert opened.status_code == 200
    assert opened.context["validlink"], "the link was refused"
    form_url = opened.redirect_chain[-1][0]
    done = client.post(form_url, {"new_password1": password, "new_password2": password})
    assert done.status_code == 302, done.content.decode()[:500]
    return client


def can_sign_in(username: str, password: str) -> bool:
    """The login form, as a person uses it: a redirect means signed in."""
    response = Client().post("/accounts/login/", {"username": username, "password": password})
    return response.status_code == 302


@pytest.fixture
def new_password():
    return "Blue-harbour-lamp-42"
