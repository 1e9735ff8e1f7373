"""How long the learned forecast and the learned model take on a big database, against the
configured forecast.

    BENCH_DATABASE_URL=postgres://…/crm_…bench… .venv/bin/python bench/forecast_learned.py \
        [--repeat 5] [--days 12]

Uses an existing, migrated bench database (`crm_forecast_bench` unless BENCH_DATABASE_URL says
otherwise; fill it with bench/forecast.py). Prints medians of --repeat warm runs (one warm-up
each): the forecast by month as the admin (every deal) with configured and learned
probabilities, `learn_model()` (now: running counts), its slip query alone, `learn_model(as_of=…)`
(counted from the history), and `learn_models` for --days month starts at once (a backtest's
calls), with and without the timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from _common import fail_unless, use_bench_database

use_bench_database("crm_forecast_bench")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from deals.models import Deal  # noqa: E402
from forecasting import analytics, periods  # noqa: E402
from forecasting.analytics import Scope, learning  # noqa: E402


def measure(label: str, fn: Callable[[], Any], repeat: int) -> float:
    fn()
    samples = []
    with CaptureQueriesContext(connection) as captured:
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000)
    median = statistics.median(samples)
    queries = len(captured.captured_queries) // repeat
    print(f"  {label:<46} median {median:9.1f} ms  {queries:>4} queries", flush=True)
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--days", type=int, default=12)
    args = parser.parse_args()
    deals = Deal.objects.count()
    fail_unless(deals > 0, "an empty database: fill it with bench/forecast.py first")
    admin = User.objects.filter(is_superuser=True).first() or User.objects.first()
    open_deals = Deal.objects.filter(status=Deal.Status.OPEN).count()
    print(f"{deals:,} deals ({open_deals:,} open), repeat {args.repeat}")
    scope = Scope(user=admin)
    today = timezone.localdate()
    configured = measure(
        "forecast by month, configured",
        lambda: analytics.forecast(scope, today=today),
        args.repeat,
    )
    learned = measure(
        "forecast by month, learned",
        lambda: analytics.forecast(scope, probabilities="learned", today=today),
        args.repeat,
    )
    print(f"  learned / configured: {learned / configured:.1f}×")
    measure("learn_model() (now)", lambda: learning.learn_model(), args.repeat)
    measure("  its slip counts alone", lambda: learning._slip_counts(None, None), args.repeat)
    start = periods.period_start(today, "month")
    days = [
        timezone.make_aware(
            dt_combine(periods.shift(start, "month", -n)), timezone.get_current_timezone()
        )
        for n in range(args.days, 0, -1)
    ]
    repeat = max(1, args.repeat // 3)
    one = measure(
        "learn_model(as_of=a month start)", lambda: learning.learn_model(as_of=days[0]), 1
    )
    batch = getattr(learning, "learn_models", None)
    for timing in (False, True):
        label = f"{args.days} month starts{'' if timing else ', no timing'}"
        if batch is None:
            measure(
                f"{label}: learn_model × {args.days}",
                lambda t=timing: [learning.learn_model(as_of=d, timing=t) for d in days],
                1,
            )
        else:
            measure(
                f"{label}: learn_models", lambda t=timing: batch(as_of_days=days, timing=t), repeat
            )
    print(f"  (learn_model per day, {args.days} days ≈ {one * args.days / 1000:.1f} s)")


def dt_combine(day):
    import datetime as dt

    return dt.datetime.combine(day, dt.time())


if __name__ == "__main__":
    main()
