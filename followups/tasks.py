"""Celery tasks of the follow-ups: reminders and the e-mail outbox, scheduled by beat.

Idempotent and retried like every job (see `deals.tasks` and `pipeline_crm.celery`).

They keep the names they were registered under when they lived in `deals`: messages waiting in
a queue and the beat schedules of running deployments call them by name.
"""

from __future__ import annotations

import logging

from celery import shared_task

from followups import outbox, reminders
from pipeline_crm.celery import JOB_RETRY

logger = logging.getLogger(__name__)


@shared_task(name="deals.tasks.send_due_reminders", **JOB_RETRY)
def send_due_reminders() -> dict[str, int]:
    result = reminders.send_due_reminders()
    if result.reminded or result.emails_sent:
        logger.info("Reminders: %s recorded, %s e-mails sent", result.reminded, result.emails_sent)
    return {"reminded": result.reminded, "emails_sent": result.emails_sent}


@shared_task(name="deals.tasks.deliver_emails", **JOB_RETRY)
def deliver_emails() -> int:
    """Send what waits in the outbox now (the reminder sweep also does it every minute)."""
    return outbox.deliver_pending_emails()
