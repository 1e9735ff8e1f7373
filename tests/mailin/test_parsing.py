"""What of a message the log keeps: addresses in lower case, the text, a capped body."""

from __future__ import annotations

import pytest

from mailin.parsing import MalformedMail, parse_mail
from tests.mailin.mail import MALFORMED, SENT_AT, message


def test_addresses_are_read_from_from_to_and_cc_in_lower_case() -> None:
    mail = parse_mail(
        message(bcc=None, sender="Rep <Rep@Our.example>", to="A <A@x.example>", cc="b@X.example"),
        max_chars=1000,
    )
    assert mail.addresses == ("rep@our.example", "a@x.example", "b@x.example")
    assert mail.sent_at == SENT_AT


def test_an_html_only_message_is_logged_as_its_text() -> None:
    html = (
        "<html><head><style>p{}</style></head>"
        "<body><p>Hi &amp; bye</p><script>x()</script></body></html>"
    )
    mail = parse_mail(message(bcc=None, html=html), max_chars=1000)
    assert mail.text == "Hi & bye"


def test_a_long_body_is_cut_at_the_cap() -> None:
    mail = parse_mail(message(bcc=None, text="word " * 1000), max_chars=100)
    assert len(mail.text) == 100
    assert mail.text.endswith("…")


def test_a_message_without_message_id_gets_one_from_its_content() -> None:
    raw = message(bcc=None).replace(b"Message-ID: <proposal-1@ourcompany.example>\n", b"")
    first, again = parse_mail(raw, max_chars=100), parse_mail(raw, max_chars=100)
    assert first.message_id.startswith("<sha256-")
    assert first.message_id == again.message_id


def test_a_message_without_sender_is_malformed() -> None:
    with pytest.raises(MalformedMail):
        parse_mail(MALFORMED, max_chars=100)
