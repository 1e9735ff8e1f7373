"""Jobs queued while Redis (the Celery broker) is down are not lost (issue 11, point 6).

A real worker and beat run against a Redis of the test's own; Redis is killed; a user uploads a
large import (its validation is a job) and an admin invites someone (the invitation e-mail is a
job). Both answer at once; the jobs wait in the database (`QueuedJob`). Redis comes back empty,
the worker reconnects, beat's send-queued-jobs sweep publishes them, and they run.
"""

import time

import pytest
from django.db import connection

from accounts.services import invite_user
from imports.models import Import
from imports.services import INLINE_ROWS
from pipeline_crm.celery import app as celery_app
from pipeline_crm.models import QueuedJob
from tests.faults.redis_server import RedisServer
from tests.imports.conftest import csv_file
from tests.jobs.processes import (
    celery,
    emails_sent,
    job_env,
    log_text,
    wait_for,
    wait_until_ready,
    worker_args,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.celery_worker,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the worker, beat and the test share one database: PostgreSQL, as in production",
    ),
]

# The answer to a user whose change queues a job while the broker is down: Celery's publish
# retries (~0.6 s) at most, once per process every few seconds (pipeline_crm.jobs).
QUICK_SECONDS = 3.0


def contacts_csv(rows: int) -> str:
    lines = ["First name,Last name,E-mail"]
    lines += [f"Ann{n},Lee{n},ann{n}@example.com" for n in range(rows)]
    return "\n".join(lines) + "\n"


def job_processes_env(redis: RedisServer, tmp_path, settings) -> dict[str, str]:
    env = job_env(
        tmp_path / "mail",
        REDIS_URL=redis.url(),
        CELERY_TASK_DEFAULT_QUEUE=celery_app.conf.task_default_queue,
        CELERY_BEAT_SCHEDULE_FILENAME=str(tmp_path / "beat-schedule"),
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        JOB_SWEEP_INTERVAL="1",
        # Nothing else that could do the jobs' work: only the queued jobs may.
        CELERY_REMINDER_INTERVAL="3600",
        WEBHOOK_SWEEP_INTERVAL="3600",
    )
    env.pop("PYTEST_XDIST_WORKER", None)  # the Redis is this test's alone: database 0
    return env


def test_jobs_queued_while_redis_is_down_run_once_it_is_back(
    on_own_redis, tmp_path, settings, api_for, manager, admin_user, team_a
):
    env = job_processes_env(on_own_redis, tmp_path, settings)
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    beat = ["beat", "-l", "info", "--pidfile", str(tmp_path / "beat.pid")]
    queue = celery_app.conf.task_default_queue

    with celery(worker_args(queue), env, worker_log), celery(beat, env, beat_log):
        wait_until_ready(worker_log)
        on_own_redis.stop()

        started = time.monotonic()
        upload = api_for(manager).post(
            "/api/imports/",
            {"file": csv_file(contacts_csv(INLINE_ROWS + 10)), "kind": "contacts"},
            format="multipart",
        )
        upload_seconds = time.monotonic() - started
        started = time.monotonic()
        invited = invite_user(by=admin_user, email="new.hire@example.com")
        invite_seconds = time.monotonic() - started

        assert upload.status_code == 201, upload.content
        assert upload.json()["status"] == "validating"
        assert max(upload_seconds, invite_seconds) < QUICK_SECONDS
        assert QueuedJob.objects.count() == 2  # kept: the broker could not take them
        time.sleep(2)  # people keep working; nothing can run

        on_own_redis.start()  # empty: whatever it held is gone
        back = time.monotonic()
        batch = Import.objects.get(pk=upload.json()["id"])

        def caught_up() -> bool:
            batch.refresh_from_db()
            return batch.status == Import.Status.READY and len(emails_sent(tmp_path / "mail"))

        wait_for(
            caught_up,
            timeout=120,
            what=f"the jobs\n--- worker\n{log_text(worker_log)}\n--- beat\n{log_text(beat_log)}",
        )
        catch_up_seconds = time.monotonic() - back

    assert batch.valid_rows == INLINE_ROWS + 10
    assert len(emails_sent(tmp_path / "mail")) == 1
    assert invited.email == "new.hire@example.com"
    assert not QueuedJob.objects.exists()  # every job started, none left to resend
    print(
        f"\nRedis down: upload answered in {upload_seconds:.2f} s, invitation in "
        f"{invite_seconds:.2f} s; jobs done {catch_up_seconds:.1f} s after Redis returned"
    )
