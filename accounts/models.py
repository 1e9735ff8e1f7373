"""Users, teams and roles.

Roles are the groups `rep`, `manager` and `admin` (a superuser is an admin). Visibility (SPEC §4)
is derived from team membership: see `accounts.visibility`.
"""

import secrets
from functools import cached_property
from typing import Self

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from accounts.avatars import initials_of
from accounts.visibility import is_admin


class Role(models.TextChoices):
    REP = "rep", "Sales rep"
    MANAGER = "manager", "Sales manager"
    ADMIN = "admin", "Admin"


def new_calendar_token() -> str:
    return secrets.token_urlsafe(24)


class User(AbstractUser):
    digest_opt_out = models.BooleanField(
        default=False, help_text="Do not send me the daily digest e-mail."
    )
    calendar_token = models.CharField(
        max_length=64, unique=True, default=new_calendar_token, editable=False
    )

    @cached_property
    def role(self) -> str:
        """The strongest role the user holds: admin > manager > rep."""
        if self.is_superuser:
            return Role.ADMIN
        names = {g.name for g in self.groups.all()}
        for role in (Role.ADMIN, Role.MANAGER, Role.REP):
            if role.value in names:
                return role.value
        return Role.REP

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_manager(self) -> bool:
        """Holds the manager role (and not the stronger admin one)."""
        return self.role == Role.MANAGER

    @property
    def is_invited(self) -> bool:
        """Invited and not yet signed up: active, no password set, never signed in."""
        return self.is_active and self.last_login is None and not self.has_usable_password()

    @property
    def account_status(self) -> str:
        """ "deactivated", "invited" or "active": how the user list names where they stand."""
        if not self.is_active:
            return "deactivated"
        return "invited" if self.is_invited else "active"

    @property
    def initials(self) -> str:
        """Two letters for an avatar (`{% avatar %}`, accounts.avatars), never shown alone."""
        return initials_of(self.first_name, self.last_name, self.username)

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class TeamQuerySet(models.QuerySet["Team"]):
    """Which teams a user deals with: the one rule for pickers, filters and quotas."""

    def visible_to(self, user: User) -> Self:
        """Every team for admins; for anyone else, the teams they manage or belong to."""
        if not (user and user.is_authenticated):
            return self.none()
        if is_admin(user):
            return self
        # One id list: a team both managed and joined must not come back twice.
        ids = Team.objects.filter(Q(managers=user) | Q(members=user)).values("pk")
        return self.filter(pk__in=ids)

    def managed_by(self, user: User) -> Self:
        """Every team for admins; for anyone else, the teams they manage."""
        if not (user and user.is_authenticated):
            return self.none()
        if is_admin(user):
            return self
        return self.filter(managers=user)


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    managers = models.ManyToManyField(User, related_name="managed_teams", blank=True)
    members = models.ManyToManyField(User, related_name="teams", blank=True)

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
