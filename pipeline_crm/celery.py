"""The Celery app: configured from Django settings (CELERY_* names), tasks found in each app.

Run any number of workers (`celery -A pipeline_crm worker -l info`) and exactly one beat
(`celery -A pipeline_crm beat -l info`): the jobs are safe to run twice, but one scheduler is
what keeps them from running twice as often.
"""

from __future__ import annotations

import functools
import logging
import os
import smtplib
import warnings
from typing import Any

from celery import Celery, Task
from celery.contrib.django.task import DjangoTask
from celery.exceptions import SecurityWarning
from celery.signals import celeryd_init, task_failure, task_retry
from django.db import DatabaseError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_crm.settings")

logger = logging.getLogger("pipeline_crm.tasks")

# The jobs' retry policy: database and network errors are retried with exponential backoff;
# a final failure is logged with the task's id and arguments (`log_task_failure`).
JOB_RETRY: dict[str, Any] = {
    "autoretry_for": (DatabaseError, OSError, smtplib.SMTPException),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
    "ignore_result": True,
}


class JobTask(DjangoTask[Any, Any]):
    """Tasks queued after the commit of the transaction that needs them, never lost.

    `delay_on_commit` records the job in that transaction (`pipeline_crm.jobs`), publishes it
    after the commit, and the worker forgets it as the task starts. A broker that is down at
    that moment turns no committed change into an error page, and loses no job: beat's sweep
    sends the job again once the broker is back.
    """

    def delay_on_commit(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self.apply_async_on_commit(args, kwargs)

    def apply_async_on_commit(  # type: ignore[override]
        self, args: Any = None, kwargs: Any = None, **options: Any
    ) -> None:
        from django.db import transaction

        from pipeline_crm import jobs

        job = jobs.record(task=self.name, args=args, kwargs=kwargs, options=options)
        transaction.on_commit(functools.partial(jobs.publish, job), robust=True)

    def before_start(self, task_id: str, args: Any, kwargs: Any) -> None:
        from pipeline_crm import jobs

        jobs.started(task_id)


app = Celery("pipeline_crm", task_cls=JobTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _ensure_file_broker_folders(sender: Celery, **kwargs: object) -> None:
    """The file-based development broker needs its folders before the first message."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        folder = options.get(key)
        if folder:
            os.makedirs(folder, exist_ok=True)


@celeryd_init.connect
def _quiet_root_warning_in_development(**kwargs: object) -> None:
    """Development containers often run as root: the worker's warning about it (a dozen lines at
    every start) is for production, whose image runs as an ordinary user (Dockerfile)."""
    from django.conf import settings

    if settings.DEBUG:
        warnings.filterwarnings("ignore", category=SecurityWarning, message=".*superuser")


@task_failure.connect
def log_task_failure(
    sender: Task[Any, Any] | None = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    args: Any = None,
    kwargs: Any = None,
    einfo: Any = None,
    **extra: Any,
) -> None:
    """Every failed task in the log with what is needed to replay it: name, id and arguments."""
    logger.error(
        "Task %s[%s] failed: %r; args=%r kwargs=%r",
        getattr(sender, "name", sender),
        task_id,
        exception,
        args,
        kwargs,
        exc_info=(type(exception), exception, exception.__traceback__) if exception else None,
    )


@task_retry.connect
def log_task_retry(
    sender: Task[Any, Any] | None = None, request: Any = None, reason: Any = None, **extra: Any
) -> None:
    logger.warning(
        "Task %s[%s] will be retried: %s; args=%r kwargs=%r",
        getattr(sender, "name", sender),
        getattr(request, "id", None),
        reason,
        getattr(request, "args", None),
        getattr(request, "kwargs", None),
    )
