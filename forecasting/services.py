"""Writes of the forecasting app: quotas and the daily forecast snapshot. One transaction each."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import DateField, F, Value

from accounts.models import Team, User
from deals.models import Deal, effective_probability
from forecasting import periods
from forecasting.models import (
    ForecastSnapshot,
    Quota,
    can_manage_quotas,
    quota_people,
    quota_teams,
)
from pipeline_crm.db import insert_from_select
from pipeline_crm.errors import DomainError, NotAllowed

# --- quotas --------------------------------------------------------------------------------------


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
    return insert_from_select(
        ForecastSnapshot,
        Deal.objects.filter(status=Deal.Status.OPEN),
        conflict_target=["taken_on", "deal_id"],
        taken_on=Value(day, output_field=DateField()),
        deal_id=F("pk"),
        pipeline_id=F("pipeline_id"),
        stage_id=F("stage_id"),
        owner_id=F("owner_id"),
        status=F("status"),
        amount=F("amount"),
        probability=effective_probability(),
        expected_close_date=F("expected_close_date"),
        currency=F("currency"),
    )
