"""The beat job that polls the inbound mailbox (every INBOUND_POLL_INTERVAL seconds)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from mailin import mailbox
from pipeline_crm.celery import JOB_RETRY

logger = logging.getLogger(__name__)


@shared_task(name="mailin.tasks.poll_inbound_mail", **JOB_RETRY)
def poll_inbound_mail() -> dict[str, int]:
    """Idempotent: a message is logged once however often (or by how many workers) it is read."""
    if not settings.INBOUND_IMAP_URL:
        return {}
    outcomes = mailbox.poll(
        mailbox.Mailbox.from_url(settings.INBOUND_IMAP_URL),
        batch=settings.INBOUND_POLL_BATCH,
        max_chars=settings.INBOUND_BODY_MAX_CHARS,
    )
    if outcomes:
        logger.info("Inbound mail: %s", dict(outcomes))
    return dict(outcomes)
