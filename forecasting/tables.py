"""The dashboard's tables: one definition each, rendered under its chart and exported as CSV."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from forecasting import analytics
from forecasting.forms import ForecastFilterForm


@dataclass
class Table:
    name: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    # Per row, a link for its first cell (deal pages), when there is one.
    links: list[str | None] = field(default_factory=list)

    @property
    def linked_rows(self) -> list[tuple[str | None, list[str]]]:
        """(link of the first cell or None, cells) per row, for the HTML table."""
        links = self.links or [None] * len(self.rows)
        return list(zip(links, self.rows, strict=True))


def cell(value: Any) -> str:
    """How a figure reads in a table and in CSV: money with cents, rates 0–1, blanks for none."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(analytics.money(value))
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.1f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def forecast_table(result: analytics.Forecast) -> Table:
    columns = ["Period", "Weighted", "Commit", "Best case", "Pipeline", "Won", "Quota", "Gap"]
    columns += ["Attainment", "Open deals", "Won deals"]
    rows = []
    for figures in [*result.periods, result.unscheduled, result.totals]:
        label = figures.period or "No close date"
        rows.append(
            [
                label if label != "total" else "Total",
                *(
                    cell(getattr(figures, name))
                    for name in ("weighted", "commit", "best_case", "pipeline", "won", "quota")
                ),
                cell(figures.gap),
                cell(figures.attainment),
                cell(figures.deals),
                cell(figures.won_deals),
            ]
        )
    return Table("forecast", f"Forecast by {result.period} ({result.currency})", columns, rows)


def funnel_table(result: analytics.Funnel) -> Table:
    columns = ["Stage", "Entered", "Advanced", "Conversion", "Lost"]
    rows = [
        [s.name, cell(s.entered), cell(s.advanced), cell(s.conversion), cell(s.lost)]
        for s in result.stages
    ]
    return Table("funnel", f"Funnel {result.since} – {result.until}", columns, rows)


def time_in_stage_table(result: analytics.Funnel) -> Table:
    columns = ["Stage", "Median days", "90th percentile days", "Completed stays", "Bottleneck"]
    bottleneck = result.bottleneck
    rows = [
        [
            s.name,
            cell(s.median_days),
            cell(s.p90_days),
            cell(s.stays),
            "yes" if bottleneck and s.stage_id == bottleneck.stage_id else "",
        ]
        for s in result.stages
    ]
    return Table("time_in_stage", "Time in stage", columns, rows)


def lost_reasons_table(result: analytics.Funnel) -> Table:
    rows = [[r["reason"] or "(none given)", cell(r["count"])] for r in result.lost_reasons]
    return Table("lost_reasons", "Lost reasons", ["Reason", "Deals"], rows)


def lost_by_stage_table(result: analytics.Funnel) -> Table:
    rows = [
        [r["stage_name"], r["reason"] or "(none given)", cell(r["count"])]
        for r in result.lost_by_stage
    ]
    return Table("lost_by_stage", "Where deals are lost", ["Stage", "Reason", "Deals"], rows)


def accuracy_table(rows: list[analytics.AccuracyRow]) -> Table:
    columns = ["Period", "Snapshot of", "Forecast (weighted)", "Commit", "Won", "Won / forecast"]
    return Table(
        "accuracy",
        "Forecast vs actual",
        columns,
        [
            [
                r.period,
                cell(r.snapshot_day),
                cell(r.forecast),
                cell(r.commit),
                cell(r.won),
                cell(r.accuracy),
            ]
            for r in rows
        ],
    )


def reps_table(reps: list[analytics.RepFigures]) -> Table:
    columns = ["Rep", "Open deals", "Pipeline", "Weighted", "Won this period", "Quota", "Gap"]
    columns += ["Attainment", "Win rate", "Stalled"]
    rows = [
        [
            r.name,
            cell(r.open_deals),
            cell(r.pipeline),
            cell(r.weighted),
            cell(r.won),
            cell(r.quota),
            cell(r.gap),
            cell(r.attainment),
            cell(r.win_rate),
            cell(r.stalled),
        ]
        for r in reps
    ]
    return Table("reps", "Reps", columns, rows)


def watch_table(name: str, title: str, deals: list[analytics.WatchedDeal]) -> Table:
    columns = ["Deal", "Owner", "Stage", "Amount", "Probability", "Expected close", "Why"]
    rows: list[list[str]] = []
    links: list[str | None] = []
    for watched in deals:
        deal = watched.deal
        rows.append(
            [
                deal.title,
                str(deal.owner),
                deal.stage.name,
                cell(deal.amount),
                cell(int(watched.probability)),
                cell(deal.expected_close_date),
                "; ".join(r.replace("_", " ") for r in watched.reasons),
            ]
        )
        links.append(f"/deals/{deal.pk}/")
    return Table(name, title, columns, rows, links)


def probabilities_table(stages: list[analytics.StageProbability]) -> Table:
    columns = ["Pipeline", "Stage", "Configured %", "Learned %", "Closed deals", "Won"]
    rows = [
        [
            s.pipeline,
            s.stage,
            cell(s.configured),
            cell(s.learned_percent),
            cell(s.closed),
            cell(s.won),
        ]
        for s in stages
    ]
    return Table("probabilities", "Stage probabilities", columns, rows)


def movement_table(result: analytics.Movement) -> Table:
    rows = [[name, cell(count), cell(amount)] for name, count, amount in result.rows()]
    return Table("movement", f"Movement since {result.since}", ["Move", "Deals", "Amount"], rows)


def as_of_table(result: analytics.PipelineAsOf) -> Table:
    rows = [[s.name, cell(s.deals), cell(s.amount), cell(s.weighted)] for s in result.stages]
    title = f"Pipeline on {result.day} (from {result.source})"
    return Table("as_of", title, ["Stage", "Deals", "Amount", "Weighted"], rows)


# --- builders: one per exportable table, computing only what that table needs ------------------


def _forecast(form: ForecastFilterForm) -> Table:
    return forecast_table(analytics.forecast(form.scope(), **form.options()))


def _funnel_result(form: ForecastFilterForm) -> analytics.Funnel:
    options = form.options()
    return analytics.funnel(form.scope(), since=options["since"], until=options["until"])


def _accuracy(form: ForecastFilterForm) -> Table:
    return accuracy_table(
        analytics.forecast_accuracy(form.scope(), period=form.options()["period"])
    )


def _reps(form: ForecastFilterForm) -> Table:
    return reps_table(analytics.rep_figures(form.scope(), **form.options()))


def _watch(key: str, title: str) -> Callable[[ForecastFilterForm], Table]:
    def build(form: ForecastFilterForm) -> Table:
        return watch_table(key, title, analytics.watchlist(form.scope())[key])

    return build


def _movement(form: ForecastFilterForm) -> Table:
    since = form.options()["since"] or analytics.default_funnel_range()[0]
    return movement_table(
        analytics.movement_since(form.scope(), since, period=form.options()["period"])
    )


def _as_of(form: ForecastFilterForm) -> Table:
    day = form.options()["since"] or analytics.default_funnel_range()[0]
    return as_of_table(analytics.pipeline_as_of(form.scope(), day))


BUILDERS: dict[str, Callable[[ForecastFilterForm], Table]] = {
    "forecast": _forecast,
    "funnel": lambda form: funnel_table(_funnel_result(form)),
    "time_in_stage": lambda form: time_in_stage_table(_funnel_result(form)),
    "lost_reasons": lambda form: lost_reasons_table(_funnel_result(form)),
    "lost_by_stage": lambda form: lost_by_stage_table(_funnel_result(form)),
    "accuracy": _accuracy,
    "reps": _reps,
    "stalled": _watch("stalled", "Stalled deals"),
    "at_risk": _watch("at_risk", "At-risk deals"),
    "probabilities": lambda form: probabilities_table(analytics.stage_probabilities(form.scope())),
    "movement": _movement,
    "as_of": _as_of,
}
