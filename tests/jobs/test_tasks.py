"""The Celery side: every scheduled task exists, failures are logged and retried, queuing after
a commit never breaks the request, the heartbeat reaches /healthz, lead scores are recomputed."""

import logging
from unittest import mock

import pytest
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from contacts.models import Lead
from contacts.tasks import recompute_lead_scores
from deals.services import update_stage
from deals.tasks import detect_stalled_deals
from followups import reminders
from followups.tasks import send_due_reminders
from pipeline_crm.celery import app
from pipeline_crm.models import QueuedJob
from pipeline_crm.tasks import beat_heartbeat
from tests.factories import LeadFactory, stage_named

pytestmark = pytest.mark.django_db


def test_every_task_in_the_beat_schedule_is_registered():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    missing = scheduled - set(app.tasks)
    assert not missing, f"beat would send unknown tasks: {missing}"


def test_the_reminder_sweep_runs_every_minute_by_default():
    entry = settings.CELERY_BEAT_SCHEDULE["send-due-reminders"]
    assert entry["task"] == "deals.tasks.send_due_reminders"
    assert entry["schedule"] == 60.0


def test_tasks_acknowledge_late_and_are_requeued_when_the_worker_dies():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.task_serializer == "json"
    assert app.conf.task_time_limit
    assert app.conf.task_soft_time_limit


def test_a_failed_task_is_logged_with_its_id_and_arguments(caplog, monkeypatch):
    def boom():
        raise ValueError("sweep exploded")

    monkeypatch.setattr(reminders, "send_due_reminders", boom)
    with caplog.at_level(logging.ERROR, logger="pipeline_crm.tasks"):
        result = send_due_reminders.apply(task_id="task-123", args=(), kwargs={})

    assert result.failed()
    failure = next(r for r in caplog.records if r.name == "pipeline_crm.tasks")
    text = failure.getMessage()
    assert "deals.tasks.send_due_reminders[task-123] failed" in text
    assert "sweep exploded" in text
    assert "args=" in text
    assert "kwargs=" in text


def test_a_database_error_is_retried_with_backoff(monkeypatch, caplog):
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("connection lost")
        return reminders.ReminderSweep(reminded=0, emails_sent=0)

    monkeypatch.setattr(reminders, "send_due_reminders", flaky)
    assert send_due_reminders.retry_backoff is True
    with caplog.at_level(logging.WARNING, logger="pipeline_crm.tasks"):
        result = send_due_reminders.apply()

    assert result.successful()
    assert len(calls) == 2
    assert any("will be retried" in r.getMessage() for r in caplog.records)


def test_a_broker_outage_after_commit_does_not_break_the_change_nor_lose_the_job(
    admin_user, caplog, django_capture_on_commit_callbacks
):
    stage = stage_named("Proposal")
    with (
        mock.patch.object(
            detect_stalled_deals, "apply_async", side_effect=BrokerDown("redis down")
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        update_stage(stage=stage, by=admin_user, changes={"stall_days": 5})

    stage.refresh_from_db()
    assert stage.stall_days == 5  # committed
    assert any("redis down" in r.getMessage() for r in caplog.records)
    # Kept, and due at once: beat's send-queued-jobs sweep sends it when the broker is back.
    job = QueuedJob.objects.get(task=detect_stalled_deals.name)
    assert job.send_after <= timezone.now()


def test_the_beat_heartbeat_shows_on_healthz(client):
    beat_heartbeat()
    age = client.get("/healthz").json()["beat_last_tick_seconds_ago"]
    assert age is not None
    assert 0 <= age < 5


def test_the_nightly_recompute_refreshes_scores_that_depend_on_the_date():
    timeline_soon = LeadFactory(need="", budget=None, timeline=timezone.localdate())
    Lead.objects.filter(pk=timeline_soon.pk).update(score=0, score_breakdown=[])
    disqualified = LeadFactory(status=Lead.Status.DISQUALIFIED)
    Lead.objects.filter(pk=disqualified.pk).update(score=0, score_breakdown=[])

    assert recompute_lead_scores() == 1

    timeline_soon.refresh_from_db()
    assert timeline_soon.score > 0
    assert ("Days until the timeline ≥ 0", 10) in [
        (part["rule"], part["points"]) for part in timeline_soon.score_breakdown
    ]
    disqualified.refresh_from_db()
    assert disqualified.score == 0  # out of play: left alone
