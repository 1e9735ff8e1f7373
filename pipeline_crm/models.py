"""The project's own table: Celery jobs waiting to be started (`pipeline_crm.jobs`)."""

from __future__ import annotations

import uuid

from django.db import models


class QueuedJob(models.Model):
    """A job queued with `delay_on_commit`, kept until a worker starts it.

    Written in the transaction that needs the job, so the job exists exactly when the change
    does; published to the broker after the commit; deleted by the worker as the task starts.
    A row still here after `send_after` was lost on the way (the broker was down, or lost its
    queue in a restart): `pipeline_crm.jobs.resend_due` publishes it again.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)  # the Celery task id
    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    send_after = models.DateTimeField(db_index=True)
    sends = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["send_after"]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)} ({self.id})"
