"""Jobs that survive a broker outage: a durable outbox in front of Celery (README "Faults").

`JobTask.delay_on_commit` (pipeline_crm.celery) records the job as a `QueuedJob` row in the
caller's transaction and publishes it after the commit. The worker deletes the row as the task
starts (`started`). A row left behind means the message never reached a worker: the broker was
down when it was published, or restarted and lost its queue. Beat's `send-queued-jobs` sweep
(`resend_due`) publishes those again once the broker answers. Tasks are idempotent, so the
rare double (a message that was only slow) does no harm.

While a publish fails, the others are not even tried for `BROKER_RETRY_SECONDS` (each attempt
costs the request Celery's publish retries, ~0.6 s): their rows wait for the sweep.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
import uuid
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from pipeline_crm.models import QueuedJob

logger = logging.getLogger(__name__)

BROKER_RETRY_SECONDS = 5.0
# After this many sends without a worker starting it, a job is given up (and logged in full).
MAX_SENDS = 20
_broker_down_until = 0.0


def queued_grace() -> dt.timedelta:
    """How long a published job may wait in the queue before the sweep sends it again."""
    return dt.timedelta(seconds=float(getattr(settings, "JOB_QUEUED_GRACE", 300.0)))


def record(*, task: str, args: Any, kwargs: Any, options: dict[str, Any]) -> QueuedJob:
    """The job, written in the current transaction (it vanishes if that rolls back)."""
    now = timezone.now()
    return QueuedJob.objects.create(
        task=task,
        args=list(args or ()),
        kwargs=dict(kwargs or {}),
        options=options,
        created_at=now,
        send_after=now + queued_grace(),
        sends=1,
    )


def publish(job: QueuedJob) -> bool:
    """Send the job to the broker; False (the row left for the sweep) if it cannot be reached."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return _wait_for_sweep(job)
    from pipeline_crm.celery import app

    task = app.tasks.get(job.task)
    if task is None:  # renamed in a deployment: the sweep tries again, then gives up (logged)
        logger.error("Job %s names no task this process knows", job)
        return False
    try:
        task.apply_async(job.args, job.kwargs, task_id=str(job.pk), **job.options)
    except Exception as error:  # kombu's OperationalError, or any other broker trouble
        logger.warning("Broker unreachable, job %s kept for the sweep: %s", job, error)
        _broker_down_until = time.monotonic() + BROKER_RETRY_SECONDS
        return _wait_for_sweep(job)
    _broker_down_until = 0.0
    return True


def _wait_for_sweep(job: QueuedJob) -> bool:
    """Make the job due at once: the sweep's next run sends it when the broker answers."""
    with contextlib.suppress(DatabaseError):  # else it is due after its grace
        QueuedJob.objects.filter(pk=job.pk).update(send_after=timezone.now())
    return False


def started(task_id: str | None) -> None:
    """The worker took the job: nothing is left to resend."""
    try:
        job_id = uuid.UUID(task_id or "")
    except ValueError:
        return  # not one of ours (queued by hand with an id of its own)
    try:
        QueuedJob.objects.filter(pk=job_id).delete()
    except DatabaseError:
        # The row is sent again after its grace: a second run of an idempotent task.
        logger.warning("Could not mark job %s started", task_id, exc_info=True)


def resend_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Publish again every job no worker started in time; returns how many were sent."""
    now = now or timezone.now()
    with transaction.atomic():
        jobs = list(
            QueuedJob.objects.filter(send_after__lte=now)
            .select_for_update(skip_locked=True)
            .order_by("send_after")[:limit]
        )
        given_up = [job for job in jobs if job.sends >= MAX_SENDS]
        for job in given_up:
            logger.error("Job %s given up after %s sends: kwargs=%r", job, job.sends, job.kwargs)
        QueuedJob.objects.filter(pk__in=[job.pk for job in given_up]).delete()
        jobs = [job for job in jobs if job.sends < MAX_SENDS]
        for job in jobs:
            job.sends += 1
            job.send_after = now + queued_grace()
        QueuedJob.objects.bulk_update(jobs, ["sends", "send_after"])
    broker_back()  # the sweep runs on a worker, which got it from the broker
    return sum(publish(job) for job in jobs)


def broker_back() -> None:
    """Publish at once again (the broker answers; tests start each with a clean slate)."""
    global _broker_down_until
    _broker_down_until = 0.0
