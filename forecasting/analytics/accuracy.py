"""What was won in each period of a range: the actual that forecasts are measured against
(`forecasting.analytics.backtest`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDate

from deals.models import Deal
from forecasting.analytics.scope import (
    MONEY,
    Row,
    Scope,
    day_bounds,
    parse_day,
    scoped_deals,
    trunc_period,
)


def won_by_period(scope: Scope, first: dt.date, last: dt.date, kind: str) -> dict[dt.date, Decimal]:
    start_at, end_at = day_bounds(first, last)
    rows: QuerySet[Any, Row] = (
        scoped_deals(scope)
        .filter(status=Deal.Status.WON, won_at__gte=start_at, won_at__lt=end_at)
        .annotate(bucket=trunc_period(kind)(TruncDate("won_at")))
        .values("bucket")
        .annotate(won=Sum(MONEY))
        .order_by()
    )
    return {parse_day(row["bucket"]): row["won"] or Decimal(0) for row in rows}
