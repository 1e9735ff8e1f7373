"""Writes of the forecasting app: quotas and the daily forecast snapshot. One transaction each."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from accounts.models import Team, User
from accounts.visibility import is_admin
from deals.models import Deal, Stage
from forecasting import periods
from forecasting.models import ForecastSnapshot, Quota
from pipeline_crm.errors import DomainError, NotAllowed

# --- quotas --------------------------------------------------------------------------------------


def quota_teams(by: User) -> QuerySet[Team]:
    """Teams whose quota `by` may set: all for admins, the managed ones for managers."""
    if is_admin(by):
        return Team.objects.all()
    return Team.objects.filter(pk__in=Team.objects.filter(managers=by).values("pk"))


def quota_people(by: User) -> QuerySet[User]:
    """Reps whose quota `by` may set: everyone for admins, members of managed teams for managers."""
    people = User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    if is_admin(by):
        return people
    return people.filter(pk__in=User.objects.filter(teams__managers=by).values("pk"))


def can_manage_quotas(by: User) -> bool:
    return is_admin(by) or by.role == "manager"


def quotas_visible_to(user: User) -> QuerySet[Quota]:
    """Admins see every quota; managers their teams' and members'; reps their own and teams'."""
    quotas = Quota.objects.select_related("user", "team").order_by("-period_start", "id")
    if is_admin(user):
        return quotas
    if user.role == "manager":
        return quotas.filter(
            Q(team__in=quota_teams(user).values("pk")) | Q(user__in=quota_people(user).values("pk"))
        )
    return quotas.filter(Q(user=user) | Q(team__in=user.teams.values("pk")))


def _check_quota_target(by: User, user: User | None, team: Team | None) -> None:
    if not can_manage_quotas(by):
        raise NotAllowed("Only admins and managers set quotas.")
    if (user is None) == (team is None):
        raise DomainError("Choose either a rep or a team.", field="user")
    if user is not None and not quota_people(by).filter(pk=user.pk).exists():
        raise NotAllowed("You may set quotas only for reps of the teams you manage.")
    if team is not None and not quota_teams(by).filter(pk=team.pk).exists():
        raise NotAllowed("You may set quotas only for the teams you manage.")


@transaction.atomic
def set_quota(
    *,
    by: User,
    period: str,
    period_start: dt.date,
    amount: Decimal,
    user: User | None = None,
    team: Team | None = None,
) -> Quota:
    """Create or replace the quota of a rep or team for one month or quarter."""
    _check_quota_target(by, user, team)
    if period not in Quota.Period.values:
        raise DomainError("Choose month or quarter.", field="period")
    if not periods.is_period_start(period_start, period):
        raise DomainError(f"Use the first day of the {period}.", field="period_start")
    if amount is None or amount < 0:
        raise DomainError("A quota is an amount of zero or more.", field="amount")
    quota, _ = Quota.objects.update_or_create(
        user=user, team=team, period=period, period_start=period_start, defaults={"amount": amount}
    )
    return quota


@transaction.atomic
def update_quota(*, quota: Quota, by: User, amount: Decimal) -> Quota:
    _check_quota_target(by, quota.user, quota.team)
    if amount is None or amount < 0:
        raise DomainError("A quota is an amount of zero or more.", field="amount")
    quota.amount = amount
    quota.save(update_fields=["amount"])
    return quota


@transaction.atomic
def delete_quota(*, quota: Quota, by: User) -> None:
    _check_quota_target(by, quota.user, quota.team)
    quota.delete()


# --- daily snapshot ------------------------------------------------------------------------------


@transaction.atomic
def take_snapshot(*, day: dt.date) -> int:
    """One ForecastSnapshot per open deal for `day`, in one INSERT … SELECT. Idempotent: a deal
    already snapshotted that day is skipped. Returns how many rows were added."""
    snapshot = ForecastSnapshot._meta.db_table
    deal, stage = Deal._meta.db_table, Stage._meta.db_table
    sql = f"""
        INSERT INTO {snapshot}
            (taken_on, deal_id, pipeline_id, stage_id, owner_id, status, amount, probability,
             expected_close_date, currency)
        SELECT %s, d.id, d.pipeline_id, d.stage_id, d.owner_id, d.status, d.amount,
               COALESCE(d.probability_override, s.probability), d.expected_close_date, d.currency
        FROM {deal} d JOIN {stage} s ON s.id = d.stage_id
        WHERE d.status = %s
        ON CONFLICT (taken_on, deal_id) DO NOTHING
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [day, Deal.Status.OPEN])
        return max(cursor.rowcount, 0)
