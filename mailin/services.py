"""Inbound e-mail: the only code that writes it. One transaction each.

`record_message` turns one parsed message into e-mail activities owned by the user whose BCC
address it came to: one on every contact it names by address (From, To, Cc; case-insensitive)
and one on each of their open deals that user may work on. Its `InboundMessage` row is written
first, under a unique Message-ID: the second poll, or a second worker at the same moment,
finds it there (the insert waits for the first transaction, then fails) and logs nothing.
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from contacts.models import Contact
from deals.models import Deal
from followups.models import Activity
from followups.services import log_activity
from mailin.models import BccAddress, InboundMessage
from mailin.parsing import ParsedMail
from pipeline_crm.errors import DomainError

logger = logging.getLogger(__name__)


# --- the BCC address --------------------------------------------------------------------------


@transaction.atomic
def new_bcc_address(*, by: User) -> BccAddress:
    """Give the user a (new) BCC address; the previous one stops working at once."""
    token = secrets.token_hex(10)
    address, _ = BccAddress.objects.update_or_create(user=by, defaults={"token": token})
    return address


@transaction.atomic
def revoke_bcc_address(*, by: User) -> None:
    """Mail to the user's address is no longer logged (it waits as no one's)."""
    BccAddress.objects.filter(user=by).delete()


def _bcc_owner(addresses: Iterable[str]) -> User | None:
    """The active user whose BCC address is among these."""
    prefix = f"{settings.INBOUND_LOCAL_PART}+"
    suffix = f"@{settings.INBOUND_DOMAIN}".lower()
    tokens = [
        address[len(prefix) : -len(suffix)]
        for address in addresses
        if address.startswith(prefix) and address.endswith(suffix)
    ]
    if not tokens:
        return None
    found = (
        BccAddress.objects.filter(token__in=tokens, user__is_active=True)
        .select_related("user")
        .first()
    )
    return found.user if found else None


# --- logging ----------------------------------------------------------------------------------


def _named_contacts(mail: ParsedMail) -> list[Contact]:
    own_domain = f"@{settings.INBOUND_DOMAIN}".lower()
    addresses = [a for a in mail.addresses if not a.endswith(own_domain)]
    if not addresses:
        return []
    return list(
        Contact.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=addresses)
        .order_by("pk")
    )


def _activity_body(message: InboundMessage) -> str:
    return f"From: {message.sender}\nTo: {message.recipients}\n\n{message.body}".rstrip()


def _log_on(message: InboundMessage, contacts: Iterable[Contact], *, by: User) -> int:
    """One done e-mail activity on each contact `by` sees and on each of their open deals
    `by` may work on; how many were logged."""
    visible = Contact.objects.visible_to(by).filter(pk__in=[c.pk for c in contacts])
    log = functools.partial(
        log_activity,
        by=by,
        kind=Activity.Kind.EMAIL,
        subject=message.subject or "(no subject)",
        body=_activity_body(message),
        done_at=min(message.sent_at, timezone.now()),
    )
    logged = 0
    for contact in visible.order_by("pk"):
        log(contact=contact)
        logged += 1
        deals = Deal.objects.writable_by(by).open().filter(contact=contact).order_by("pk")
        for deal in deals.select_related("owner"):
            log(deal=deal)
            logged += 1
    return logged


def _claim(mail: ParsedMail, owner: User | None) -> InboundMessage | None:
    """The message's row, written now; None when it was recorded before."""
    try:
        with transaction.atomic():
            return InboundMessage.objects.create(
                message_id=mail.message_id,
                user=owner,
                status=InboundMessage.Status.UNMATCHED if owner else InboundMessage.Status.NO_OWNER,
                sender=mail.sender,
                recipients=", ".join((*mail.to, *mail.cc)),
                subject=mail.subject,
                body=mail.text,
                sent_at=mail.sent_at or timezone.now(),
            )
    except IntegrityError:
        return None


@transaction.atomic
def record_message(*, mail: ParsedMail) -> InboundMessage | None:
    """Log one message (see the module's docstring); None if it was logged before."""
    owner = _bcc_owner(mail.envelope)
    message = _claim(mail, owner)
    if message is None:
        return None
    if owner is None:
        logger.warning("Inbound mail %s names no user's BCC address", mail.message_id)
        return message
    contacts = _named_contacts(mail)
    if contacts:
        message.activities_logged = _log_on(message, contacts, by=owner)
        message.status = InboundMessage.Status.LOGGED
        message.save(update_fields=["activities_logged", "status"])
    return message


@transaction.atomic
def attach_unmatched(*, message: InboundMessage, contact: Contact, by: User) -> InboundMessage:
    """Log an unmatched message on a contact (and its open deals) the user picked."""
    locked = InboundMessage.objects.select_for_update().visible_to(by).filter(pk=message.pk).first()
    if locked is None:  # someone else's: as if it did not exist
        raise DomainError("No such e-mail.", field="message")
    if locked.status != InboundMessage.Status.UNMATCHED:
        raise DomainError("This e-mail is logged already.", field="message")
    locked.activities_logged = _log_on(locked, [contact], by=by)
    locked.status = InboundMessage.Status.LOGGED
    locked.save(update_fields=["activities_logged", "status"])
    return locked
