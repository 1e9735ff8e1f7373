"""Who sees what (SPEC §4), as owner-id subqueries every model's queryset builds on.

- A rep reads what they own and what members of their own teams own; writes only their own.
- A manager reads and writes what members of the teams they manage own.
- An admin reads and writes everything.
The subqueries are lazy, so a visibility filter adds no query of its own.

Their core is a few lines of SQL over the two team membership tables. Every request filters by
it, often more than once; composed through the ORM (users joined to teams joined to members
and managers) it took about 1 ms to build each time, longer than the database takes to run it.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Self, TypedDict, TypeVar

from django.db import connection
from django.db.models import Model, QuerySet
from django.db.models.expressions import RawSQL

from pipeline_crm.errors import DomainError, NotAllowed

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User

    # Whoever makes a request: signed in, anonymous, or nobody (a job).
    type Caller = User | AnonymousUser | None

_M = TypeVar("_M", bound=Model)


class _OwnerId(TypedDict):
    pk: int


# A lazy subquery of user ids, for `owner__in=`.
OwnerIds = QuerySet["User", _OwnerId]


def _user_model() -> type[User]:  # avoid an import cycle with accounts.models at import time
    from accounts.models import User

    return User


@cache
def _membership_tables() -> dict[str, str]:
    """Table and column names of Team.members and Team.managers, as Django named them, quoted
    for the SQL they are pasted into."""
    from accounts.models import Team

    quote = connection.ops.quote_name
    names = {}
    for role in ("members", "managers"):
        through = getattr(Team, role).through
        names[f"{role}_table"] = quote(through._meta.db_table)
        names[f"{role}_team"] = quote(through._meta.get_field("team").column)
        names[f"{role}_user"] = quote(through._meta.get_field("user").column)
    return names


def _owner_ids(user: User, *, teams_sql: str) -> OwnerIds:
    """The user and the members of the teams `teams_sql` selects (it takes the user id)."""
    t = _membership_tables()
    # Only quoted identifiers of Django's own tables are pasted in; the values are parameters.
    sql = (
        f"SELECT %s UNION SELECT {t['members_user']} FROM {t['members_table']} "  # noqa: S608
        f"WHERE {t['members_team']} IN ({teams_sql})"
    )
    params = [user.pk] * (1 + teams_sql.count("%s"))
    # RawSQL with parameters: the SQL above holds no value of the request's.
    owner_ids = RawSQL(sql, params)  # noqa: S611
    return _user_model().objects.filter(pk__in=owner_ids).values("pk")


def readable_owner_ids(user: User) -> OwnerIds:
    """Ids of the users whose records `user` may read (not meaningful for admins: no filter):
    themselves, and the members of every team they belong to or manage."""
    t = _membership_tables()
    return _owner_ids(
        user,
        # Quoted identifiers only, as in _owner_ids.
        teams_sql=(
            f"SELECT {t['members_team']} FROM {t['members_table']} WHERE {t['members_user']} = %s "  # noqa: S608
            f"UNION SELECT {t['managers_team']} FROM {t['managers_table']} "
            f"WHERE {t['managers_user']} = %s"
        ),
    )


def writable_owner_ids(user: User) -> OwnerIds:
    """Ids of the users whose records `user` may change: themselves, and the members of the
    teams they manage."""
    t = _membership_tables()
    return _owner_ids(
        user,
        # Quoted identifiers only, as in _owner_ids.
        teams_sql=(
            f"SELECT {t['managers_team']} FROM {t['managers_table']} "  # noqa: S608
            f"WHERE {t['managers_user']} = %s"
        ),
    )


def _active_people_by_name() -> QuerySet[User]:
    return (
        _user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    )


def readable_people(user: User) -> QuerySet[User]:
    """The active people whose records `user` may read (everyone for an admin), by name: what
    an owner filter offers."""
    people = _active_people_by_name()
    return people if is_admin(user) else people.filter(pk__in=readable_owner_ids(user))


def assignable_people(user: User) -> QuerySet[User]:
    """The active people `user` may give a record to (themselves, members of the teams they
    manage; everyone for an admin), by name: what an owner picker offers."""
    people = _active_people_by_name()
    return people if is_admin(user) else people.filter(pk__in=writable_owner_ids(user))


def is_admin(user: Caller) -> bool:
    return bool(user and user.is_authenticated and user.is_admin)


def require_admin(user: Caller, refusal: str) -> None:
    """Refuse (403, with `refusal`: "Only admins …") what only admins may do."""
    if not is_admin(user):
        raise NotAllowed(refusal)


def can_write_owned_by(user: Caller, owner_id: int | None) -> bool:
    """Python-side twin of `writable_owner_ids`, for one already-loaded record."""
    if not (user and user.is_authenticated) or owner_id is None:
        return is_admin(user)
    if owner_id == user.pk or is_admin(user):  # one's own records cost no query
        return True
    return writable_owner_ids(user).filter(pk=owner_id).exists()


def can_assign_to(user: Caller, owner: User) -> bool:
    """May `user` make `owner` the owner of a record? Themselves, members of teams they
    manage, anyone for an admin: the same people whose records they may write."""
    return can_write_owned_by(user, owner.pk)


def require_write(user: Caller, owner_id: int | None, what: str) -> None:
    """Refuse (403) a change to a record `user` may see but not change."""
    if not can_write_owned_by(user, owner_id):
        raise NotAllowed(f"You may view this {what} but not change it.")


def require_assignable(user: Caller, owner: User, *, what: str) -> None:
    """The owner a caller picks must be someone whose records the caller may write (400)."""
    if not can_assign_to(user, owner):
        raise DomainError(f"You cannot assign {what} to this user.", field="owner")


class OwnedQuerySet(QuerySet[_M, _M]):
    """The one visibility rule for records that have an `owner`."""

    owner_field = "owner"

    def visible_to(self, user: Caller) -> Self:
        if not (user and user.is_authenticated):
            return self.none()
        if is_admin(user):
            return self
        return self.filter(**{f"{self.owner_field}__in": readable_owner_ids(user)})

    def writable_by(self, user: Caller) -> Self:
        if not (user and user.is_authenticated):
            return self.none()
        if is_admin(user):
            return self
        return self.filter(**{f"{self.owner_field}__in": writable_owner_ids(user)})


class SharedReadQuerySet(OwnedQuerySet[_M]):
    """Companies and contacts: every signed-in user reads them; writes follow the owner rule."""

    def visible_to(self, user: Caller) -> Self:
        if not (user and user.is_authenticated):
            return self.none()
        return self
