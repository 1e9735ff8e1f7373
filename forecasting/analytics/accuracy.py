"""What was won in each period of a range: the actual that forecasts are measured against
(`forecasting.analytics.backtest`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from forecasting.analytics.closed_deals import won_day_groups, won_deal_groups
from forecasting.analytics.scope import Scope, parse_day, running_counts_kept, scoped_deals


def won_by_period(scope: Scope, first: dt.date, last: dt.date, kind: str) -> dict[dt.date, Decimal]:
    """The amount won per period of `kind` (by its first day) from `first` to `last`: from the
    closed deals' day sums where they answer, else from the deals (one query)."""
    days = (first, last)
    if running_counts_kept():
        rows = won_day_groups(scope, kind, days, {})
    else:
        rows = won_deal_groups(scoped_deals(scope), kind, days, {})
    return {parse_day(row["bucket"]): row["won"] or Decimal(0) for row in rows}
