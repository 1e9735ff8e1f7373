from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

BEAT_TICK_KEY = "celery:beat:last_tick"


@shared_task(name="pipeline_crm.tasks.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> None:
    """Scheduled by beat every 30 s; /healthz reports the age of the last tick.

    The cache is Redis in production and files in development, so the web process reads what
    the worker wrote.
    """
    cache.set(BEAT_TICK_KEY, timezone.now().isoformat(), timeout=None)


@shared_task(name="pipeline_crm.tasks.send_queued_jobs", ignore_result=True)
def send_queued_jobs() -> int:
    """Scheduled by beat: publish again the jobs no worker started (README "Faults")."""
    from pipeline_crm import jobs

    return jobs.resend_due()
