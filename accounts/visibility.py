"""Who sees what (SPEC §4), as owner-id subqueries every model's queryset builds on.

- A rep reads what they own and what members of their own teams own; writes only their own.
- A manager reads and writes what members of the teams they manage own.
- An admin reads and writes everything.
The subqueries are lazy, so a visibility filter adds no query of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from django.db.models import Q, QuerySet

if TYPE_CHECKING:
    from accounts.models import User


def _user_model():  # avoid an import cycle with accounts.models at import time
    from accounts.models import User

    return User


def readable_owner_ids(user: User) -> QuerySet:
    """Ids of the users whose records `user` may read (not meaningful for admins: no filter)."""
    User = _user_model()
    return (
        User.objects.filter(Q(pk=user.pk) | Q(teams__members=user) | Q(teams__managers=user))
        .values("pk")
        .distinct()
    )


def writable_owner_ids(user: User) -> QuerySet:
    """Ids of the users whose records `user` may change."""
    User = _user_model()
    return User.objects.filter(Q(pk=user.pk) | Q(teams__managers=user)).values("pk").distinct()


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_admin)


def can_write_owned_by(user, owner_id: int | None) -> bool:
    """Python-side twin of `writable_owner_ids`, for one already-loaded record."""
    if not (user and user.is_authenticated) or owner_id is None:
        return is_admin(user)
    if owner_id == user.pk or is_admin(user):  # one's own records cost no query
        return True
    return writable_owner_ids(user).filter(pk=owner_id).exists()


def can_assign_to(user, owner) -> bool:
    """May `user` make `owner` the owner of a record? Themselves, members of teams they
    manage, anyone for an admin: the same people whose records they may write."""
    return can_write_owned_by(user, owner.pk)


class OwnedQuerySet(QuerySet):
    """The one visibility rule for records that have an `owner`."""

    owner_field = "owner"

    def visible_to(self, user) -> Self:
        if not (user and user.is_authenticated):
            return self.none()
        if is_admin(user):
            return self
        return self.filter(**{f"{self.owner_field}__in": readable_owner_ids(user)})

    def writable_by(self, user) -> Self:
        if not (user and user.is_authenticated):
            return self.none()
        if is_admin(user):
            return self
        return self.filter(**{f"{self.owner_field}__in": writable_owner_ids(user)})


class SharedReadQuerySet(OwnedQuerySet):
    """Companies and contacts: every signed-in user reads them; writes follow the owner rule."""

    def visible_to(self, user) -> Self:
        if not (user and user.is_authenticated):
            return self.none()
        return self
