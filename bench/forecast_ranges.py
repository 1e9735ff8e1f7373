"""How long the learned forecast's ranges take: p10 / p50 / p90 per period and in total by
simulating open deals (`forecasting.analytics.ranges.simulate`).

    .venv/bin/python bench/forecast_ranges.py [--deals 100000] [--draws 2000] [--periods 6]

No database: random open deals (amounts, probabilities, period shares), median of five runs;
then the same with the probabilities' own uncertainty (300 stage × rep groups, each drawn from
its beta posterior in every draw) and the wins of deals not yet in the pipeline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_crm.settings")
os.environ.setdefault("DEBUG", "true")

import django

django.setup()

from forecasting.analytics.new_deals import NotYetInPipeline  # noqa: E402
from forecasting.analytics.ranges import Uncertain, simulate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--periods", type=int, default=6)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    amounts = rng.lognormal(9, 1, args.deals)
    chances = rng.uniform(0.05, 0.9, args.deals)
    shares = rng.dirichlet(np.ones(args.periods + 1), args.deals)[:, : args.periods]
    weighted = float((amounts * chances) @ shares.sum(axis=1))
    print(f"{args.deals:,} open deals, {args.periods} periods, {args.draws:,} draws")
    groups = rng.integers(0, 300, args.deals)
    widened = {
        "uncertain": Uncertain(groups, rng.uniform(0.1, 0.6, 300), rng.uniform(20, 400, 300)),
        "not_yet": NotYetInPipeline(
            expected=np.full(args.periods, weighted * 0.05 / args.periods),
            mean_win=20_000.0,
            second_moment=20_000.0**2 * 2,
            evidence=500.0,
        ),
    }
    for label, extra in (("simulate", {}), ("with uncertainty and new deals", widened)):
        times = []
        for seed in range(5):
            start = time.perf_counter()
            result = simulate(
                amounts=amounts,
                probabilities=chances,
                shares=shares,
                draws=args.draws,
                seed=seed,
                **extra,  # type: ignore[arg-type]
            )
            times.append(time.perf_counter() - start)
        print(f"  {label}: {statistics.median(times) * 1000:8.1f} ms (median of 5)")
        total = result.total
        print(f"    total: p10 {total.p10:,.0f}  p50 {total.p50:,.0f}  p90 {total.p90:,.0f}")
    print(f"  weighted (expected) {weighted:,.0f}")


if __name__ == "__main__":
    main()
