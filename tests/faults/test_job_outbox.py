"""The jobs' durable outbox (pipeline_crm.jobs): a job queued with `delay_on_commit` is a row
until a worker starts it; the sweep publishes again what no worker started."""

import datetime as dt
import logging
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from deals.tasks import detect_stalled_deals
from pipeline_crm import jobs
from pipeline_crm.celery import app
from pipeline_crm.models import QueuedJob
from pipeline_crm.tasks import send_queued_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker():
    """The broker as the tasks see it: a mock that records what was published."""
    with mock.patch.object(detect_stalled_deals, "apply_async") as publish:
        yield publish


def queue_one(django_capture_on_commit_callbacks) -> QueuedJob:
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        detect_stalled_deals.delay_on_commit()
    return QueuedJob.objects.get()


def test_a_job_is_published_after_commit_and_kept_until_a_worker_starts_it(
    broker, django_capture_on_commit_callbacks
):
    job = queue_one(django_capture_on_commit_callbacks)

    broker.assert_called_once_with([], {}, task_id=str(job.pk))
    assert job.task == detect_stalled_deals.name
    jobs.started(str(job.pk))  # what the worker does as the task starts (JobTask.before_start)
    assert not QueuedJob.objects.exists()


def test_a_job_of_a_rolled_back_change_is_neither_kept_nor_published(broker):
    def failed_change() -> None:
        with transaction.atomic():
            detect_stalled_deals.delay_on_commit()
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failed_change()

    assert not QueuedJob.objects.exists()
    broker.assert_not_called()


def test_while_the_broker_is_down_jobs_wait_for_the_sweep_without_slowing_each_request(
    broker, django_capture_on_commit_callbacks
):
    broker.side_effect = BrokerDown("redis down")
    first = queue_one(django_capture_on_commit_callbacks)
    later = timezone.now() + dt.timedelta(hours=1)
    QueuedJob.objects.filter(pk=first.pk).update(send_after=later)  # to tell the two apart
    with django_capture_on_commit_callbacks(execute=True):
        detect_stalled_deals.delay_on_commit()

    assert broker.call_count == 1  # the second one did not try: the broker was just found down
    assert QueuedJob.objects.count() == 2
    assert QueuedJob.objects.filter(send_after__lte=timezone.now()).count() == 1

    broker.side_effect = None
    assert send_queued_jobs() == 1  # the broker is back: the sweep sends the due one
    assert broker.call_count == 2


def test_the_sweep_resends_a_job_no_worker_started_in_time_and_not_sooner(
    broker, django_capture_on_commit_callbacks, settings
):
    job = queue_one(django_capture_on_commit_callbacks)
    grace = dt.timedelta(seconds=settings.JOB_QUEUED_GRACE)

    assert jobs.resend_due() == 0  # published a moment ago: it may still be in the queue
    assert jobs.resend_due(now=timezone.now() + grace) == 1  # lost (a broker restart)
    assert broker.call_args_list[-1] == mock.call([], {}, task_id=str(job.pk))
    job.refresh_from_db()
    assert job.sends == 2
    assert job.send_after > timezone.now() + grace / 2  # not again before another grace


def test_a_job_no_worker_ever_starts_is_given_up_and_logged(
    broker, django_capture_on_commit_callbacks, caplog
):
    job = queue_one(django_capture_on_commit_callbacks)
    QueuedJob.objects.filter(pk=job.pk).update(sends=jobs.MAX_SENDS, send_after=timezone.now())

    with caplog.at_level(logging.ERROR, logger="pipeline_crm.jobs"):
        assert jobs.resend_due() == 0

    assert not QueuedJob.objects.exists()
    assert any("given up" in record.getMessage() for record in caplog.records)


def test_an_eager_job_runs_at_once_and_leaves_no_row(django_capture_on_commit_callbacks):
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            detect_stalled_deals.delay_on_commit()
    finally:
        app.conf.task_always_eager = False
    assert not QueuedJob.objects.exists()
