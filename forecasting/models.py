"""Quotas and daily forecast snapshots (SPEC §3, §6, §7)."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.visibility import OwnedQuerySet


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
