"""Writing the audit log: `record` (the listeners' one way in) and the retention purge."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models, transaction
from django.utils import timezone

from audit.models import Action, AuditEntry
from pipeline_crm.request_context import current_client_ip

if TYPE_CHECKING:
    from accounts.models import User

LABEL_LENGTH = AuditEntry._meta.get_field("target_label").max_length or 200


def _ip_or_none(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def _clip(text: object, length: int) -> str:
    text = str(text)
    return text if len(text) <= length else text[: length - 1] + "…"


def _label(target: models.Model) -> str:
    """How a target reads: a user by their username (unique, unlike a name), else `str`."""
    if isinstance(target, AbstractBaseUser):
        return target.get_username()
    return str(target)


def record(
    *,
    action: Action,
    actor: AbstractBaseUser | None,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: object = "",
    target_label: str = "",
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Append one entry: `target` (a record: its model name, id and label) or the target's
    parts; `ip` defaults to the client address of the request being served (none outside one).

    No transaction of its own: called by `DURING` listeners, it commits or rolls back with the
    change it records."""
    if target is not None:
        target_type = target_type or target._meta.model_name or ""
        target_id = target.pk
        target_label = target_label or _label(target)
    signed_in = cast("User | None", actor if actor and actor.is_authenticated else None)
    return AuditEntry.objects.create(
        action=action,
        actor=signed_in,
        actor_label=signed_in.get_username() if signed_in is not None else "",
        target_type=target_type,
        target_id=_clip("" if target_id is None else target_id, 64),
        target_label=_clip(target_label, LABEL_LENGTH),
        ip=_ip_or_none(current_client_ip() if ip is None else ip),
        details=details or {},
    )


def retention_cutoff(now: dt.datetime | None = None) -> dt.datetime:
    return (now or timezone.now()) - dt.timedelta(days=settings.AUDIT_RETENTION_DAYS)


@transaction.atomic
def purge_expired(*, now: dt.datetime | None = None) -> int:
    """Delete the entries older than AUDIT_RETENTION_DAYS (the one way an entry goes); returns
    how many went. One statement: safe to run twice or at once."""
    return AuditEntry.objects.filter(at__lt=retention_cutoff(now)).purge()
