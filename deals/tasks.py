"""Celery tasks of the pipeline: thin wrappers around the sweeps, scheduled by beat.

Each task is idempotent (the database, not the broker, says what is due, so a task delivered
twice or lost with a Redis restart changes nothing: the next run finds the same rows), retried
with exponential backoff on database and network errors, and logged with its id and arguments
when it fails for good (see `pipeline_crm.celery`).
"""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from celery import shared_task
from django.db import DatabaseError

from deals import digest, outbox, reminders, stalls

logger = logging.getLogger(__name__)

RETRY: dict[str, Any] = {
    "autoretry_for": (DatabaseError, OSError, smtplib.SMTPException),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
    "ignore_result": True,
}


@shared_task(name="deals.tasks.send_due_reminders", **RETRY)
def send_due_reminders() -> dict[str, int]:
    result = reminders.send_due_reminders()
    if result.reminded or result.emails_sent:
        logger.info("Reminders: %s recorded, %s e-mails sent", result.reminded, result.emails_sent)
    return {"reminded": result.reminded, "emails_sent": result.emails_sent}


@shared_task(name="deals.tasks.deliver_emails", **RETRY)
def deliver_emails() -> int:
    """Send what waits in the outbox now (the reminder sweep also does it every minute)."""
    return outbox.deliver_pending_emails()


@shared_task(name="deals.tasks.detect_stalled_deals", **RETRY)
def detect_stalled_deals() -> dict[str, int]:
    result = stalls.detect_stalled_deals()
    logger.info("Stall sweep: %s", result)
    return {
        "started": result.started,
        "cleared": result.cleared,
        "owners_notified": result.owners_notified,
        "managers_notified": result.managers_notified,
    }


@shared_task(name="deals.tasks.send_daily_digests", **RETRY)
def send_daily_digests() -> int:
    queued = digest.send_daily_digests()
    logger.info("Daily digest: %s queued", queued)
    return queued
