"""How the poll is configured: the mailbox URL, the beat entry, nothing to do without a URL."""

from __future__ import annotations

import pytest

from mailin.mailbox import Mailbox
from mailin.tasks import poll_inbound_mail
from pipeline_crm.celery import app


def test_the_mailbox_url_gives_server_login_and_folder() -> None:
    box = Mailbox.from_url("imaps://crm%40acme.example:p%2Fw%3Ad@imap.acme.example/Archive%20In")
    assert (box.host, box.port, box.ssl) == ("imap.acme.example", 993, True)
    assert (box.user, box.password, box.folder) == ("crm@acme.example", "p/w:d", "Archive In")
    assert Mailbox.from_url("imap://u:p@127.0.0.1").port == 143
    assert Mailbox.from_url("imap://u:p@127.0.0.1").folder == "INBOX"


def test_a_url_that_is_not_imap_is_refused() -> None:
    with pytest.raises(ValueError, match="INBOUND_IMAP_URL"):
        Mailbox.from_url("https://mail.example.com/")


def test_beat_polls_the_mailbox_and_without_a_url_there_is_nothing_to_do(settings) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["poll-inbound-mail"]
    assert entry["task"] in app.tasks
    settings.INBOUND_IMAP_URL = ""
    assert poll_inbound_mail() == {}
