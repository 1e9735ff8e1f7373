"""BCC logging against a real IMAP server (Dovecot): each message logged once, on every contact
it names and their open deals, whatever goes wrong with the others."""

from __future__ import annotations

import logging

import pytest

from deals.models import Deal
from followups.models import Activity
from mailin.models import BccAddress, InboundMessage
from mailin.services import new_bcc_address
from mailin.tasks import poll_inbound_mail
from tests.factories import ContactFactory, DealFactory
from tests.mailin.dovecot import Server
from tests.mailin.mail import MALFORMED, SENT_AT, message

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def bcc(rep) -> BccAddress:
    return new_bcc_address(by=rep)


def _emails(**where: object) -> list[Activity]:
    return list(Activity.objects.filter(kind=Activity.Kind.EMAIL, **where))


def test_a_message_is_logged_once_on_each_contact_and_their_open_deals(
    imap_server: Server, bcc: BccAddress, rep, outsider
) -> None:
    ann = ContactFactory(email="Ann@Acme.example", owner=rep)
    bob = ContactFactory(email="bob@bolt.example", owner=outsider)
    open_deal = DealFactory(contact=ann, owner=rep)
    DealFactory(contact=ann, owner=rep, status=Deal.Status.WON)
    DealFactory(contact=bob, owner=outsider)  # rep may not work on it: skipped
    imap_server.append(
        message(bcc=bcc, to="Ann <ann@acme.example>", cc="bob@BOLT.example, x@unknown.example")
    )

    assert poll_inbound_mail() == {"logged": 1}

    assert {(a.contact, a.deal) for a in _emails()} == {(ann, None), (bob, None), (None, open_deal)}
    logged = _emails(contact=ann)[0]
    assert (logged.owner, logged.subject, logged.done_at) == (rep, "Proposal", SENT_AT)
    assert "From: rep@ourcompany.example" in logged.body
    assert "ann@acme.example, bob@bolt.example" in logged.body
    assert "Here is the proposal." in logged.body
    assert imap_server.count() == 0  # handled mail leaves the mailbox

    assert poll_inbound_mail() == {}
    imap_server.append(message(bcc=bcc, to="ann@acme.example"))  # the same Message-ID again
    assert poll_inbound_mail() == {"duplicate": 1}
    assert len(_emails()) == 3


def test_a_malformed_message_is_skipped_and_the_next_one_still_logged(
    imap_server: Server, bcc: BccAddress, caplog: pytest.LogCaptureFixture
) -> None:
    ann = ContactFactory(email="ann@acme.example")
    imap_server.append(MALFORMED, message(bcc=bcc, to="ann@acme.example"))

    with caplog.at_level(logging.WARNING, logger="mailin"):
        assert poll_inbound_mail() == {"malformed": 1, "logged": 1}

    assert len(_emails(contact=ann)) == 1
    assert "malformed" in caplog.text
    assert imap_server.count() == 1  # kept for a person to look at, flagged
    assert imap_server.count("KEYWORD", "CrmMalformed") == 1
    assert poll_inbound_mail() == {}  # and not read again


def test_mail_naming_no_contact_waits_in_the_unmatched_list_until_attached(
    imap_server: Server, bcc: BccAddress, rep, client
) -> None:
    imap_server.append(message(bcc=bcc, to="stranger@nowhere.example", subject="Hello there"))
    assert poll_inbound_mail() == {"unmatched": 1}
    assert _emails() == []

    client.force_login(rep)
    page = client.get("/mail/unmatched/").content.decode()
    assert "Hello there" in page
    assert "stranger@nowhere.example" in page

    carl = ContactFactory(email="carl@acme.example")
    deal = DealFactory(contact=carl, owner=rep)
    pending = InboundMessage.objects.get()
    answer = client.post(
        "/mail/unmatched/attach/", {"message": pending.pk, "contact_email": "CARL@acme.example"}
    )

    assert answer.status_code == 302
    assert {(a.contact, a.deal) for a in _emails()} == {(carl, None), (None, deal)}
    assert "No unmatched e-mail." in client.get("/mail/unmatched/").content.decode()


def test_mail_to_no_users_address_logs_nothing(imap_server: Server, rep) -> None:
    ContactFactory(email="ann@acme.example")
    address = new_bcc_address(by=rep)
    new_bcc_address(by=rep)  # the first address stops working
    imap_server.append(message(bcc=address, to="ann@acme.example"))

    assert poll_inbound_mail() == {"no_owner": 1}
    assert _emails() == []
    assert imap_server.count() == 0
