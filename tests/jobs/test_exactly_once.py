"""Exactly-once reminders on real PostgreSQL (and Redis for the worker test): two sweeps at once,
the same task delivered twice, and a sweep killed with SIGKILL after claiming and before sending
— each ends with exactly one notification and one e-mail per due activity."""

import os
import signal
import threading
import uuid

import pytest
from django.core import mail
from django.db import connection

from followups.models import Activity, EmailOutbox, Notification
from followups.outbox import deliver_pending_emails
from followups.reminders import record_due_reminders, reminder_key
from followups.tasks import send_due_reminders
from tests.jobs.processes import (
    celery,
    emails_sent,
    forget_queue,
    job_env,
    log_text,
    require_postgresql,
    require_redis,
    run_sweep,
    wait_for,
    wait_for_no_open_transactions,
    wait_until_ready,
    worker_args,
)

# Data must be committed for other connections and processes to see it; the seeded pipeline
# and roles are restored for the next test.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def reminder_notifications() -> int:
    return Notification.objects.filter(kind=Notification.Kind.REMINDER).count()


def keys_of(activities: list[Activity]) -> list[str]:
    for activity in activities:
        activity.refresh_from_db()
    return sorted(reminder_key(a) for a in activities)


def finish(process, timeout: float = 120) -> str:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output
    return output


def test_two_sweeps_at_the_same_time_remind_each_activity_once(due_activity):
    require_postgresql()
    activities = [due_activity() for _ in range(40)]
    start = threading.Barrier(2)
    results: list[tuple[int, int]] = []

    def sweep() -> None:
        try:
            start.wait(timeout=30)
            # Small batches, so the two sweeps interleave claim after claim.
            reminded = record_due_reminders(batch_size=5)
            results.append((reminded, deliver_pending_emails()))
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sum(reminded for reminded, _ in results) == 40
    assert sum(sent for _, sent in results) == 40
    assert reminder_notifications() == 40
    sent_keys = sorted(m.extra_headers["X-CRM-Outbox-Key"] for m in mail.outbox)
    assert sent_keys == keys_of(activities)  # each exactly once


def test_a_sweep_killed_after_claiming_is_redone_by_the_next_one(due_activity, tmp_path):
    require_postgresql()
    activity = due_activity()
    mail_dir, barrier = tmp_path / "mail", tmp_path / "claimed"
    victim = run_sweep(
        job_env(mail_dir, CRM_PAUSE_AT="reminders.claimed", CRM_PAUSE_FILE=str(barrier))
    )
    try:
        wait_for(barrier.exists, timeout=90, what="the sweep to claim the reminder")
        # While the claim is held, another sweep skips the activity instead of doubling it.
        assert record_due_reminders() == 0
        os.kill(int(barrier.read_text()), signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        if victim.poll() is None:
            victim.kill()
    assert victim.returncode == -signal.SIGKILL
    wait_for_no_open_transactions()

    # The claim died with its transaction: nothing half done…
    activity.refresh_from_db()
    assert activity.reminded_at is None
    assert reminder_notifications() == 0
    assert not EmailOutbox.objects.exists()

    # …and the restarted sweep does it all, once.
    finish(run_sweep(job_env(mail_dir)))
    finish(run_sweep(job_env(mail_dir)))
    assert reminder_notifications() == 1
    assert emails_sent(mail_dir) == keys_of([activity])


def test_a_sender_killed_before_sending_leaves_the_email_for_the_next_sweep(due_activity, tmp_path):
    require_postgresql()
    activity = due_activity()
    mail_dir, barrier = tmp_path / "mail", tmp_path / "claimed"
    victim = run_sweep(
        job_env(mail_dir, CRM_PAUSE_AT="outbox.claimed", CRM_PAUSE_FILE=str(barrier))
    )
    try:
        wait_for(barrier.exists, timeout=90, what="the sweep to claim the e-mail")
        assert reminder_notifications() == 1  # the reminder itself is committed
        assert deliver_pending_emails() == 0  # the claimed e-mail is skipped, not sent twice
        os.kill(int(barrier.read_text()), signal.SIGKILL)
        victim.wait(timeout=30)
    finally:
        if victim.poll() is None:
            victim.kill()
    assert victim.returncode == -signal.SIGKILL
    wait_for_no_open_transactions()
    assert emails_sent(mail_dir) == []
    assert EmailOutbox.objects.get().sent_at is None

    finish(run_sweep(job_env(mail_dir)))
    finish(run_sweep(job_env(mail_dir)))
    assert reminder_notifications() == 1
    assert emails_sent(mail_dir) == keys_of([activity])
    assert EmailOutbox.objects.get().sent_at is not None


@pytest.fixture
def private_queue():
    """A queue of this test's own on the shared Redis, removed afterwards."""
    redis_url = require_redis()
    queue = f"jobs-test-{uuid.uuid4().hex[:10]}"
    yield queue
    forget_queue(redis_url, queue)


@pytest.mark.celery_worker
def test_the_same_task_delivered_twice_reminds_once(due_activity, tmp_path, private_queue):
    require_postgresql()
    activities = [due_activity() for _ in range(10)]
    mail_dir, log = tmp_path / "mail", tmp_path / "worker.log"
    env = job_env(mail_dir, CELERY_TASK_DEFAULT_QUEUE=private_queue)

    with celery(worker_args(private_queue, pool="prefork", concurrency=2), env, log):
        wait_until_ready(log)
        task_id = str(uuid.uuid4())
        for _ in range(2):  # a redelivery: same message, same id, two worker processes
            send_due_reminders.apply_async(task_id=task_id, queue=private_queue)
        wait_for(
            lambda: log_text(log).count(f"[{task_id}] succeeded") == 2,
            timeout=120,
            what=f"both deliveries to run\n{log_text(log)}",
        )

    assert reminder_notifications() == 10
    assert sorted(emails_sent(mail_dir)) == keys_of(activities)


@pytest.mark.celery_worker
def test_a_worker_killed_before_sending_gets_the_task_back_and_sends_once(
    due_activity, tmp_path, private_queue
):
    """acks_late + reject_on_worker_lost: the killed worker's task goes back to the queue."""
    require_postgresql()
    activity = due_activity()
    mail_dir, log, barrier = tmp_path / "mail", tmp_path / "worker.log", tmp_path / "claimed"
    env = job_env(
        mail_dir,
        CELERY_TASK_DEFAULT_QUEUE=private_queue,
        CRM_PAUSE_AT="outbox.claimed",
        CRM_PAUSE_FILE=str(barrier),
    )

    with celery(worker_args(private_queue, pool="prefork", concurrency=1), env, log):
        wait_until_ready(log)
        task_id = str(uuid.uuid4())
        send_due_reminders.apply_async(task_id=task_id, queue=private_queue)
        wait_for(barrier.exists, timeout=120, what="the worker to claim the e-mail")
        os.kill(int(barrier.read_text()), signal.SIGKILL)  # the pool process running the task
        wait_for(
            lambda: f"[{task_id}] succeeded" in log_text(log),
            timeout=120,
            what=f"the requeued task to run again\n{log_text(log)}",
        )

    assert "WorkerLostError" in log_text(log)
    assert reminder_notifications() == 1
    assert emails_sent(mail_dir) == keys_of([activity])
