"""Password reset requests are limited per client address and per e-mail address, with the
same answer whether or not an account has the address."""

import re

import pytest
from django.core import mail
from django.test import Client

from followups.outbox import deliver_pending_emails

pytestmark = pytest.mark.django_db

RESET = "/accounts/password_reset/"
REFUSED = "Too many password reset requests"


def page_without(response, email: str) -> str:
    """The page as the person sees it, less their own address and the per-request CSRF tokens."""
    page = response.content.decode().replace(email, "")
    return re.sub(r'(csrfmiddlewaretoken" value=|"X-CSRFToken": ?)"[^"]+"', "", page)


def ask(email: str, address: str = "192.0.2.1"):
    return Client(REMOTE_ADDR=address).post(RESET, {"email": email})


def test_the_sixth_request_for_one_address_within_the_hour_is_refused_and_mails_nothing(rep):
    asked = [ask(rep.email, address=f"192.0.2.{i}") for i in range(5)]
    refused = ask(rep.email, address="192.0.2.99")
    deliver_pending_emails()

    assert [r.status_code for r in asked] == [302] * 5
    assert refused.status_code == 429
    assert REFUSED in refused.content.decode()
    assert len([m for m in mail.outbox if m.to == [rep.email]]) == 5


def test_one_client_asking_for_many_addresses_is_refused_after_five(rep):
    for i in range(5):
        assert ask(f"someone-{i}@example.com").status_code == 302
    refused = ask(rep.email)
    deliver_pending_emails()

    assert refused.status_code == 429
    assert REFUSED in refused.content.decode()
    assert mail.outbox == []
    # Another client still gets its link.
    assert ask(rep.email, address="192.0.2.50").status_code == 302


def test_the_refusal_is_the_same_for_an_address_without_an_account(rep):
    for i in range(5):
        ask(rep.email, address=f"192.0.2.{i}")
        ask("nobody@example.com", address=f"198.51.100.{i}")

    known = ask(rep.email, address="203.0.113.1")
    unknown = ask("nobody@example.com", address="203.0.113.2")

    assert known.status_code == unknown.status_code == 429
    assert page_without(known, rep.email) == page_without(unknown, "nobody@example.com")


def test_the_limit_counts_the_address_whatever_its_case(rep):
    for i in range(5):
        ask(rep.email.upper() if i % 2 else rep.email, address=f"192.0.2.{i}")
    assert ask(rep.email.title(), address="192.0.2.99").status_code == 429
