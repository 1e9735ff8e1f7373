"""Forecast and pipeline analytics (SPEC §7): read-only functions over visible querysets.

Every figure is aggregated in the database; Python only adds up a handful of per-group rows,
divides and rounds. The dashboard, its CSV exports and the API all call these functions, so
they always agree.

Rules worth knowing:
- A deal's probability is its override, else its stage's probability: the configured one, or
  the learned one when asked for (`deals.models.effective_probability`, the one definition).
  The learned one is the same whoever looks: learned from every closed deal, per stage, team
  and rep with shrinkage (`learning`); the learned forecast also spreads each deal over the
  periods it may close in and gives p10/p50/p90 ranges (`ranges`).
- Categories of open deals (disjoint, so they stack): commit = probability ≥ 70 % or a stage
  flagged commit; best case = probability ≥ 40 %; pipeline = the rest. Category figures are
  plain amounts; `weighted` is Σ amount × probability.
- Money is summed in the scope's currency: every currency converted to the reporting one at
  today's rates (`Scope.currency == ""`, the default; deals in a currency without a rate are
  left out and reported, `unconverted_in`), or one currency alone. Sum the `MONEY` annotation
  of `scoped_deals`/`scoped_snapshots` (`amount_of`), never the raw amount.
- Open deals without a close date are left out of the periods and reported as `unscheduled`.

One module a subject, each importing only those before it:
  scope          the viewer's scope, days and periods, money, PostgreSQL settings for big scans
  learning       the learned model: probability per stage, team and rep; when won deals close
  probabilities  configured and learned stage probabilities, a deal's probability as SQL
  quotas         the quotas of a view and how they add up for a period
  closed_deals   win rate, deal size, sales cycle, velocity
  ranges         the learned forecast's open deals spread over periods, p10/p50/p90 ranges
  by_period      the forecast by close period (the dashboard's main figure)
  stage_flow     the funnel and time in stage
  reps           per-rep figures
  watch          stalled and at-risk deals
  as_of          the pipeline as of a past day
  movement       what moved since a day
  accuracy       forecast against actual, from the daily snapshots
  backtest       every past period's forecast made at its start (configured and learned) vs won
"""

from forecasting.analytics.as_of import PipelineAsOf, StageSnapshot, pipeline_as_of
from forecasting.analytics.backtest import Backtest, BacktestRow, backtest, stored_backtest
from forecasting.analytics.by_period import Forecast, PeriodFigures, forecast
from forecasting.analytics.closed_deals import (
    DEFAULT_FUNNEL_DAYS,
    closed_figures,
    closed_scope,
    default_funnel_range,
)
from forecasting.analytics.movement import MOVE_TITLES, Movement, movement_deals, movement_since
from forecasting.analytics.probabilities import (
    BEST_CASE_MIN_PROBABILITY,
    COMMIT_MIN_PROBABILITY,
    LearnedForDeal,
    StageProbability,
    learned_for_deal,
    probability_expression,
    stage_probabilities,
)
from forecasting.analytics.quotas import ViewQuotas, quota_for
from forecasting.analytics.ranges import Range
from forecasting.analytics.reps import RepFigures, rep_figures
from forecasting.analytics.scope import (
    CENT,
    HUNDRED,
    PERCENT,
    PRODUCT,
    SECONDS_PER_DAY,
    Scope,
    currencies_in_use,
    day_bounds,
    money,
    rate,
    scoped_deals,
    scoped_snapshots,
)
from forecasting.analytics.stage_flow import Funnel, FunnelStage, funnel, percentile
from forecasting.analytics.watch import (
    AT_RISK_LOW_PROBABILITY,
    AT_RISK_PUSHES,
    AT_RISK_SOON_DAYS,
    WATCHLIST_LIMIT,
    WatchedDeal,
    watchlist,
)

__all__ = [
    "AT_RISK_LOW_PROBABILITY",
    "AT_RISK_PUSHES",
    "AT_RISK_SOON_DAYS",
    "BEST_CASE_MIN_PROBABILITY",
    "CENT",
    "COMMIT_MIN_PROBABILITY",
    "DEFAULT_FUNNEL_DAYS",
    "HUNDRED",
    "MOVE_TITLES",
    "PERCENT",
    "PRODUCT",
    "SECONDS_PER_DAY",
    "WATCHLIST_LIMIT",
    "Backtest",
    "BacktestRow",
    "Forecast",
    "Funnel",
    "FunnelStage",
    "LearnedForDeal",
    "Movement",
    "PeriodFigures",
    "PipelineAsOf",
    "Range",
    "RepFigures",
    "Scope",
    "StageProbability",
    "StageSnapshot",
    "ViewQuotas",
    "WatchedDeal",
    "backtest",
    "closed_figures",
    "closed_scope",
    "currencies_in_use",
    "day_bounds",
    "default_funnel_range",
    "forecast",
    "funnel",
    "learned_for_deal",
    "money",
    "movement_deals",
    "movement_since",
    "percentile",
    "pipeline_as_of",
    "probability_expression",
    "quota_for",
    "rate",
    "rep_figures",
    "scoped_deals",
    "scoped_snapshots",
    "stage_probabilities",
    "stored_backtest",
    "watchlist",
]
