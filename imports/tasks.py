"""Large imports run here: validation after the upload, then the commit. Each task takes the
import's id and calls its service, which does nothing unless the import is in the status the
step starts from, so a task delivered twice changes nothing."""

from __future__ import annotations

from celery import shared_task

from imports import services
from pipeline_crm.celery import JOB_RETRY

# One run may take a minute or more at 500,000 rows; a retry after a database error re-checks
# the status first.
LONG = {**JOB_RETRY, "time_limit": 1800, "soft_time_limit": 1700}


@shared_task(name="imports.tasks.validate_import", **LONG)
def validate_import_task(import_id: int) -> str:
    return str(services.run_validation(import_id=import_id).status)


@shared_task(name="imports.tasks.commit_import", **LONG)
def commit_import_task(import_id: int) -> str:
    return str(services.run_commit(import_id=import_id).status)
