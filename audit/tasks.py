"""The audit log's retention: beat runs the purge daily (`CELERY_BEAT_SCHEDULE`)."""

from __future__ import annotations

import logging

from celery import shared_task

from audit import services
from pipeline_crm.celery import JOB_RETRY

logger = logging.getLogger(__name__)


@shared_task(name="audit.tasks.purge_audit_log", **JOB_RETRY)
def purge_audit_log() -> int:
    purged = services.purge_expired()
    logger.info("Audit log: %s entries older than the retention purged", purged)
    return purged
