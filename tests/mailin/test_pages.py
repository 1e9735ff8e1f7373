"""The BCC address in My settings and the Unmatched e-mail page, as their user sees them."""

from __future__ import annotations

import pytest

from followups.models import Activity
from mailin.models import BccAddress, InboundMessage
from mailin.parsing import parse_mail
from mailin.services import attach_unmatched, new_bcc_address, record_message
from pipeline_crm.errors import DomainError
from tests.factories import ContactFactory
from tests.mailin.mail import message

pytestmark = pytest.mark.django_db


def _unmatched_for(user) -> InboundMessage:
    mail = parse_mail(
        message(bcc=new_bcc_address(by=user), to="stranger@nowhere.example"), max_chars=1000
    )
    recorded = record_message(mail=mail)
    assert recorded is not None
    assert recorded.status == InboundMessage.Status.UNMATCHED
    return recorded


def test_my_settings_offers_a_bcc_address_that_can_be_replaced_and_revoked(client, rep) -> None:
    client.force_login(rep)
    assert "You have no BCC address." in client.get("/settings/me/").content.decode()

    client.post("/settings/me/bcc/new/")
    first = BccAddress.objects.get(user=rep).address
    assert first.startswith("log+")
    assert first.endswith("@inbound.example.com")
    assert first in client.get("/settings/me/").content.decode()

    client.post("/settings/me/bcc/new/")
    second = BccAddress.objects.get(user=rep).address
    assert second != first
    page = client.get("/settings/me/").content.decode()
    assert second in page
    assert first not in page

    client.post("/settings/me/bcc/revoke/")
    assert not BccAddress.objects.filter(user=rep).exists()


def test_nobody_else_sees_or_attaches_my_unmatched_mail(client, rep, teammate) -> None:
    pending = _unmatched_for(rep)
    ContactFactory(email="carl@acme.example")
    client.force_login(teammate)

    assert "stranger@nowhere.example" not in client.get("/mail/unmatched/").content.decode()
    answer = client.post(
        "/mail/unmatched/attach/", {"message": pending.pk, "contact_email": "carl@acme.example"}
    )

    assert answer.status_code == 400
    assert not Activity.objects.exists()


def test_attaching_to_an_unknown_address_asks_for_the_contact_first(client, rep) -> None:
    pending = _unmatched_for(rep)
    client.force_login(rep)

    answer = client.post(
        "/mail/unmatched/attach/", {"message": pending.pk, "contact_email": "who@nowhere.example"}
    )

    assert answer.status_code == 400
    assert "No contact has this e-mail address" in answer.content.decode()
    pending.refresh_from_db()
    assert pending.status == InboundMessage.Status.UNMATCHED


def test_mail_attached_once_cannot_be_attached_again(client, rep) -> None:
    pending = _unmatched_for(rep)
    ContactFactory(email="carl@acme.example")
    client.force_login(rep)
    form = {"message": pending.pk, "contact_email": "carl@acme.example"}

    assert client.post("/mail/unmatched/attach/", form).status_code == 302
    assert client.post("/mail/unmatched/attach/", form).status_code == 400
    assert Activity.objects.count() == 1


def test_the_unmatched_list_reads_a_page_in_a_few_queries(
    client, rep, django_assert_max_num_queries
) -> None:
    bcc = new_bcc_address(by=rep)
    for n in range(30):
        raw = message(bcc=bcc, to="who@nowhere.example", message_id=f"<u{n}@nowhere.example>")
        record_message(mail=parse_mail(raw, max_chars=1000))
    client.force_login(rep)

    with django_assert_max_num_queries(8):
        page = client.get("/mail/unmatched/").content.decode()

    assert page.count('name="contact_email"') == 25
    assert "Page 1 of 2" in page


def test_the_service_refuses_someone_elses_mail_as_missing(rep, teammate) -> None:
    pending = _unmatched_for(rep)
    with pytest.raises(DomainError, match="No such e-mail"):
        attach_unmatched(message=pending, contact=ContactFactory(), by=teammate)
