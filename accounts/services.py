"""Users, roles and teams: only admins change them (SPEC §4). Every function is one transaction.

The API, the admin and any settings page call these; they raise `pipeline_crm.errors` types
like the other services.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q

from accounts.models import Role, Team, User
from accounts.visibility import is_admin
from pipeline_crm.db import serialize_on
from pipeline_crm.errors import DomainError, NotAllowed

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


def _require_admin(by: User) -> None:
    if not is_admin(by):
        raise NotAllowed("Only admins manage users and teams.")


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
    _require_admin(by)
    _check_username_free(username)
    user = User(username=username, first_name=first_name, last_name=last_name, email=email)
    _check_password(password, user)
    user.set_password(password)
    user.save()
    _set_role(user, role)
    user.teams.set(list(teams))
    return user


@transaction.atomic
def update_user(*, user: User, by: User, changes: Mapping[str, Any]) -> User:
    """Edit a user: names, e-mail, password (validated, hashed), role, team membership and the
    account flags (active, staff, superuser). The last admin keeps the admin role."""
    _require_admin(by)
    _refuse_unknown(changes, USER_FIELDS)
    user = User.objects.select_for_update().get(pk=user.pk)
    was_admin = _is_active_admin(user)
    for name in ("username", "first_name", "last_name", "email", *ACCOUNT_FLAGS):
        if name in changes:
            setattr(user, name, changes[name])
    if "username" in changes:
        _check_username_free(user.username, user)
    if changes.get("password"):
        _check_password(changes["password"], user)
        user.set_password(changes["password"])
    user.save()
    if "role" in changes:
        _set_role(user, changes["role"])
    if "teams" in changes:
        user.teams.set(list(changes["teams"]))
    if was_admin and not _is_active_admin(user):
        # Whichever of these took the role away is the field at fault.
        field = next((f for f in ("role", "is_superuser", "is_active") if f in changes), None)
        _keep_one_admin(user, field=field)
    return user


@transaction.atomic
def delete_user(*, user: User, by: User) -> None:
    """Delete a user who owns nothing (records keep their owner: reassign them first)."""
    _require_admin(by)
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
    user.delete()


@transaction.atomic
def create_team(
    *, by: User, name: str, managers: Iterable[User] = (), members: Iterable[User] = ()
) -> Team:
    _require_admin(by)
    if Team.objects.filter(name__iexact=name).exists():
        raise DomainError("A team with that name already exists.", field="name")
    team = Team.objects.create(name=name)
    team.managers.set(list(managers))
    team.members.set(list(members))
    return team


@transaction.atomic
def update_team(*, team: Team, by: User, changes: Mapping[str, Any]) -> Team:
    """Rename a team or replace its managers or members."""
    _require_admin(by)
    _refuse_unknown(changes, TEAM_FIELDS)
    team = Team.objects.select_for_update().get(pk=team.pk)
    if "name" in changes:
        if Team.objects.filter(name__iexact=changes["name"]).exclude(pk=team.pk).exists():
            raise DomainError("A team with that name already exists.", field="name")
        team.name = changes["name"]
        team.save()
    if "managers" in changes:
        team.managers.set(list(changes["managers"]))
    if "members" in changes:
        team.members.set(list(changes["members"]))
    return team


@transaction.atomic
def delete_team(*, team: Team, by: User) -> None:
    _require_admin(by)
    team.delete()


@transaction.atomic
def set_digest_opt_out(*, by: User, opt_out: bool) -> User:
    """A user's own choice (their settings page): no daily digest when `opt_out`."""
    User.objects.filter(pk=by.pk).update(digest_opt_out=opt_out)
    by.digest_opt_out = opt_out
    return by
