"""Two workers polling the same mailbox at once (PostgreSQL): every message logged once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from followups.models import Activity
from mailin.models import InboundMessage
from mailin.services import new_bcc_address
from mailin.tasks import poll_inbound_mail
from tests.factories import ContactFactory, UserFactory
from tests.mailin.dovecot import Server
from tests.mailin.mail import message

# The rows must be committed for the other thread's connection to see them.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_two_polls_at_the_same_time_log_each_message_once(imap_server: Server) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("two connections writing at once need PostgreSQL (SQLite locks the file)")
    bcc = new_bcc_address(by=UserFactory())
    ContactFactory(email="ann@acme.example")
    imap_server.append(
        *(
            message(bcc=bcc, to="ann@acme.example", message_id=f"<m{n}@acme.example>")
            for n in range(30)
        )
    )
    start = threading.Barrier(2)
    results: list[dict[str, int]] = []

    def poll() -> None:
        try:
            start.wait(timeout=30)
            results.append(poll_inbound_mail())
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=poll) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == 2
    assert sum(r.get("logged", 0) for r in results) == 30
    assert Activity.objects.filter(kind=Activity.Kind.EMAIL).count() == 30
    assert InboundMessage.objects.count() == 30
    assert imap_server.count() == 0
