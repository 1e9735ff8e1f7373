"""What the user and team services announce (see `pipeline_crm.events`).

accounts sits below every other app, so what follows from a user's change lives in the apps
above it, as listeners: the invitation e-mail (`followups.listeners`, through the outbox), and
on deactivation the hand-over of their open work (`deals.listeners`, `contacts.listeners`,
`followups.listeners`), each through its own services, inside the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class UserInvited:
    """`user` was invited (or invited again) and has no password yet; `key` is unique to this
    invitation, so its e-mail is queued once however often the event is handled."""

    user: User
    by: User
    key: str


@dataclass(frozen=True)
class UserDeactivated:
    """`user` can no longer sign in; their open work goes to `reassign_to` (DURING: in the same
    transaction, so nothing is ever left with an inactive owner)."""

    user: User
    reassign_to: User
    by: User


@dataclass(frozen=True)
class UserReactivated:
    user: User
    by: User
