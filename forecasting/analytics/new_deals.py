"""Not yet in the pipeline: what deals created after the forecast is made will win in its periods.

A forecast from the open deals cannot see the deals created later, yet part of a period's wins
come from deals created and won within it (about a quarter of a quarter's, on the demo data).
Learned from what was known when the forecast is made, and nothing later:

- Per creation month (cohort) and delay d = 0, 1, … `HORIZON` − 1 months: the share of the
  amount created in the month that was won d calendar months later, over the `COHORTS` most
  recent cohorts whose month d is over (so each share is fully known). Per owner, in deals'
  worth (amounts over the mean deal's), shrunk toward their team's and everyone's as the
  learned probabilities are (`learning.shrink`): a rep with a short history gets a figure
  between their own and their team's.
- What the scope's owners will create per month: what they created per month over the last
  `CREATION_MONTHS` full months (in the scope's currency).

The expected wins of future month m add up, over the creation months c = the current one … m,
share(m − c) × the amount created per month. Of the current month only the part still to come
is created; its own month's share is scaled by that part squared (less time to be both created
and won), the later months' by the part.

Its range: such wins arrive as a compound Poisson (how many: Poisson around expected ÷ the mean
such win; their amounts with the mean and spread of such wins in history), the rate itself
uncertain by how many such wins it rests on (gamma): see `ranges.simulate`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.core.cache import cache
from django.db.models import Count, F, QuerySet, Sum
from django.db.models.expressions import Combinable
from django.db.models.functions import ExtractMonth, ExtractYear

from currencies.selectors import converted_amount, rates_in_effect
from deals.models import Deal, Pipeline
from forecasting import periods
from forecasting.analytics.learning import Shrunk, owner_teams, shrink
from forecasting.analytics.scope import MONEY, PRODUCT, day_bounds

# Delays learned: months from a deal's creation month to its win month.
HORIZON = 12
# The most recent fully known cohorts each delay's share is learned from.
COHORTS = 6
# Full months before the forecast whose creations give the amount created per month ahead.
CREATION_MONTHS = 3
# Full months the company's growth in created amount is measured over, and its bounds (a
# month's factor): what is created ahead follows the recent trend, never a wild one.
GROWTH_MONTHS = 6
GROWTH_BOUNDS = (0.9, 1.1)
# Months ahead the trend is carried: beyond them what is created per month stays level.
GROWTH_AHEAD = 3
# How long the live forecast keeps what it learned (it reads only months already over).
CACHE_SECONDS = 3600


def month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _month_of(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_expr(name: str) -> Combinable:
    return ExtractYear(name) * 12 + ExtractMonth(name) - 1


@dataclass
class NewDealRates:
    """What `learn_new_deals` learned: per delay, everyone's share and each owner's."""

    month: int  # the month the forecast is made in (`month_index`)
    left: float  # the share of that month still to come
    by_delay: list[Shrunk]
    observed: dict[int, int] = field(default_factory=dict)  # such wins seen, per owner
    mean_win: float = 0.0  # the mean amount of such a win, and its square's mean
    second_moment: float = 0.0
    growth: float = 1.0  # the created amount's trend: its factor per month

    def shares(self, owner: int) -> np.ndarray:
        """Per delay: the share of what `owner` creates in a month won that many months later."""
        return np.array([s.reps.get(owner, s.teams.get(owner, s.rate)) for s in self.by_delay])


@dataclass
class NotYetInPipeline:
    """Expected wins from deals not yet in the pipeline, per period of the forecast, and what
    their spread is drawn from."""

    expected: np.ndarray
    mean_win: float = 0.0
    second_moment: float = 0.0
    evidence: float = 0.0  # how many such wins the expectation rests on


def learn_new_deals(*, day: dt.date, pipeline: Pipeline | None = None) -> NewDealRates:
    """Learn from the deals created before the start of `day` (two queries)."""
    now = month_index(day)
    since, month_start = _month_start(now - COHORTS - HORIZON), _month_start(now)
    deals = Deal.objects.filter(currency__in=list(rates_in_effect().per_unit))
    if pipeline is not None:
        deals = deals.filter(pipeline=pipeline)
    deals = deals.annotate(**{MONEY: converted_amount()}).filter(created_at__gte=since).order_by()
    won = (
        deals.filter(status=Deal.Status.WON, won_at__lt=month_start)
        .annotate(cohort=_month_expr("created_at"), won_month=_month_expr("won_at"))
        .values("owner_id", "cohort", "won_month")
        .annotate(
            total=Sum(MONEY),
            n=Count("id"),
            squares=Sum(F(MONEY) * F(MONEY), output_field=PRODUCT),
        )
        .values_list("owner_id", "cohort", "won_month", "total", "n", "squares")
    )
    created = (
        deals.filter(created_at__lt=month_start)
        .annotate(cohort=_month_expr("created_at"))
        .values("owner_id", "cohort")
        .annotate(total=Sum(MONEY), n=Count("id"))
        .values_list("owner_id", "cohort", "total", "n")
    )
    days = (periods.period_end(_month_of(now), "month") - _month_of(now)).days + 1
    rates = NewDealRates(month=now, left=1 - (day.day - 1) / days, by_delay=[])
    _fit(rates, list(won), list(created))
    return rates


def learned_new_deals(*, day: dt.date) -> NewDealRates:
    """`learn_new_deals(day=day)` for the live forecast, kept `CACHE_SECONDS`: it reads only
    deals created and won before `day`'s month (little changes there), and on a big database it
    reads most deals."""
    key = f"forecasting:new-deal-rates:{day.isoformat()}"
    rates = cache.get(key)
    if not isinstance(rates, NewDealRates):
        rates = learn_new_deals(day=day)
        cache.set(key, rates, timeout=CACHE_SECONDS)
    return rates


def _month_start(index: int) -> dt.datetime:
    first = _month_of(index)
    return day_bounds(first, first)[0]


WonRow = tuple[int | None, int, int, Decimal | None, int, Decimal | None]
CreatedRow = tuple[int | None, int, Decimal | None, int]


def _fit(rates: NewDealRates, won: list[WonRow], created: list[CreatedRow]) -> None:
    """Each delay's shares per owner from the won and created sums per owner and month."""
    made: dict[int, dict[int, float]] = defaultdict(dict)
    for owner, cohort, amount, _ in created:
        made[owner or 0][cohort] = float(amount or 0)
    gained: dict[tuple[int, int, int], float] = defaultdict(float)
    wins = total = squares = 0.0
    for owner, cohort, won_month, amount, n, square in won:
        gained[(owner or 0, cohort, won_month - cohort)] = float(amount or 0)
        rates.observed[owner or 0] = rates.observed.get(owner or 0, 0) + n
        wins, total, squares = wins + n, total + float(amount or 0), squares + float(square or 0)
    count = sum(n for *_, n in created)
    unit = sum(sum(by_month.values()) for by_month in made.values()) / count if count else 1.0
    rates.growth = _growth(made, rates.month)
    teams = owner_teams()
    for delay in range(HORIZON):
        cohorts = range(rates.month - delay - COHORTS, rates.month - delay)
        by_owner = {
            owner: (
                sum(by_month.get(c, 0.0) for c in cohorts) / unit,
                sum(gained.get((owner, c, delay), 0.0) for c in cohorts) / unit,
            )
            for owner, by_month in made.items()
        }
        rates.by_delay.append(shrink(by_owner, teams))
    if wins:
        rates.mean_win, rates.second_moment = total / wins, squares / wins


def not_yet_in_pipeline(
    rates: NewDealRates, deals: QuerySet[Deal], *, starts: list[dt.date], kind: str
) -> NotYetInPipeline:
    """The expected wins of `deals`' owners' deals yet to be created, per period of `starts`
    (none in a period already over), from what they created in the last full months (one
    query: `deals` is scoped and carries `MONEY`)."""
    per_owner: dict[int, Decimal] = defaultdict(Decimal)
    for owner, _, total in _created(rates, deals):
        per_owner[owner] += total or 0
    return _expected(rates, list(per_owner.items()), starts, kind)


def not_yet_per_owner(
    rates: NewDealRates, deals: QuerySet[Deal], *, starts: list[dt.date], kind: str
) -> dict[tuple[int, str], NotYetInPipeline]:
    """`not_yet_in_pipeline` for each owner and currency of `deals` on its own (one query;
    `deals` carries `MONEY` in its own currency)."""
    return {
        (owner, currency): _expected(rates, [(owner, total)], starts, kind)
        for owner, currency, total in _created(rates, deals)
    }


def _created(rates: NewDealRates, deals: QuerySet[Deal]) -> list[tuple[int, str, Decimal | None]]:
    """Σ MONEY created in the last `CREATION_MONTHS` full months per owner and currency."""
    since, until = _month_start(rates.month - CREATION_MONTHS), _month_start(rates.month)
    return list(
        deals.filter(created_at__gte=since, created_at__lt=until)
        .values("owner_id", "currency")
        .annotate(total=Sum(MONEY))
        .values_list("owner_id", "currency", "total")
        .order_by()
    )


def _expected(
    rates: NewDealRates,
    per_owner: list[tuple[int, Decimal | None]],
    starts: list[dt.date],
    kind: str,
) -> NotYetInPipeline:
    shares = np.zeros(HORIZON)
    evidence = 0.0
    for owner, amount in per_owner:
        shares += float(amount or 0) / CREATION_MONTHS * rates.shares(owner or 0)
        evidence += rates.observed.get(owner or 0, 0)
    last = month_index(periods.period_end(starts[-1], kind)) if starts else rates.month
    by_month = _by_month(shares, rates.left, last - rates.month + 1, rates.growth)
    expected = np.array([_in_period(by_month, rates.month, start, kind) for start in starts])
    return NotYetInPipeline(
        expected=expected,
        mean_win=rates.mean_win,
        second_moment=rates.second_moment,
        evidence=evidence,
    )


def _by_month(shares: np.ndarray, left: float, months: int, growth: float) -> np.ndarray:
    """Expected wins of months 0 … months − 1 from now: Σ over creation months c ≤ m of
    shares[m − c] (the current month's creations: only the part `left`), each creation month's
    amount grown by the trend from the middle of the months it was measured over (for
    `GROWTH_AHEAD` months at most)."""
    result = np.zeros(max(months, 0))
    middle = (CREATION_MONTHS + 1) / 2
    for m in range(len(result)):
        for c in range(max(0, m - HORIZON + 1), m + 1):
            part = 1.0 if c else (left * left if m == 0 else left)
            result[m] += shares[m - c] * part * growth ** (min(c, GROWTH_AHEAD) + middle)
    return result


def _growth(made: dict[int, dict[int, float]], now: int) -> float:
    """The company's monthly growth factor in created amount over the last `GROWTH_MONTHS`
    full months (a least-squares line through the logarithms), within `GROWTH_BOUNDS`."""
    totals = np.array(
        [sum(by_month.get(m, 0.0) for by_month in made.values()) for m in range(now - 12, now)]
    )
    # The full months with creations up to now; the first month of the history is a part.
    active = np.flatnonzero(totals > 0)
    months = np.arange(active[0] + 1, 12) if len(active) else np.arange(0)
    months = months[-GROWTH_MONTHS:]
    if len(months) < 3 or (totals[months] <= 0).any():
        return 1.0
    slope = np.polyfit(months, np.log(totals[months]), 1)[0]
    return float(np.clip(np.exp(slope), *GROWTH_BOUNDS))


def _in_period(by_month: np.ndarray, now: int, start: dt.date, kind: str) -> float:
    first = month_index(start)
    months = range(first, month_index(periods.period_end(start, kind)) + 1)
    return float(sum(by_month[m - now] for m in months if 0 <= m - now < len(by_month)))
