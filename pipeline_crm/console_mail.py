"""The development e-mail backend: each message printed as a person reads it.

Django's console backend prints the MIME source, where any line longer than 78 characters turns
the whole body into quoted-printable (`=E2=80=9CAcme=E2=80=9D`). This one prints the headers
and the plain-text body decoded, and one line for each HTML version or attachment.
"""

from __future__ import annotations

from email.message import EmailMessage as MimeMessage
from typing import Any

from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend

SHOWN_HEADERS = ("Subject", "From", "To", "Cc", "Bcc", "Reply-To", "Date")


def readable(mime: MimeMessage) -> str:
    """A message's headers and decoded text, for a terminal."""
    lines = [f"{name}: {mime[name]}" for name in SHOWN_HEADERS if mime[name] is not None]
    lines += [f"{name}: {value}" for name, value in mime.items() if name.startswith("X-")]
    for part in mime.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        size = len(part.get_payload(decode=True) or b"")
        if part.is_attachment():
            lines.append(f"[attachment {part.get_filename()}: {content_type}, {size} bytes]")
        elif content_type == "text/plain":
            lines += ["", part.get_content().rstrip("\n")]
        else:
            lines += ["", f"[{content_type} version, {size} bytes, not shown]"]
    return "\n".join(lines)


class EmailBackend(DjangoConsoleBackend):
    def write_message(self, message: Any) -> None:
        self.stream.write(f"{readable(message.message())}\n{'-' * 79}\n")
