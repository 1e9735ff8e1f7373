"""Users, roles and teams: only admins change them (SPEC §4). Every function is one transaction.

The API, the admin and the settings pages (`/settings/users/`, `/settings/teams/`) call these;
they raise `pipeline_crm.errors` types like the other services.

- Invited users have no usable password; the `UserInvited` event queues the e-mail with a link
  to set one (Django's password-reset token: it stops working once a password is set).
- Deactivating a user hands their open work to someone active (`UserDeactivated`, handled in
  the same transaction by the apps that own that work): nothing is left with an inactive owner.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from rest_framework.authtoken.models import Token

from accounts.events import (
    ApiTokenCreated,
    ApiTokenIssued,
    ApiTokenRevoked,
    RoleChanged,
    TeamManagersChanged,
    UserCreated,
    UserDeactivated,
    UserDeleted,
    UserInvited,
    UserReactivated,
)
from accounts.models import Role, Team, User
from accounts.selectors import default_reassignee
from accounts.visibility import require_admin
from pipeline_crm.db import serialize_on
from pipeline_crm.errors import DomainError, NotAllowed
from pipeline_crm.events import announce

# Flags of the account itself, set in the Django admin.
ACCOUNT_FLAGS = ("is_active", "is_staff", "is_superuser")
USER_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "email",
    "password",
    "role",
    "teams",
    *ACCOUNT_FLAGS,
)
TEAM_FIELDS = ("name", "managers", "members")


ADMINS_ONLY = "Only admins manage users and teams."


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise DomainError(" ".join(exc.messages), field="password") from exc


def _check_username_free(username: str, user: User | None = None) -> None:
    taken = User.objects.filter(username=username)
    if user is not None:
        taken = taken.exclude(pk=user.pk)
    if taken.exists():
        raise DomainError("A user with that username already exists.", field="username")


def _is_active_admin(user: User) -> bool:
    user.__dict__.pop("role", None)  # `role` is a cached_property: read it afresh
    return user.is_active and user.is_admin


def _keep_one_admin(user: User, *, field: str | None) -> None:
    """Refuse to take the admin role from the last active admin (demoted, deactivated,
    stripped of superuser or deleted): nobody could configure the CRM any more.

    Serialized, so two admins demoting each other at once cannot both succeed."""
    serialize_on("last-admin")
    others = (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN))
        .exclude(pk=user.pk)
    )
    if not others.exists():
        raise DomainError("This is the last admin; make someone else admin first.", field=field)


def _set_role(user: User, role: str) -> None:
    if role not in Role.values:
        raise DomainError(f"Choose one of: {', '.join(Role.values)}.", field="role")
    if user.is_superuser and role != Role.ADMIN:
        raise DomainError("A superuser is always an admin.", field="role")
    user.groups.remove(*Group.objects.filter(name__in=Role.values))
    user.groups.add(Group.objects.get(name=role))
    user.__dict__.pop("role", None)  # `role` is a cached_property: read it afresh


def _refuse_unknown(changes: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        name = sorted(unknown)[0]
        raise DomainError(f"“{name}” cannot be changed here.", field=name)


@transaction.atomic
def create_user(
    *,
    by: User,
    username: str,
    password: str,
    role: str = Role.REP,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    teams: Iterable[Team] = (),
) -> User:
    """A new user with a validated, hashed password, one role and membership of `teams`."""
    require_admin(by, ADMINS_ONLY)
    _check_username_free(username)
    user = User(username=username, first_name=first_name, last_name=last_name, email=email)
    _check_password(password, user)
    user.set_password(password)
    user.save()
    _set_role(user, role)
    user.teams.set(list(teams))
    announce(UserCreated(user=user, by=by))
    return user


@transaction.atomic
def update_user(*, user: User, by: User, changes: Mapping[str, Any]) -> User:
    """Edit a user: names, e-mail, password (validated, hashed), role, team membership and the
    account flags (active, staff, superuser). The last admin keeps the admin role."""
    require_admin(by, ADMINS_ONLY)
    _refuse_unknown(changes, USER_FIELDS)
    deactivating = "is_active" in changes and not changes["is_active"]
    user = _lock_user(user, deactivating=deactivating)
    was_admin = _is_active_admin(user)
    old_role = user.role
    for name in ("username", "first_name", "last_name", "email", "is_staff", "is_superuser"):
        if name in changes:
            setattr(user, name, changes[name])
    if "username" in changes:
        _check_username_free(user.username, user)
    if changes.get("email"):
        _check_email_free(user.email, user)
    if changes.get("password"):
        _check_password(changes["password"], user)
        user.set_password(changes["password"])
    user.save()
    if "role" in changes:
        _set_role(user, changes["role"])
    if "teams" in changes:
        user.teams.set(list(changes["teams"]))
    if "is_active" in changes and bool(changes["is_active"]) != user.is_active:
        # Unticking "active" (the Django admin) is a deactivation like any other: open work
        # goes to the default taker; ticking it again is a reactivation.
        if changes["is_active"]:
            _reactivate(user, by=by)
        else:
            _deactivate(user, by=by, reassign_to=None)
    if was_admin and not _is_active_admin(user):
        # Whichever of these took the role away is the field at fault.
        field = next((f for f in ("role", "is_superuser", "is_active") if f in changes), None)
        _keep_one_admin(user, field=field)
    user.__dict__.pop("role", None)  # `role` is a cached_property: read it afresh
    if user.role != old_role:
        announce(RoleChanged(user=user, by=by, old=old_role, new=user.role))
    return user


@transaction.atomic
def delete_user(*, user: User, by: User) -> None:
    """Delete a user who owns nothing (records keep their owner: reassign them first)."""
    require_admin(by, ADMINS_ONLY)
    if user.pk == by.pk:
        raise NotAllowed("You cannot delete yourself.")
    if _is_active_admin(user):
        _keep_one_admin(user, field=None)
    owned = [
        label
        for label, related in (
            ("deals", user.deals),
            ("leads", user.leads),
            ("contacts", user.contacts),
            ("companies", user.companies),
            ("activities", user.activities),
        )
        if related.exists()
    ]
    if owned:
        raise DomainError(
            f"{user} still owns {', '.join(owned)}: reassign them first.", field="detail"
        )
    announce(UserDeleted(user_id=user.pk, username=user.username, by=by))
    user.delete()


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except DjangoValidationError as exc:
        raise DomainError("Enter a valid e-mail address.", field="email") from exc
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def _check_email_free(email: str, user: User | None = None) -> None:
    """One account per address: the password-reset link goes to the address."""
    taken = User.objects.filter(email__iexact=email)
    if user is not None:
        taken = taken.exclude(pk=user.pk)
    holder = taken.first()
    if holder is None:
        return
    if not holder.is_active:
        raise DomainError(
            f"This e-mail address belongs to {holder}, who is deactivated: reactivate them.",
            field="email",
        )
    raise DomainError("A user with this e-mail address already exists.", field="email")


def _check_username(username: str) -> None:
    try:
        User.username_validator(username)
    except DjangoValidationError as exc:
        raise DomainError(
            "Usernames may contain only letters, digits and @ . + - _", field="username"
        ) from exc
    _check_username_free(username)


def _announce_invitation(user: User, by: User) -> None:
    announce(UserInvited(user=user, by=by, key=f"invite:{user.pk}:{uuid.uuid4().hex}"))


@transaction.atomic
def invite_user(
    *,
    by: User,
    email: str,
    role: str = Role.REP,
    first_name: str = "",
    last_name: str = "",
    teams: Iterable[Team] = (),
    username: str = "",
) -> User:
    """A new user without a password (they cannot sign in yet) and an invitation e-mail with a
    link to set one. The username is the e-mail address unless one is given."""
    require_admin(by, ADMINS_ONLY)
    email = _clean_email(email)
    _check_email_free(email)
    username = username.strip() or email
    _check_username(username)
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    user.set_unusable_password()
    user.save()
    _set_role(user, role)
    user.teams.set(list(teams))
    _announce_invitation(user, by)
    return user


@transaction.atomic
def resend_invitation(*, user: User, by: User) -> User:
    """Send the invitation again (a fresh link; the earlier ones keep working until a password
    is set). Only for active users who have not set a password yet."""
    require_admin(by, ADMINS_ONLY)
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise DomainError(f"{user} is deactivated: reactivate them first.")
    if not user.is_invited:
        raise DomainError(f"{user} has already set a password: no invitation to resend.")
    if not user.email:
        raise DomainError(f"{user} has no e-mail address.", field="email")
    _announce_invitation(user, by)
    return user


def _lock_user(user: User, *, deactivating: bool) -> User:
    """`user`'s row, locked; for a deactivation, after the deactivations' own lock.

    Deactivations are serialized: two at once (A's work to B while B is being deactivated)
    would otherwise leave A's work with an inactive B; the second now finds B inactive and
    refuses, or hands over what the first gave B. That lock comes before the row's: a
    deactivation holding B's row while waiting for it would deadlock with the one handing
    work to B (a new owner's row is share-locked by the foreign key check)."""
    if deactivating:
        serialize_on("user-deactivation")
    return User.objects.select_for_update().get(pk=user.pk)


def _deactivate(user: User, *, by: User, reassign_to: User | None) -> None:
    """`user` (locked by `_lock_user`, deactivating) can no longer sign in; their open work
    goes to `reassign_to` (by default a manager of their team, else the admin doing it)."""
    if _is_active_admin(user):
        _keep_one_admin(user, field="is_active")
    taker = reassign_to or default_reassignee(user=user, by=by)
    taker = User.objects.filter(pk=taker.pk).first() if taker else None
    if taker is None or taker.pk == user.pk or not taker.is_active:
        raise DomainError(
            f"Choose an active user other than {user} to take over their work.",
            field="reassign_to",
        )
    user.is_active = False
    user.save(update_fields=["is_active"])
    _revoke_token(user, by=by)  # the API key dies with the account's access
    announce(UserDeactivated(user=user, reassign_to=taker, by=by))


def _reactivate(user: User, *, by: User) -> None:
    user.is_active = True
    user.save(update_fields=["is_active"])
    announce(UserReactivated(user=user, by=by))


@transaction.atomic
def deactivate_user(*, user: User, by: User, reassign_to: User | None = None) -> User:
    """The user can no longer sign in (form, session or API token); their open deals, the
    leads still in play, their companies and contacts and their planned activities go to
    `reassign_to`, in this same transaction. The last active admin stays."""
    require_admin(by, ADMINS_ONLY)
    user = _lock_user(user, deactivating=True)
    if not user.is_active:
        raise DomainError(f"{user} is already deactivated.")
    _deactivate(user, by=by, reassign_to=reassign_to)
    return user


@transaction.atomic
def reactivate_user(*, user: User, by: User) -> User:
    """The user may sign in again. What was handed over on deactivation stays where it went."""
    require_admin(by, ADMINS_ONLY)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        raise DomainError(f"{user} is already active.")
    _reactivate(user, by=by)
    return user


@transaction.atomic
def create_team(
    *, by: User, name: str, managers: Iterable[User] = (), members: Iterable[User] = ()
) -> Team:
    require_admin(by, ADMINS_ONLY)
    if Team.objects.filter(name__iexact=name).exists():
        raise DomainError("A team with that name already exists.", field="name")
    team = Team.objects.create(name=name)
    _set_managers(team, managers, by=by)
    team.members.set(list(members))
    return team


def _set_managers(team: Team, managers: Iterable[User], *, by: User) -> None:
    """Replace `team`'s managers, announcing who came and went (if anyone did)."""
    before = {user.pk: user for user in team.managers.all()}
    after = {user.pk: user for user in managers}
    team.managers.set(list(after.values()))
    added = tuple(user for pk, user in after.items() if pk not in before)
    removed = tuple(user for pk, user in before.items() if pk not in after)
    if added or removed:
        announce(TeamManagersChanged(team=team, by=by, added=added, removed=removed))


@transaction.atomic
def update_team(*, team: Team, by: User, changes: Mapping[str, Any]) -> Team:
    """Rename a team or replace its managers or members."""
    require_admin(by, ADMINS_ONLY)
    _refuse_unknown(changes, TEAM_FIELDS)
    team = Team.objects.select_for_update().get(pk=team.pk)
    if "name" in changes:
        if Team.objects.filter(name__iexact=changes["name"]).exclude(pk=team.pk).exists():
            raise DomainError("A team with that name already exists.", field="name")
        team.name = changes["name"]
        team.save()
    if "managers" in changes:
        _set_managers(team, changes["managers"], by=by)
    if "members" in changes:
        team.members.set(list(changes["members"]))
    return team


@transaction.atomic
def delete_team(*, team: Team, by: User) -> None:
    require_admin(by, ADMINS_ONLY)
    team.delete()


@transaction.atomic
def set_digest_opt_out(*, by: User, opt_out: bool) -> User:
    """A user's own choice (their settings page): no daily digest when `opt_out`."""
    User.objects.filter(pk=by.pk).update(digest_opt_out=opt_out)
    by.digest_opt_out = opt_out
    return by


def _token_of(user: User, *, by: User) -> tuple[Token, bool]:
    token, created = Token.objects.get_or_create(user=user)
    if created:
        announce(ApiTokenCreated(user=user, by=by))
    return token, created


@transaction.atomic
def issue_api_token(*, user: User) -> Token:
    """The API token of `user`, who just proved their password at POST /api/auth/token/: the
    one they have, else a new one."""
    token, created = _token_of(user, by=user)
    announce(ApiTokenIssued(user=user, created=created))
    return token


@transaction.atomic
def create_api_token(*, user: User, by: User) -> Token:
    """An admin makes `user` an API token (the Django admin's token page)."""
    require_admin(by, ADMINS_ONLY)
    token, created = _token_of(user, by=by)
    if not created:
        raise DomainError(f"{user} already has an API token.", field="user")
    return token


@transaction.atomic
def revoke_user_api_token(*, user: User, by: User) -> bool:
    """An admin deletes `user`'s API token (the Django admin's token page)."""
    require_admin(by, ADMINS_ONLY)
    return _revoke_token(user, by=by)


def _revoke_token(user: User, *, by: User) -> bool:
    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        announce(ApiTokenRevoked(user=user, by=by))
    return deleted > 0


@transaction.atomic
def revoke_api_token(*, by: User) -> bool:
    """Delete the signed-in user's own API token: scripts using it get 401 at once; a new one
    comes from POST /api/auth/token/. False when there was none."""
    return _revoke_token(by, by=by)
