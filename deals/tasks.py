"""Celery tasks of the pipeline: the stall sweep and the daily digest, scheduled by beat.

Each task is idempotent (the database, not the broker, says what is due, so a task delivered
twice or lost with a Redis restart changes nothing: the next run finds the same rows), retried
with exponential backoff on database and network errors, and logged with its id and arguments
when it fails for good (see `pipeline_crm.celery`).
"""

from __future__ import annotations

import logging

from celery import shared_task

from deals import digest, stalls
from deals.services import trash
from pipeline_crm.celery import JOB_RETRY

logger = logging.getLogger(__name__)


@shared_task(name="deals.tasks.detect_stalled_deals", **JOB_RETRY)
def detect_stalled_deals() -> dict[str, int]:
    result = stalls.detect_stalled_deals()
    logger.info("Stall sweep: %s", result)
    return {
        "started": result.started,
        "cleared": result.cleared,
        "owners_notified": result.owners_notified,
        "managers_notified": result.managers_notified,
    }


@shared_task(name="deals.tasks.send_daily_digests", **JOB_RETRY)
def send_daily_digests() -> int:
    queued = digest.send_daily_digests()
    logger.info("Daily digest: %s queued", queued)
    return queued


@shared_task(name="deals.tasks.purge_deal_trash", **JOB_RETRY)
def purge_deal_trash() -> int:
    purged = trash.purge_trash()
    logger.info("Deal trash: %s purged", purged)
    return purged
