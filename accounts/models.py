"""Users, teams and roles.

Roles are the groups `rep`, `manager` and `admin` (a superuser is an admin). Visibility (SPEC §4)
is derived from team membership: see `accounts.visibility`.
"""

import secrets
from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.db import models


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
    def initials(self) -> str:
        parts = [p for p in (self.first_name, self.last_name) if p]
        if parts:
            return "".join(p[0] for p in parts).upper()[:2]
        return self.username[:2].upper()

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    managers = models.ManyToManyField(User, related_name="managed_teams", blank=True)
    members = models.ManyToManyField(User, related_name="teams", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
