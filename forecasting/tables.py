"""The dashboard's tables: one definition each, rendered under its chart and exported as CSV.

A table holds the raw figures and what kind each column is: the page shows them through the
`figures` formats ("$98,600", "109.6 %", "12 days"), the CSV keeps them raw ("98600.00",
"1.0956").
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from django.http import QueryDict
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from forecasting import analytics
from forecasting.forms import ForecastFilterForm
from pipeline_crm.templatetags import figures

# text: as it is; money: in the table's currency; rate: a share 0–1; percent: already in
# percent; days; count; date.
Kind = Literal["text", "money", "rate", "percent", "days", "count", "date"]
Column = tuple[str, Kind]

NOT_APPLICABLE_TEXT = "n/a"


class NotApplicable:
    """A figure that has no meaning in its row (a post-sale stage's conversion): "n/a" on the
    page, blank in CSV."""

    def __str__(self) -> str:
        return ""


NOT_APPLICABLE = NotApplicable()

SHOWN: dict[str, Callable[[Any], str]] = {
    "rate": figures.percent,
    "percent": figures.percent_points,
    "days": figures.days,
    "count": figures.count,
}


@dataclass
class Table:
    name: str
    title: str
    headings: list[Column]
    values: list[list[Any]]  # per row, the raw figures
    currency: str = ""
    # Per row, a link for its first cell (deal pages), when there is one.
    links: list[str | None] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """The column names (the CSV header)."""
        return [label for label, _ in self.headings]

    @property
    def rows(self) -> list[list[str]]:
        """The rows as the CSV has them: raw figures ("98600.00", "0.2593", blank for none)."""
        return [[cell(value) for value in row] for row in self.values]

    def show(self, value: Any, kind: Kind) -> str:
        """A figure as the page shows it ("—" for none, text as it is)."""
        if value is None:
            return "" if kind == "text" else figures.NONE
        if isinstance(value, NotApplicable):
            return NOT_APPLICABLE_TEXT
        if kind == "money":
            return figures.money(value, self.currency)
        if kind in SHOWN:
            return SHOWN[kind](value)
        return cell(value)

    @property
    def body_html(self) -> SafeString:
        """The HTML table's rows, each as `_table.html` once drew it cell by cell: a panel's
        fifty rows of seven cells cost more as template nodes than the figures themselves."""
        links = self.links or [None] * len(self.values)
        kinds = [kind for _, kind in self.headings]
        rows = []
        for link, values in zip(links, self.values, strict=True):
            shown = [
                _escaped(self.show(value, kind)) for value, kind in zip(values, kinds, strict=True)
            ]
            first = f'<a href="{_escaped(link)}">{shown[0]}</a>' if link else shown[0]
            others = "".join(
                f'<td class="fig-{kind}">{text}</td>'
                for kind, text in zip(kinds[1:], shown[1:], strict=True)
            )
            rows.append(f'\n      <tr><th scope="row">{first}</th>{others}</tr>\n    ')
        return mark_safe("".join(rows))  # noqa: S308 - every value above is escaped


def _escaped(text: str) -> str:
    """`conditional_escape` without its lazy-text wrapper (350 cells to a watchlist panel): the
    standard library's escape, which Django's calls, unless the text is already HTML."""
    return str(text) if hasattr(text, "__html__") else html.escape(text)


def cell(value: Any) -> str:
    """How a figure reads in CSV: money with cents, rates 0–1, blanks for none."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(analytics.money(value))
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.1f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


MONEY_FIGURES = ("weighted", "commit", "best_case", "pipeline", "won", "quota", "gap")


def forecast_table(result: analytics.Forecast) -> Table:
    columns: list[Column] = [("Period", "text"), ("Weighted", "money"), ("Commit", "money")]
    columns += [("Best case", "money"), ("Pipeline", "money"), ("Won", "money")]
    columns += [("Quota", "money"), ("Gap", "money"), ("Attainment", "rate")]
    columns += [("Open deals", "count"), ("Won deals", "count")]
    ranged = result.probabilities == "learned"
    if ranged:
        columns += [("Not yet in pipeline", "money")]
        columns += [("Low (p10)", "money"), ("Likely (p50)", "money"), ("High (p90)", "money")]
    rows = []
    for period_figures in [*result.periods, result.unscheduled, result.totals]:
        label = period_figures.period or "No close date"
        spread = period_figures.range
        rows.append(
            [
                label if label != "total" else "Total",
                *(getattr(period_figures, name) for name in MONEY_FIGURES),
                period_figures.attainment,
                period_figures.deals,
                period_figures.won_deals,
                *([period_figures.not_yet_in_pipeline] if ranged else []),
                *(_range_cells(spread) if ranged else []),
            ]
        )
    title = f"Forecast by {result.period} ({result.currency})"
    return Table("forecast", title, columns, rows, currency=result.currency)


def _range_cells(spread: analytics.Range | None) -> list[Decimal | None]:
    if spread is None:
        return [None, None, None]
    return [analytics.money(Decimal(str(v))) for v in (spread.p10, spread.p50, spread.p90)]


def funnel_table(result: analytics.Funnel) -> Table:
    columns: list[Column] = [("Stage", "text"), ("Entered", "count"), ("Advanced", "count")]
    columns += [("Conversion", "rate"), ("Lost", "count")]
    rows = [[s.name, s.entered, s.advanced, _conversion(s), s.lost] for s in result.stages]
    return Table("funnel", f"Funnel {result.since} – {result.until}", columns, rows)


def _conversion(stage: analytics.FunnelStage) -> float | NotApplicable | None:
    return stage.conversion if stage.has_next_stage else NOT_APPLICABLE


def time_in_stage_table(result: analytics.Funnel) -> Table:
    columns: list[Column] = [("Stage", "text"), ("Median days", "days")]
    columns += [("90th percentile days", "days"), ("Completed stays", "count")]
    columns += [("Bottleneck", "text")]
    bottleneck = result.bottleneck
    rows = [
        [
            s.name,
            s.median_days,
            s.p90_days,
            s.stays,
            "yes" if bottleneck and s.stage_id == bottleneck.stage_id else "",
        ]
        for s in result.stages
    ]
    return Table("time_in_stage", "Time in stage", columns, rows)


def lost_reasons_table(result: analytics.Funnel) -> Table:
    rows = [[r["reason"] or "(none given)", r["count"]] for r in result.lost_reasons]
    columns: list[Column] = [("Reason", "text"), ("Deals", "count")]
    return Table("lost_reasons", "Lost reasons", columns, rows)


def lost_by_stage_table(result: analytics.Funnel) -> Table:
    """Per stage, why its deals were lost: each reason's deals and its share of the stage's."""
    lost = {s.stage_id: s.lost for s in result.stages}
    rows = [
        [
            r["stage_name"],
            r["reason"] or "(none given)",
            r["count"],
            analytics.rate(r["count"], lost.get(r["stage"], 0)),
        ]
        for r in result.lost_by_stage
    ]
    columns: list[Column] = [("Stage", "text"), ("Reason", "text"), ("Deals", "count")]
    columns += [("Share of stage", "rate")]
    return Table("lost_by_stage", "Lost reasons per stage", columns, rows)


def accuracy_table(result: analytics.Backtest) -> Table:
    """The backtest: each past period's forecasts made at its start beside what was won."""
    columns: list[Column] = [("Period", "text"), ("Pipeline from", "text")]
    columns += [("Configured", "money"), ("Learned", "money"), ("Not yet in pipeline", "money")]
    columns += [("Learned p10", "money")]
    columns += [("Learned p90", "money"), ("Won", "money"), ("Configured error", "rate")]
    columns += [("Learned error", "rate"), ("Won in p10–p90", "text")]
    rows = [
        [
            r.period,
            r.pipeline_from,
            r.configured,
            r.learned,
            r.not_yet_in_pipeline,
            r.p10,
            r.p90,
            r.won,
            r.configured_error,
            r.learned_error,
            "yes" if r.in_band else "no",
        ]
        for r in result.rows
    ]
    title = f"Forecast at each period's start vs won ({result.currency})"
    return Table("accuracy", title, columns, rows, currency=result.currency)


def reps_table(reps: list[analytics.RepFigures], currency: str) -> Table:
    columns: list[Column] = [("Rep", "text"), ("Open deals", "count"), ("Pipeline", "money")]
    columns += [("Weighted", "money"), ("Won this period", "money"), ("Quota", "money")]
    columns += [("Gap", "money"), ("Attainment", "rate"), ("Win rate", "rate")]
    columns += [("Stalled", "count")]
    rows = [
        [
            r.name,
            r.open_deals,
            r.pipeline,
            r.weighted,
            r.won,
            r.quota,
            r.gap,
            r.attainment,
            r.win_rate,
            r.stalled,
        ]
        for r in reps
    ]
    return Table("reps", "Reps", columns, rows, currency=currency)


def watch_table(name: str, title: str, deals: list[analytics.WatchedDeal], currency: str) -> Table:
    columns: list[Column] = [("Deal", "text"), ("Owner", "text"), ("Stage", "text")]
    columns += [("Amount", "money"), ("Probability", "percent")]
    columns += [("Expected close", "date"), ("Why", "text")]
    rows: list[list[Any]] = []
    links: list[str | None] = []
    for deal in deals:
        rows.append(
            [
                deal.title,
                deal.owner,
                deal.stage,
                deal.amount,
                int(deal.probability),
                deal.expected_close_date,
                "; ".join(r.replace("_", " ") for r in deal.reasons),
            ]
        )
        links.append(f"/deals/{deal.deal_id}/")
    return Table(name, title, columns, rows, currency=currency, links=links)


def probabilities_table(stages: list[analytics.StageProbability]) -> Table:
    columns: list[Column] = [("Pipeline", "text"), ("Stage", "text")]
    columns += [("Configured %", "percent"), ("Learned %", "percent")]
    columns += [("Closed deals", "count"), ("Won", "count")]
    rows = [[s.pipeline, s.stage, s.configured, s.learned_percent, s.closed, s.won] for s in stages]
    return Table("probabilities", "Stage probabilities", columns, rows)


def movement_table(
    result: analytics.Movement, currency: str, links: list[str | None] | None = None
) -> Table:
    """Each move with its deals and amount; `links` (one per move) open the deals behind it."""
    columns: list[Column] = [("Move", "text"), ("Deals", "count"), ("Amount", "money")]
    rows: list[list[Any]] = [
        [analytics.MOVE_TITLES[name], count, amount] for name, count, amount in result.rows()
    ]
    title = f"Movement since the start of {result.since}"
    return Table("movement", title, columns, rows, currency=currency, links=links or [])


def as_of_table(result: analytics.PipelineAsOf, currency: str) -> Table:
    columns: list[Column] = [("Stage", "text"), ("Deals", "count"), ("Amount", "money")]
    columns += [("Weighted", "money")]
    rows = [[s.name, s.deals, s.amount, s.weighted] for s in result.stages]
    source = "the nightly snapshot" if result.source == "snapshot" else "rebuilt from history"
    title = f"Pipeline at the start of {result.day} ({source})"
    return Table("as_of", title, columns, rows, currency=currency)


# --- builders: one per exportable table, computing only what that table needs ------------------


def _forecast(form: ForecastFilterForm) -> Table:
    return forecast_table(analytics.forecast(form.scope(), **form.options()))


def _funnel_result(form: ForecastFilterForm) -> analytics.Funnel:
    since, until = form.history()
    return analytics.funnel(form.scope(), since=since, until=until)


def backtest_result(form: ForecastFilterForm) -> analytics.Backtest:
    """The backtest of the dashboard's filters (the accuracy panel, its CSV and the API)."""
    return analytics.backtest(form.scope(), **_backtest_range(form))


def stored_backtest_result(form: ForecastFilterForm) -> analytics.Backtest | None:
    """The same where the nightly job stored it, else None (`analytics.stored_backtest`)."""
    return analytics.stored_backtest(form.scope(), **_backtest_range(form))


def _backtest_range(form: ForecastFilterForm) -> dict[str, Any]:
    options = form.options()
    return {key: options[key] for key in ("period", "since", "until")}


def _accuracy(form: ForecastFilterForm) -> Table:
    return accuracy_table(backtest_result(form))


def _reps(form: ForecastFilterForm) -> Table:
    scope = form.scope()
    since, until = form.history()
    options = {**form.options(), "since": since, "until": until}
    return reps_table(analytics.rep_figures(scope, **options), scope.currency_code)


WATCH_TITLES = {"stalled": "Stalled deals", "at_risk": "At-risk deals"}


def watch_tables(scope: analytics.Scope) -> dict[str, Table]:
    """The stalled and the at-risk table of the scope, from one read of the watchlist."""
    watch, currency = analytics.watchlist(scope), scope.currency_code
    return {
        key: watch_table(key, title, watch[key], currency) for key, title in WATCH_TITLES.items()
    }


def _watch(key: str) -> Callable[[ForecastFilterForm], Table]:
    def build(form: ForecastFilterForm) -> Table:
        return watch_tables(form.scope())[key]

    return build


def _movement(form: ForecastFilterForm) -> Table:
    scope, period = form.scope(), form.options()["period"]
    result = analytics.movement_since(scope, form.history_start(), period=period)
    return movement_table(result, scope.currency_code, links=movement_links(form))


def movement_links(form: ForecastFilterForm) -> list[str | None]:
    """Per move, the page of the deals behind it, with the dashboard's filters."""
    query = QueryDict(mutable=True)
    if isinstance(form.data, QueryDict):
        query = form.data.copy()
    query.pop("page", None)
    links: list[str | None] = []
    for move in analytics.Movement.MOVES:
        query["kind"] = move
        links.append(f"{reverse('forecast-movement-deals')}?{query.urlencode()}")
    return links


def _as_of(form: ForecastFilterForm) -> Table:
    scope = form.scope()
    day = form.history_start()
    return as_of_table(analytics.pipeline_as_of(scope, day), scope.currency_code)


BUILDERS: dict[str, Callable[[ForecastFilterForm], Table]] = {
    "forecast": _forecast,
    "funnel": lambda form: funnel_table(_funnel_result(form)),
    "time_in_stage": lambda form: time_in_stage_table(_funnel_result(form)),
    "lost_reasons": lambda form: lost_reasons_table(_funnel_result(form)),
    "lost_by_stage": lambda form: lost_by_stage_table(_funnel_result(form)),
    "accuracy": _accuracy,
    "reps": _reps,
    "stalled": _watch("stalled"),
    "at_risk": _watch("at_risk"),
    "probabilities": lambda form: probabilities_table(analytics.stage_probabilities(form.scope())),
    "movement": _movement,
    "as_of": _as_of,
}
