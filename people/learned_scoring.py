"""Training the learned lead score (SPEC §9): a logistic regression over the leads' fields.

Outcome of a lead: 1 when one of its deals was won; 0 when it was disqualified, or every deal
made from it was lost; no outcome while a deal is still open or it was never worked to an end.
Once `LEARNED_SCORE_MIN_OUTCOMES` leads have one, the model is trained on 75 % of them (chosen at
random, seeded) and its AUC measured on the other 25 %: the chance that a won lead of the held-out
set scores above a lost one (0.5 is guessing, 1 a perfect ranking). The inputs are
`contacts.learned.FEATURES`, standardised; the fit is Newton's method (iteratively reweighted
least squares) with a small L2 penalty, written with numpy: about 20 inputs and thousands of rows
need no more, and scikit-learn (with scipy) would add ~100 MB for one estimator.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.visibility import is_admin
from contacts.learned import (
    FEATURE_NAMES,
    LEAD_COLUMNS,
    as_score,
    current_model,
    feature_vector,
    probability,
)
from contacts.models import Lead, ScoringModel
from deals.models import Deal
from pipeline_crm.errors import NotAllowed

HOLD_OUT = 0.25
L2_PENALTY = 1.0
SEED = 13
CHUNK = 5000

Matrix = np.ndarray[Any, np.dtype[np.float64]]


def leads_with_outcome() -> QuerySet[Lead]:
    """Leads whose outcome is known, annotated with `won` (deals won)."""
    won = Count("deals", filter=Q(deals__status=Deal.Status.WON))
    still_open = Count("deals", filter=Q(deals__status=Deal.Status.OPEN))
    lost = Count("deals", filter=Q(deals__status=Deal.Status.LOST))
    return Lead.objects.annotate(won=won, still_open=still_open, lost=lost).filter(
        Q(won__gt=0) | Q(status=Lead.Status.DISQUALIFIED) | Q(lost__gt=0, still_open=0)
    )


def fit_logistic(x: Matrix, y: Matrix, *, l2: float = L2_PENALTY) -> Matrix:
    """Weights (intercept first) of the logistic regression of y on x."""
    rows, columns = x.shape
    design = np.hstack([np.ones((rows, 1)), x])
    penalty = l2 * np.eye(columns + 1)
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    weights = np.zeros(columns + 1)
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ weights, -50, 50)))
        gradient = design.T @ (p - y) + penalty @ weights
        hessian = (design * (p * (1 - p))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    return weights


def auc(y: Matrix, scores: Matrix) -> float | None:
    """Area under the ROC curve (Mann–Whitney, ties counted half); None without both kinds."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return None
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    ranks = (np.bincount(inverse, weights=ranks) / counts)[inverse]  # ties: their mean rank
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def outcome_count() -> int:
    return leads_with_outcome().count()


@transaction.atomic
def train_scoring_model(*, by: User | None = None) -> ScoringModel | None:
    """Train and store a model from the leads with an outcome, then give every lead its learned
    score; None (and nothing stored) below `LEARNED_SCORE_MIN_OUTCOMES`. `by` None: the nightly
    job."""
    if by is not None and not is_admin(by):
        raise NotAllowed("Only admins retrain the scoring model.")
    rows = list(leads_with_outcome().values(*LEAD_COLUMNS, "won"))
    if len(rows) < settings.LEARNED_SCORE_MIN_OUTCOMES:
        return None
    x = np.array([feature_vector(row) for row in rows], dtype=float)
    y = np.array([1.0 if row["won"] else 0.0 for row in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    standard = (x - mean) / scale
    shuffled = np.random.default_rng(SEED).permutation(len(rows))
    held_out, training = np.split(shuffled, [round(len(rows) * HOLD_OUT)])
    weights = fit_logistic(standard[training], y[training])
    held_scores = 1.0 / (1.0 + np.exp(-(weights[0] + standard[held_out] @ weights[1:])))
    model = ScoringModel.objects.create(
        trained_at=timezone.now(),
        samples=len(rows),
        auc=auc(y[held_out], held_scores),
        intercept=float(weights[0]),
        features=[
            {"name": name, "weight": float(w), "mean": float(m), "scale": float(s)}
            for name, w, m, s in zip(FEATURE_NAMES, weights[1:], mean, scale, strict=True)
        ],
    )
    refresh_learned_scores(model)
    return model


def refresh_learned_scores(model: ScoringModel) -> None:
    """Every lead's learned score under `model`: read in chunks, written one UPDATE per score."""
    leads = Lead.objects.order_by("pk").values("pk", *LEAD_COLUMNS)
    by_score: dict[int, list[int]] = defaultdict(list)
    for row in leads.iterator(chunk_size=CHUNK):
        by_score[as_score(probability(model, feature_vector(row)))].append(row["pk"])
    for score, ids in by_score.items():
        for start in range(0, len(ids), CHUNK):
            Lead.objects.filter(pk__in=ids[start : start + CHUNK]).update(learned_score=score)


def model_summary() -> dict[str, Any]:
    """What `/api/leads/scoring-model/` and the settings page show: the model in use (its
    weights strongest first) or, before one, how many outcomes are known and needed."""
    model = current_model()
    needed = settings.LEARNED_SCORE_MIN_OUTCOMES
    if model is None:
        known = outcome_count()
        return {
            "trained_at": None,
            "samples": known,
            "auc": None,
            "features": [],
            "detail": f"No model yet: {known} of the {needed} leads with an outcome it needs.",
        }
    features = sorted(model.features, key=lambda f: -abs(f["weight"]))
    return {
        "trained_at": model.trained_at,
        "samples": model.samples,
        "auc": model.auc,
        "features": [{"name": f["name"], "weight": round(f["weight"], 4)} for f in features],
        "detail": "",
    }
