"""Celery tasks of the webhooks: send one delivery, and the sweep that retries due ones.

The database says what is due (`Delivery.next_attempt_at`), so a task lost with a broker or a
worker restart changes nothing: beat's sweep (`deliver-due-webhooks`, every
`WEBHOOK_SWEEP_INTERVAL` seconds) finds the delivery again and queues it. Both are idempotent:
a delivered one is never sent again (see `integrations.sending`).
"""

from __future__ import annotations

import logging
import uuid

from celery import shared_task

from integrations import sending
from pipeline_crm.celery import JOB_RETRY

logger = logging.getLogger(__name__)


@shared_task(name="integrations.tasks.deliver_webhook", **JOB_RETRY)
def deliver_webhook(delivery_id: str) -> str | None:
    return sending.deliver(uuid.UUID(delivery_id))


@shared_task(name="integrations.tasks.deliver_due_webhooks", **JOB_RETRY)
def deliver_due_webhooks() -> int:
    """Queue every delivery whose next attempt is due (retries, and any a lost task left)."""
    ids = sending.claim_due()
    queue(ids)
    if ids:
        logger.info("Webhook sweep: %s deliveries queued", len(ids))
    return len(ids)


def queue(delivery_ids: list[uuid.UUID]) -> None:
    """Send these deliveries once the current transaction commits (at once outside one)."""
    for delivery_id in delivery_ids:
        deliver_webhook.delay_on_commit(str(delivery_id))
