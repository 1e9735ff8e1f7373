"""What the user and team services announce (see `pipeline_crm.events`).

accounts sits below every other app, so what follows from a user's change lives in the apps
above it, as listeners: the invitation e-mail (`followups.listeners`, through the outbox), and
on deactivation the hand-over of their open work (`deals.listeners`, `contacts.listeners`,
`followups.listeners`), each through its own services, inside the same transaction.

The audit log (`audit.listeners`) records the changes to who may do what: users created,
invited, deleted, (de)activated, their role, team managers, API tokens issued and revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import Team, User


@dataclass(frozen=True)
class UserCreated:
    """An admin created `user` with a password (an invited user is `UserInvited`)."""

    user: User
    by: User


@dataclass(frozen=True)
class UserDeleted:
    """An admin deleted the user `user_id` (gone by the time listeners in AFTER_COMMIT run)."""

    user_id: int
    username: str
    by: User


@dataclass(frozen=True)
class RoleChanged:
    """`user`'s role (`accounts.models.Role`, a superuser being an admin) went from `old` to
    `new`."""

    user: User
    by: User
    old: str
    new: str


@dataclass(frozen=True)
class TeamManagersChanged:
    """`team` gained the managers `added` and lost `removed` (a new team: all are added)."""

    team: Team
    by: User
    added: tuple[User, ...]
    removed: tuple[User, ...]


@dataclass(frozen=True)
class ApiTokenIssued:
    """`user` signed in at the token endpoint and was given their API token: a new one when
    `created` (then `ApiTokenCreated` comes too), else the one they already had."""

    user: User
    created: bool


@dataclass(frozen=True)
class ApiTokenCreated:
    """`user` has a new API token: made at the token endpoint (`by` themselves) or by an admin."""

    user: User
    by: User


@dataclass(frozen=True)
class ApiTokenRevoked:
    """`user`'s API token was deleted: by themselves, or with their account's deactivation."""

    user: User
    by: User


@dataclass(frozen=True)
class TwoFactorChanged:
    """`user`'s two-factor sign-in was turned on or off, or their recovery codes renewed
    (`change`: "enabled", "disabled", "reset" by an admin, "recovery_codes")."""

    user: User
    by: User
    change: str


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
