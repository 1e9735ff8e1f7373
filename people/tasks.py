"""The nightly training of the learned lead score (`people.learned_scoring`)."""

from __future__ import annotations

from celery import shared_task

from people.learned_scoring import train_scoring_model
from pipeline_crm.celery import JOB_RETRY


@shared_task(name="people.tasks.train_lead_scoring_model", **JOB_RETRY)
def train_lead_scoring_model() -> int | None:
    """Retrain from the outcomes known today; returns the model's id, None below the minimum."""
    model = train_scoring_model()
    return model.pk if model else None
