"""End to end: a real Celery worker and beat, started as subprocesses against Redis, remind the
owner of an activity due in the past — once, however many sweeps follow."""

import uuid

import pytest

from followups.models import Notification
from followups.reminders import reminder_key
from tests.factories import DealFactory
from tests.jobs.processes import (
    celery,
    emails_sent,
    forget_queue,
    job_env,
    log_text,
    require_postgresql,
    require_redis,
    wait_for,
)

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.celery_worker,
]

SWEEPS = "deals.tasks.send_due_reminders["


def sweeps_done(log) -> int:
    return sum(1 for line in log_text(log).splitlines() if SWEEPS in line and "succeeded" in line)


def test_worker_and_beat_send_a_due_reminder_exactly_once(rep, due_activity, tmp_path, client):
    require_postgresql()
    redis_url = require_redis()
    queue = f"jobs-e2e-{uuid.uuid4().hex[:10]}"
    deal = DealFactory(owner=rep, title="Acme renewal")
    activity = due_activity(minutes_ago=10, subject="Call Acme back", deal=deal)
    mail_dir = tmp_path / "mail"
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    env = job_env(
        mail_dir,
        CELERY_TASK_DEFAULT_QUEUE=queue,
        CELERY_REMINDER_INTERVAL="2",
        CELERY_HEARTBEAT_INTERVAL="2",
        CELERY_BEAT_SCHEDULE_FILENAME=str(tmp_path / "beat-schedule"),
    )
    worker = ["worker", "-l", "info", "-P", "solo", "-Q", queue, "-n", f"{queue}@%h"]
    worker += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    beat = ["beat", "-l", "info", "--pidfile", str(tmp_path / "beat.pid")]

    try:
        with celery(worker, env, worker_log), celery(beat, env, beat_log):
            wait_for(
                lambda: Notification.objects.filter(user=rep, kind="reminder").exists(),
                timeout=90,
                what=f"the reminder\n--- worker\n{log_text(worker_log)}\n--- beat\n"
                f"{log_text(beat_log)}",
            )
            wait_for(lambda: emails_sent(mail_dir), timeout=60, what="the e-mail")
            # Let beat fire more sweeps: they must find nothing left to do.
            seen = sweeps_done(worker_log)
            wait_for(lambda: sweeps_done(worker_log) >= seen + 3, timeout=60, what="more sweeps")
            health = client.get("/healthz").json()
    finally:
        forget_queue(redis_url, queue)

    reminder = Notification.objects.get(user=rep, kind="reminder")
    assert "Call Acme back" in reminder.message
    assert reminder.deal == deal
    activity.refresh_from_db()
    assert emails_sent(mail_dir) == [reminder_key(activity)]
    assert "Sending due task send-due-reminders" in log_text(beat_log)
    # The worker ran beat's heartbeat; /healthz (this process) reads it from the shared cache.
    assert health["broker"] == "ok"
    assert health["beat_last_tick_seconds_ago"] is not None
