"""What a board shows: the filters of its URL, the deals they keep, the owner filter's people."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from accounts.models import Team, User
from accounts.visibility import is_admin, readable_owner_ids, writable_owner_ids
from deals.models import Deal, DealQuerySet, Pipeline
from pipeline_crm.ids import parse_id


@dataclass(frozen=True)
class BoardFilters:
    """What the board shows, as read from its URL (see `deals.forms.BoardFilterForm`).

    owner: "all" (everything the user may see), "me", "team" (my teams' members) or a user id.
    team: a team's id (the deals of its members), on top of the owner filter; None: any team.
    status: "" shows open and won deals (lost ones leave the board), or exactly one status.
    """

    owner: str = "all"
    team: int | None = None
    q: str = ""
    stalled: bool = False
    close_from: dt.date | None = None
    close_to: dt.date | None = None
    status: str = ""

    @property
    def is_default(self) -> bool:
        return self == BoardFilters()

    def statuses(self) -> list[str]:
        if self.status:
            return [self.status]
        return [Deal.Status.OPEN, Deal.Status.WON]

    @property
    def kept_in_totals(self) -> bool:
        """Only owner and status narrow the board: the running column totals answer it."""
        return not (self.q or self.stalled or self.close_from or self.close_to)

    def owner_condition(self, user: User) -> Q:
        """Whose deals the owner and team filters keep (both lazy subqueries: no query here)."""
        return self._owner_only(user) & self._team_only(user)

    def _owner_only(self, user: User) -> Q:
        if self.owner == "me":
            return Q(owner=user)
        if self.owner == "team":
            return Q(owner__in=readable_owner_ids(user))
        owner_id = parse_id(self.owner)
        if owner_id is not None:
            return Q(owner_id=owner_id)
        return Q()

    def _team_only(self, user: User) -> Q:
        if self.team is None:
            return Q()
        # Only a team the user may see: any other keeps nothing.
        team = Team.objects.visible_to(user).filter(pk=self.team)
        return Q(owner__in=User.objects.filter(teams__in=team.values("pk")).values("pk"))

    def apply(self, deals: DealQuerySet, user: User) -> DealQuerySet:
        deals = deals.filter(self.owner_condition(user), status__in=self.statuses())
        if self.q:
            deals = deals.matching(self.q)
        if self.stalled:
            deals = deals.filter(stalled=True)
        if self.close_from:
            deals = deals.filter(expected_close_date__gte=self.close_from)
        if self.close_to:
            deals = deals.filter(expected_close_date__lte=self.close_to)
        return deals


def board_deals(
    user: User,
    pipeline: Pipeline,
    filters: BoardFilters,
    visible_owner_ids: Sequence[int] | None = None,
) -> DealQuerySet:
    """Every deal of the pipeline this user may see and the filters keep.

    `visible_owner_ids`, when the caller has them already (the owner filter lists them), are
    added as a literal list next to the visibility rule: redundant for the result, but the
    database can then range-scan the covering index for just those owners.
    """
    if visible_owner_ids is None:
        deals = Deal.objects.visible_to(user)
    else:
        # The same rule as `visible_to`, evaluated once by the caller (the owner filter reads
        # `accounts.visibility.readable_owner_ids`) instead of a subquery run for every column.
        deals = Deal.objects.filter(owner_id__in=list(visible_owner_ids))
    return filters.apply(deals.filter(pipeline=pipeline), user)


def board_page_size() -> int:
    return max(1, int(getattr(settings, "BOARD_PAGE_SIZE", 30)))


@dataclass
class OwnerChoice:
    user: User
    writable: bool

    @property
    def pk(self) -> int:
        return self.user.pk

    @property
    def label(self) -> str:
        return str(self.user)


def team_choices(user: User) -> list[Team]:
    """The teams the board's team picker offers: every one for admins, the teams a manager
    manages (or belongs to), a rep's own."""
    return list(Team.objects.visible_to(user).only("id", "name").order_by("name"))


def owner_choices(user: User) -> list[OwnerChoice]:
    """People whose deals this user may see (for the owner filter), and whose they may change."""
    people = User.objects.only("id", "username", "first_name", "last_name").order_by(
        "first_name", "username"
    )
    if is_admin(user):
        return [OwnerChoice(u, True) for u in people]
    people = people.filter(pk__in=readable_owner_ids(user)).annotate(
        can_write=Exists(writable_owner_ids(user).filter(pk=OuterRef("pk")))
    )
    return [OwnerChoice(u, bool(u.can_write)) for u in people]
