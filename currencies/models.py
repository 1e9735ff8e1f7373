"""Exchange rates: units of the reporting currency (`settings.DEFAULT_CURRENCY`) per unit of
another currency, in effect from a day until the next rate of that currency."""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class ExchangeRate(models.Model):
    currency = models.CharField(max_length=3)
    rate = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        help_text="Units of the reporting currency per unit of `currency` (more than 0).",
    )
    valid_from = models.DateField(help_text="The first day the rate applies.")

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "valid_from"], name="exchange_rate_day"),
            models.CheckConstraint(
                condition=models.Q(rate__gt=Decimal(0)),
                name="rate_positive",
                violation_error_message="The rate is more than 0.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate} from {self.valid_from}"
