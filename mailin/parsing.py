"""An RFC 5322 message as the BCC log needs it: who, to whom, when, about what, the text.

`parse_mail` raises `MalformedMail` for anything it cannot read (no sender address, headers
the parser chokes on); the poll logs a warning and goes on with the next message.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import html
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

from django.utils.html import strip_tags

# Headers that may carry the BCC address: what the MTA wrote on delivery, then the visible ones
# (a Bcc header survives when the sender's client keeps it, e.g. in an APPEND).
ENVELOPE_HEADERS = ("delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "bcc")
RECIPIENT_HEADERS = ("to", "cc")
MESSAGE_ID_LENGTH = 255
SUBJECT_LENGTH = 200
_INVISIBLE_HTML = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")


class MalformedMail(ValueError):
    """A message the log cannot read."""


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    sender: str  # the From address, lower case
    to: tuple[str, ...]
    cc: tuple[str, ...]
    envelope: tuple[str, ...]  # Delivered-To, X-Original-To, … Bcc: where the BCC token hides
    subject: str
    text: str
    sent_at: dt.datetime | None

    @property
    def addresses(self) -> tuple[str, ...]:
        """Everyone it names (From, To, Cc), once each, in order."""
        return tuple(dict.fromkeys((self.sender, *self.to, *self.cc)))


def _addresses(message: EmailMessage, *names: str) -> tuple[str, ...]:
    values = [str(value) for name in names for value in message.get_all(name, [])]
    found = (address.strip().lower() for _, address in getaddresses(values))
    return tuple(dict.fromkeys(a for a in found if "@" in a))


def _message_id(message: EmailMessage, raw: bytes) -> str:
    header = str(message.get("message-id", "")).strip()
    if header and len(header) <= MESSAGE_ID_LENGTH:
        return header
    return f"<sha256-{hashlib.sha256(header.encode() if header else raw).hexdigest()}@mailin>"


def _sent_at(message: EmailMessage) -> dt.datetime | None:
    header = str(message.get("date", "")).strip()
    if not header:
        return None
    try:
        sent_at = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    return sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=dt.UTC)


def html_to_text(markup: str) -> str:
    text = html.unescape(strip_tags(_INVISIBLE_HTML.sub("", markup)))
    lines = (line.strip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _text(message: EmailMessage, max_chars: int) -> str:
    """The text/plain part, else the HTML one stripped to text; at most `max_chars`."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if not isinstance(content, str):
        return ""
    text = html_to_text(content) if part.get_content_subtype() == "html" else content.strip()
    if len(text) > max_chars:
        return text[: max_chars - 1].rstrip() + "…"
    return text


def parse_mail(raw: bytes, *, max_chars: int) -> ParsedMail:
    try:
        message = email.message_from_bytes(raw, _class=EmailMessage, policy=email.policy.default)
        senders = _addresses(message, "from")
        if not senders:
            raise MalformedMail("no sender address (From)")
        subject = " ".join(str(message.get("subject", "")).split())
        return ParsedMail(
            message_id=_message_id(message, raw),
            sender=senders[0],
            to=_addresses(message, "to"),
            cc=_addresses(message, "cc"),
            envelope=_addresses(message, *ENVELOPE_HEADERS, *RECIPIENT_HEADERS),
            subject=subject[:SUBJECT_LENGTH],
            text=_text(message, max_chars),
            sent_at=_sent_at(message),
        )
    except MalformedMail:
        raise
    except Exception as error:  # the parser's many ways of failing on a broken message
        raise MalformedMail(f"{type(error).__name__}: {error}") from error
