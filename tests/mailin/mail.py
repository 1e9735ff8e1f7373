"""Messages for the inbound-mail tests."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime

from mailin.models import BccAddress

SENT_AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def message(
    *,
    bcc: BccAddress | None,
    sender: str = "rep@ourcompany.example",
    to: str = "",
    cc: str = "",
    subject: str = "Proposal",
    text: str = "Here is the proposal.",
    html: str = "",
    message_id: str = "<proposal-1@ourcompany.example>",
    sent_at: dt.datetime = SENT_AT,
) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    if to:
        mail["To"] = to
    if cc:
        mail["Cc"] = cc
    if bcc is not None:
        mail["Delivered-To"] = bcc.address
    mail["Subject"] = subject
    mail["Date"] = format_datetime(sent_at)
    mail["Message-ID"] = message_id
    if html:
        mail.set_content(html, subtype="html")
    else:
        mail.set_content(text)
    return mail.as_bytes()


MALFORMED = (
    b"Subject: =?utf-8?q?broken\r\nDate: not a date\r\nMessage-ID: <broken@x>\r\n"
    b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n\xff\xfe\r\n"
)
