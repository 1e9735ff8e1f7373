"""The learned lead score (SPEC §9): what a lead looks like to the model, and its 0–100 score
under the newest trained model (`contacts.models.ScoringModel`). Training, which needs the
leads' outcomes in deals, is `people.learned_scoring`.

Inputs: the source one-hot (one 0/1 input per source), whether a need, budget, decision maker,
timeline, e-mail (and a business one), phone and company were given, the budget's size
(log10(1 + budget)) and whether the timeline fell within 90 days of the lead's creation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from contacts.models import Lead, ScoringModel
from contacts.selectors import email_domain

# The lead columns the inputs read (a `.values()` row or a Lead both work).
LEAD_COLUMNS = (
    "source",
    "need",
    "budget",
    "authority",
    "timeline",
    "email",
    "phone",
    "company_name",
    "created_at",
)


def _timeline_soon(row: dict[str, Any]) -> float:
    if row["timeline"] is None:
        return 0.0
    created = row["created_at"] or timezone.now()
    days = (row["timeline"] - timezone.localtime(created).date()).days
    return float(0 <= days <= 90)


Feature = tuple[str, Callable[[dict[str, Any]], float]]


def _source_is(source: str) -> Callable[[dict[str, Any]], float]:
    return lambda row: float(row["source"] == source)


FEATURES: tuple[Feature, ...] = (
    *((f"source={value}", _source_is(value)) for value in Lead.Source.values),
    ("need stated", lambda row: float(bool((row["need"] or "").strip()))),
    ("budget given", lambda row: float(row["budget"] is not None)),
    ("budget (log10)", lambda row: math.log10(1 + float(row["budget"] or 0))),
    ("decision maker", lambda row: float(bool(row["authority"]))),
    ("timeline given", lambda row: float(row["timeline"] is not None)),
    ("timeline within 90 days", _timeline_soon),
    ("e-mail given", lambda row: float(bool(row["email"]))),
    ("business e-mail", lambda row: float(bool(email_domain(row["email"] or "")))),
    ("phone given", lambda row: float(bool(row["phone"]))),
    ("company given", lambda row: float(bool((row["company_name"] or "").strip()))),
)
FEATURE_NAMES = tuple(name for name, _ in FEATURES)


def as_row(lead: Lead) -> dict[str, Any]:
    return {column: getattr(lead, column) for column in LEAD_COLUMNS}


def feature_vector(row: dict[str, Any]) -> list[float]:
    return [extract(row) for _, extract in FEATURES]


def probability(model: ScoringModel, vector: list[float]) -> float:
    """The model's probability that a lead with these inputs is won."""
    total = model.intercept
    by_name = {f["name"]: f for f in model.features}
    for name, value in zip(FEATURE_NAMES, vector, strict=True):
        feature = by_name.get(name)
        if feature:
            total += feature["weight"] * (value - feature["mean"]) / feature["scale"]
    return 1 / (1 + math.exp(-max(-50.0, min(50.0, total))))


def as_score(p: float) -> int:
    return max(0, min(100, round(100 * p)))


def current_model() -> ScoringModel | None:
    return ScoringModel.objects.order_by("-trained_at", "-id").first()


def learned_score(lead: Lead, model: ScoringModel | None = None) -> int | None:
    """The lead's learned score 0–100, None while no model has been trained."""
    model = model or current_model()
    if model is None:
        return None
    return as_score(probability(model, feature_vector(as_row(lead))))
