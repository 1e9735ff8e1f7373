"""Quotas and daily forecast snapshots (SPEC §3, §6, §7), and who may see and set quotas."""

import datetime as dt
from decimal import Decimal
from typing import Any, Self

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q, QuerySet

from accounts.models import Team, User
from accounts.visibility import OwnedQuerySet, is_admin

# --- who sets whose quota ------------------------------------------------------------------------


def can_manage_quotas(user: User) -> bool:
    """Admins and managers set quotas; reps only read theirs."""
    return is_admin(user) or user.is_manager


def quota_teams(by: User) -> QuerySet[Team]:
    """Teams whose quota `by` may set: all for admins, the managed ones for managers."""
    return Team.objects.managed_by(by)


def quota_people(by: User) -> QuerySet[User]:
    """Reps whose quota `by` may set: everyone for admins, members of managed teams for managers
    (active people only: a quota is for someone who still sells)."""
    people = User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    if is_admin(by):
        return people
    return people.filter(pk__in=User.objects.filter(teams__in=quota_teams(by)).values("pk"))


class QuotaQuerySet(QuerySet["Quota"]):
    def visible_to(self, user: User) -> Self:
        """Admins see every quota; managers the ones they may set; reps their own and their
        teams'."""
        if not (user and user.is_authenticated):
            return self.none()
        if is_admin(user):
            return self
        if can_manage_quotas(user):
            return self.writable_by(user)
        return self.filter(Q(user=user) | Q(team__in=user.teams.values("pk")))

    def writable_by(self, user: User) -> Self:
        """The quotas `user` may set, change and delete: those of `quota_teams` and
        `quota_people` (none for reps)."""
        if not (user and user.is_authenticated and can_manage_quotas(user)):
            return self.none()
        return self.filter(
            Q(team__in=quota_teams(user).values("pk")) | Q(user__in=quota_people(user).values("pk"))
        )

    def newest_first(self) -> Self:
        """As the quota lists show them: latest period first, with their rep or team."""
        return self.select_related("user", "team").order_by("-period_start", "id")


class Quota(models.Model):
    class Period(models.TextChoices):
        MONTH = "month", "Month"
        QUARTER = "quarter", "Quarter"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="quotas",
    )
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="quotas"
    )
    period = models.CharField(max_length=7, choices=Period.choices, default=Period.MONTH)
    # First day of the month or quarter.
    period_start = models.DateField()
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )

    objects = QuotaQuerySet.as_manager()

    class Meta:
        ordering = ["period_start"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(team__isnull=True))
                | (Q(user__isnull=True) & Q(team__isnull=False)),
                name="quota_user_xor_team",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="quota_amount_non_negative"),
            models.UniqueConstraint(
                fields=["user", "period", "period_start"],
                condition=Q(user__isnull=False),
                name="quota_unique_user_period",
            ),
            models.UniqueConstraint(
                fields=["team", "period", "period_start"],
                condition=Q(team__isnull=False),
                name="quota_unique_team_period",
            ),
        ]

    def __str__(self) -> str:
        who = self.user or self.team
        return f"{who} {self.period} {self.period_start}: {self.amount}"


class ForecastSnapshot(models.Model):
    """One row per open deal per day: what the forecast said then (forecast accuracy, movement)."""

    taken_on = models.DateField(db_index=True)
    deal = models.ForeignKey("deals.Deal", on_delete=models.CASCADE, related_name="snapshots")
    pipeline = models.ForeignKey("deals.Pipeline", on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey("deals.Stage", on_delete=models.SET_NULL, null=True, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=4)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    probability = models.PositiveSmallIntegerField()
    expected_close_date = models.DateField(null=True)
    # The deal's currency that day: money is only ever added up within one currency.
    currency = models.CharField(max_length=3, default=settings.DEFAULT_CURRENCY)

    # Visible by the owner the deal had that day, like every owned record.
    objects = OwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["taken_on", "deal"], name="snapshot_once_per_day")
        ]
        indexes = [
            # Forecast accuracy reads one day's deals due in that day's period.
            models.Index(fields=["taken_on", "expected_close_date"], name="snapshot_day_close_idx")
        ]

    def __str__(self) -> str:
        return f"{self.taken_on} deal {self.deal_id}"


class StageReach(models.Model):
    """Running counts behind the learned probabilities (PostgreSQL only): per stage, owner (0:
    none) and status (won or lost), how many closed deals reached the stage, each deal counted
    once per stage however often it entered it. Kept by triggers on the stage changes and the
    deals (migration 0003); `forecasting.analytics.learning` reads it instead of scanning the
    whole history. SQLite has no triggers: there the history is counted each time."""

    stage_id = models.BigIntegerField()
    owner_id = models.BigIntegerField()
    status = models.CharField(max_length=4)
    deals = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stage_id", "owner_id", "status"], name="stage_reach_key"
            )
        ]

    def __str__(self) -> str:
        return f"stage {self.stage_id} owner {self.owner_id} {self.status}: {self.deals}"


def _kept_reference(to: str) -> models.ForeignKey[Any, Any]:
    """A reference in a table kept by triggers: no constraint (the triggers write it in any
    order), no index of its own (the table's are enough), no way back."""
    return models.ForeignKey(
        to, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )


class OpenStay(models.Model):
    """A run of days a deal was open in one stage, as its history tells (PostgreSQL only): the
    deal counts in the pipeline at the start of every day from `first_day` up to, not
    including, `end_day` (None: still). The same rule as `analytics.as_of.open_at_start_of`,
    computed per deal by triggers whenever its moves, status changes or dates change (migration
    0004), with the deal's current pipeline, owner, currency, amount and override (what the
    rebuilt pipeline adds up). Feeds the running counts of `PipelineDay`."""

    deal_id = models.BigIntegerField(db_index=True)
    pipeline_id = models.BigIntegerField()
    stage_id = models.BigIntegerField()
    owner_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    probability_override = models.PositiveSmallIntegerField(null=True)
    first_day = models.DateField()
    end_day = models.DateField(null=True)

    def __str__(self) -> str:
        return f"deal {self.deal_id} in stage {self.stage_id} {self.first_day}–{self.end_day}"


class PipelineDay(models.Model):
    """Running counts of the open pipeline rebuilt from history (PostgreSQL only): per deal
    pipeline, stage, owner, currency and day, how the deals open at the start of that day
    differ from the day before (an `OpenStay` adds itself on its first day and takes itself
    away on its end day). The pipeline at the start of a day is the sum of the rows up to that
    day. Kept by triggers (migration 0004), never stale; weighted like the board's
    `ColumnTotal`: amounts without an override are weighted by their stage when read.

    Append-only: writers only insert rows (a key may have many), so concurrent transactions never
    wait on each other here (nor deadlock against the board's totals); `compact_running_counts`
    sums each key's rows into one now and then (a periodic task), which changes no figure."""

    pipeline = _kept_reference("deals.Pipeline")
    stage = _kept_reference("deals.Stage")
    owner = _kept_reference(settings.AUTH_USER_MODEL)
    currency = models.CharField(max_length=3)
    day = models.DateField()
    deals = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal(0))
    amount_without_override = models.DecimalField(
        max_digits=24, decimal_places=2, default=Decimal(0)
    )
    # Σ amount × override (a percent) over the deals that have an override.
    override_weighted = models.DecimalField(max_digits=28, decimal_places=2, default=Decimal(0))

    objects = OwnedQuerySet.as_manager()

    class Meta:
        indexes = [
            # The pipeline at the start of a day: every row up to it, from the index alone.
            models.Index(
                fields=["day"],
                include=[
                    "pipeline",
                    "stage",
                    "owner",
                    "currency",
                    "deals",
                    "amount",
                    "amount_without_override",
                    "override_weighted",
                ],
                name="pipeline_day_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} stage {self.stage_id} owner {self.owner_id}: {self.deals:+d} deals"


class MoveDay(models.Model):
    """Running counts behind "movement since a day" (PostgreSQL only): per move (new,
    advanced, slipped_month, slipped_quarter, won, lost), deal pipeline, owner, currency and
    local day, how many deals last made that move that day and their current amounts. A deal
    counts once per move, on the day of its `created_at`, `advanced_at`, `slipped_*_at`, or
    `won_at` / `lost_at` while won / lost: the deals `movement_deals` lists. Kept by statement
    triggers on the deals (migration 0005); movement since a day sums the rows from it on.
    Append-only and compacted like `PipelineDay`."""

    move = models.CharField(max_length=16)
    pipeline = _kept_reference("deals.Pipeline")
    owner = _kept_reference(settings.AUTH_USER_MODEL)
    currency = models.CharField(max_length=3)
    day = models.DateField()
    deals = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal(0))

    objects = OwnedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                fields=["day"],
                include=["move", "pipeline", "owner", "currency", "deals", "amount"],
                name="move_day_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.move} owner {self.owner_id}: {self.deals} deals"


# The stay-length histogram of StageFlowDay (and of migration 0004's triggers, which repeat these
# three numbers): bucket 0 holds stays under 0.1 day; bucket k ≥ 1 those from
# FIRST_BUCKET_SECONDS × BUCKET_RATIO^(k−1) up to × BUCKET_RATIO^k (5 % wide); the last one
# everything from about 2.9 years on.
FIRST_BUCKET_SECONDS = 8640
BUCKET_RATIO = 1.05
STAY_BUCKETS = 192


class RollupSettings(models.Model):
    """One row (id 1): the time zone whose local dates StageFlowDay's days are, written on
    every migrate from settings.TIME_ZONE (see `forecasting.apps`), where the triggers read it."""

    time_zone = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.time_zone


class DayCounts(models.Model):
    """What the running day counts are kept under: the stage, pipeline, owner and currency of
    the deal, and the local day (site time zone) of the move or closing."""

    stage = _kept_reference("deals.Stage")
    pipeline = _kept_reference("deals.Pipeline")
    owner = _kept_reference(settings.AUTH_USER_MODEL)
    currency = models.CharField(max_length=3)
    day = models.DateField()

    objects = OwnedQuerySet.as_manager()

    class Meta:
        abstract = True


class StageFlowDay(DayCounts):
    """Running counts behind the funnel and time in stage (PostgreSQL only): per stage entered,
    the entering deal's pipeline, owner and currency, and local day of the entry: entries, of
    which the deal later went further (`advanced`), completed stays, and those stays by length
    (h0 … h191, see STAY_BUCKETS). Kept by triggers on the stage changes and the deals
    (migration 0004) whatever writes them; `forecasting.analytics.flow_days` reads it instead of
    the stage changes of the range. SQLite has no triggers: there the history is walked."""

    entered = models.BigIntegerField(default=0)
    advanced = models.BigIntegerField(default=0)
    stays = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "day", "owner", "currency", "pipeline"], name="stage_flow_day_key"
            )
        ]

    def __str__(self) -> str:
        return f"stage {self.stage_id} {self.day} owner {self.owner_id}: {self.entered}"


class ClosedDay(DayCounts):
    """Running sums behind the closed-deal figures of the funnel (PostgreSQL only): per stage,
    pipeline, owner, currency, local day of closing, status (won or lost) and lost reason (0:
    none; always 0 for won deals): deals, their summed amount, how many had one, and for won
    deals their summed time from creation to won. Kept by triggers on the deals (migration
    0004); `forecasting.analytics.flow_days` reads it instead of the closed deals of the range."""

    status = models.CharField(max_length=4)
    lost_reason_id = models.BigIntegerField(default=0)
    deals = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal(0))
    with_amount = models.BigIntegerField(default=0)
    cycle = models.DurationField(default=dt.timedelta(0))

    class Meta:
        # Day first: the funnel (one pipeline) and the reps panel (every pipeline) read a range
        # of days.
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "day",
                    "pipeline",
                    "status",
                    "owner",
                    "currency",
                    "stage",
                    "lost_reason_id",
                ],
                name="closed_day_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.status} {self.day} stage {self.stage_id} owner {self.owner_id}: {self.deals}"


class StoredBacktest(models.Model):
    """The accuracy panel's backtest of one period, stored (`services.store_backtests`): the
    forecast made at the period's start for one pipeline (None: every pipeline at once, with the
    model learned from them all), split into `BacktestPart`s. A forecast made at a start reads
    only what was known then, so it does not change afterwards; the Brier scores over the deals
    closed since do, and are brought up to date by the nightly job (`scored_on`)."""

    kind = models.CharField(max_length=7)  # "month" or "quarter"
    start = models.DateField()
    pipeline = models.ForeignKey(
        "deals.Pipeline", on_delete=models.CASCADE, null=True, related_name="+"
    )
    from_snapshot = models.BooleanField()  # the pipeline at the start: snapshot, else history
    scored_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "start", "pipeline"],
                condition=Q(pipeline__isnull=False),
                name="stored_backtest_key",
            ),
            models.UniqueConstraint(
                fields=["kind", "start"],
                condition=Q(pipeline__isnull=True),
                name="stored_backtest_all_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.start} pipeline {self.pipeline_id}"


class BacktestPart(models.Model):
    """One owner's and currency's share of a stored backtest: the deals open at the start that
    the owner held then, in that currency. Figures add up across parts (money in `currency`);
    the learned forecast's range does not, so each part keeps its simulated distribution as the
    101 percentiles 0–100 and a scope's range is drawn from its parts' (`backtest.combined`)."""

    backtest = models.ForeignKey(StoredBacktest, on_delete=models.CASCADE, related_name="parts")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    deals = models.IntegerField()
    configured = models.FloatField()
    learned = models.FloatField()  # the open deals' learned figure, without what is not yet in
    not_yet_in_pipeline = models.FloatField()
    percentiles = models.JSONField()
    # Σ (probability − outcome)² over the deals open at the start and closed by `scored_on`.
    brier_configured = models.FloatField()
    brier_learned = models.FloatField()
    brier_deals = models.IntegerField()

    # Visible by the owner the deals had at the start, like every owned record.
    objects = OwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["backtest", "owner", "currency"], name="backtest_part_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.backtest} owner {self.owner_id} {self.currency}"


# The histogram's columns, shortest stays first.
STAY_BUCKET_COLUMNS = [f"h{k}" for k in range(STAY_BUCKETS)]
for _name in STAY_BUCKET_COLUMNS:
    StageFlowDay.add_to_class(_name, models.IntegerField(default=0))
