"""The quota of a view: which quotas count for it, and how they add up for one period."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import Team, User
from accounts.visibility import is_admin, readable_owner_ids
from forecasting import periods
from forecasting.analytics.scope import Scope, money, rate
from forecasting.models import Quota


class AgainstQuota:
    """Won against quota, for the figures of a period or of a rep (dataclasses with both)."""

    won: Decimal
    quota: Decimal | None

    @property
    def gap(self) -> Decimal | None:
        """What is still to close to reach quota (negative: beyond quota)."""
        return None if self.quota is None else money(self.quota - self.won)

    @property
    def attainment(self) -> float | None:
        return rate(self.won, self.quota) if self.quota else None


@dataclass
class ViewQuotas:
    """The quotas that may count for a view: those of its teams and of its people, and which
    of those people belong to which of those teams."""

    rows: list[Quota]
    members: dict[int, set[int]] = field(default_factory=dict)


def quota_rows(scope: Scope, first: dt.date, last: dt.date) -> ViewQuotas:
    """The view's quotas: a rep's view, their own; a team's, the team's and its members';
    otherwise every visible team's and every visible person's. One query, and a second (small)
    one only when both team and personal quotas turn up: which of those people are in which of
    those teams. Only quotas the viewer may see count (`Quota.objects.visible_to`: a rep's
    view of a teammate shows no quota)."""
    window = Q(period_start__gte=periods.period_start(first, "quarter"), period_start__lte=last)
    visible = Quota.objects.visible_to(scope.user).filter(window)
    if scope.owner is not None:
        return ViewQuotas(list(visible.filter(user=scope.owner)))
    teams, people = _view_teams_and_people(scope)
    of_people = Q(user__isnull=False) if people is None else Q(user__in=people)
    rows = list(visible.filter(Q(team__in=teams) | of_people))
    return ViewQuotas(rows, _memberships(rows))


def _view_teams_and_people(scope: Scope) -> tuple[QuerySet[Any], QuerySet[Any] | None]:
    """Ids of the teams of a view, and of its people (None: everyone)."""
    people: QuerySet[Any] | None = None
    if scope.team is not None:
        teams: QuerySet[Any] = Team.objects.filter(pk=scope.team.pk).values("pk")
        people = User.objects.filter(teams__in=teams).values("pk")
    else:
        teams = Team.objects.visible_to(scope.user).values("pk")
    if not is_admin(scope.user):
        visible = readable_owner_ids(scope.user)
        people = visible if people is None else people.filter(pk__in=visible)
    return teams, people


def _memberships(rows: list[Quota]) -> dict[int, set[int]]:
    """{team id: ids of its members} among the teams and people these quotas are for."""
    team_ids = {q.team_id for q in rows if q.team_id is not None}
    user_ids = {q.user_id for q in rows if q.user_id is not None}
    members: dict[int, set[int]] = defaultdict(set)
    if team_ids and user_ids:
        membership = Team.members.through.objects.filter(team__in=team_ids, user__in=user_ids)
        for team_id, user_id in membership.values_list("team_id", "user_id"):
            members[team_id].add(user_id)
    return dict(members)


def sum_quota(rows: Iterable[Quota], start: dt.date, kind: str) -> Decimal | None:
    """One rep's or one team's quota for a period: set for it, or (a quarter) its months'."""
    rows = list(rows)
    exact = [q.amount for q in rows if q.period == kind and q.period_start == start]
    if exact:
        return sum(exact, Decimal(0))
    if kind == "quarter":
        end = periods.period_end(start, kind)
        months = [q.amount for q in rows if q.period == "month" and start <= q.period_start <= end]
        if months:
            return sum(months, Decimal(0))
    return None


def quota_for(quotas: ViewQuotas, start: dt.date, kind: str) -> Decimal | None:
    """The view's quota for one period (None when nobody in it has one):
    - each team of the view counts its own quota when it has one for the period;
    - everyone else counts their own: members of the teams without one, and people in the
      view outside its teams;
    - each person once, and not at all when a team quota of the view already covers them.
    A quarter without its own quota adds up its months, team by team and person by person."""
    by_team: dict[int, list[Quota]] = defaultdict(list)
    by_person: dict[int, list[Quota]] = defaultdict(list)
    for quota in quotas.rows:
        if quota.team_id is not None:
            by_team[quota.team_id].append(quota)
        elif quota.user_id is not None:
            by_person[quota.user_id].append(quota)
    amounts: list[Decimal] = []
    covered: set[int] = set()
    for team_id, rows in by_team.items():
        amount = sum_quota(rows, start, kind)
        if amount is not None:
            amounts.append(amount)
            covered |= quotas.members.get(team_id, set())
    for user_id, rows in by_person.items():
        amount = None if user_id in covered else sum_quota(rows, start, kind)
        if amount is not None:
            amounts.append(amount)
    return sum(amounts, Decimal(0)) if amounts else None
