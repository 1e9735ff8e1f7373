"""Polling the IMAP mailbox of `INBOUND_IMAP_URL` (imaplib).

Each poll reads the messages not yet handled, oldest first, at most `INBOUND_POLL_BATCH`; each
is parsed and recorded (`services.record_message`, one transaction). Once recorded (logged,
unmatched, without a user, or logged before) a message is flagged \\Deleted and the mailbox
expunged at the end of the poll: its row keeps what the log needs, so the mailbox does not
grow. A malformed message is logged as a warning, flagged with the keyword `CrmMalformed` and
left in place for a person to look at; later polls pass over it. A message whose recording
failed otherwise (a database error) stays as it is and is tried again by the next poll.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from mailin.parsing import MalformedMail, parse_mail
from mailin.services import record_message

logger = logging.getLogger(__name__)

MALFORMED_KEYWORD = "CrmMalformed"
FETCH_CHUNK = 50
_UID = re.compile(rb"\bUID (\d+)")


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    folder: str
    ssl: bool

    @classmethod
    def from_url(cls, url: str) -> Mailbox:
        """`imaps://user:password@host:993/INBOX` (or `imap://`, plain, for tests)."""
        parts = urlsplit(url)
        if parts.scheme not in {"imap", "imaps"} or not parts.hostname:
            raise ValueError("INBOUND_IMAP_URL must look like imaps://user:password@host/INBOX")
        ssl = parts.scheme == "imaps"
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if ssl else 143),
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
            ssl=ssl,
        )

    def connect(self, timeout: float = 30.0) -> imaplib.IMAP4:
        kind = imaplib.IMAP4_SSL if self.ssl else imaplib.IMAP4
        connection = kind(self.host, self.port, timeout=timeout)
        connection.login(self.user, self.password)
        connection.select(f'"{self.folder}"')
        return connection


def _fetched(connection: imaplib.IMAP4, uids: list[bytes]) -> Iterator[tuple[bytes, bytes]]:
    """(uid, raw message) for each uid, fetched in chunks without setting \\Seen."""
    for start in range(0, len(uids), FETCH_CHUNK):
        chunk = b",".join(uids[start : start + FETCH_CHUNK]).decode()
        _, data = connection.uid("FETCH", chunk, "(UID BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple) and (uid := _UID.search(item[0])):
                yield uid.group(1), item[1]


def _handle(raw: bytes, *, max_chars: int) -> str:
    """What became of one message: logged, unmatched, no_owner, duplicate or malformed."""
    try:
        mail = parse_mail(raw, max_chars=max_chars)
    except MalformedMail as error:
        logger.warning("Inbound mail skipped, malformed: %s", error)
        return "malformed"
    message = record_message(mail=mail)
    return "duplicate" if message is None else str(message.status)


def _flag(connection: imaplib.IMAP4, uids: list[bytes], flags: str) -> None:
    if uids:
        connection.uid("STORE", b",".join(uids).decode(), "+FLAGS.SILENT", flags)


def _handle_all(connection: imaplib.IMAP4, uids: list[bytes], *, max_chars: int) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    done: list[bytes] = []
    malformed: list[bytes] = []
    for uid, raw in _fetched(connection, uids):
        try:
            outcome = _handle(raw, max_chars=max_chars)
        except Exception:  # a database error: leave it for the next poll, go on
            logger.exception("Inbound mail uid %s could not be recorded", uid.decode())
            outcomes["failed"] += 1
            continue
        outcomes[outcome] += 1
        (malformed if outcome == "malformed" else done).append(uid)
    _flag(connection, malformed, f"(\\Seen {MALFORMED_KEYWORD})")
    _flag(connection, done, "(\\Seen \\Deleted)")
    if done:
        connection.expunge()
    return outcomes


def poll(mailbox: Mailbox, *, batch: int, max_chars: int) -> Counter[str]:
    """Handle up to `batch` waiting messages; the count of each outcome."""
    connection = mailbox.connect()
    try:
        _, data = connection.uid("SEARCH", "UNDELETED", "UNKEYWORD", MALFORMED_KEYWORD)
        uids = (data[0] or b"").split()[:batch]
        return _handle_all(connection, uids, max_chars=max_chars)
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            connection.logout()
