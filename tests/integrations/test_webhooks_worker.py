"""End to end with real processes: a Celery worker and beat (subprocesses, Redis broker) send a
committed change's delivery to the receiver on 127.0.0.1, retry it after a 500 through beat's
sweep, and deliver, exactly once, one whose worker was killed in the middle."""

from __future__ import annotations

import os
import signal
import uuid

import pytest

from deals import services as deals
from integrations.models import Delivery, Event, Webhook
from pipeline_crm.celery import app as celery_app
from tests.jobs.processes import (
    celery,
    forget_queue,
    job_env,
    log_text,
    require_postgresql,
    require_redis,
    wait_for,
    wait_for_no_open_transactions,
)

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.celery_worker,
]

SECRET = "worker-test-secret-value"  # noqa: S105 (a test's)


@pytest.fixture
def queue(settings):
    """This test's own queue, for the worker and for what this process queues."""
    require_postgresql()
    redis_url = require_redis()
    name = f"webhooks-e2e-{uuid.uuid4().hex[:10]}"
    default = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = name
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_QUEUED_GRACE = 2.0
    yield name
    celery_app.conf.task_default_queue = default
    forget_queue(redis_url, name)


def _env(tmp_path, queue: str, **extra: str) -> dict[str, str]:
    return job_env(
        tmp_path / "mail",
        CELERY_TASK_DEFAULT_QUEUE=queue,
        CELERY_BEAT_SCHEDULE_FILENAME=str(tmp_path / "beat-schedule"),
        WEBHOOK_ALLOW_PRIVATE="true",
        WEBHOOK_RETRY_BASE="1",
        WEBHOOK_SWEEP_INTERVAL="1",
        WEBHOOK_QUEUED_GRACE="2",
        **extra,
    )


def _worker(queue: str) -> list[str]:
    flags = ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return ["worker", "-l", "info", "-P", "solo", "-Q", queue, "-n", f"{queue}@%h", *flags]


def _beat(tmp_path) -> list[str]:
    return ["beat", "-l", "info", "--pidfile", str(tmp_path / "beat.pid")]


def _logs(*paths) -> str:
    return "".join(f"\n--- {path.name}\n{log_text(path)}" for path in paths)


def _delivered() -> Delivery | None:
    return Delivery.objects.filter(delivered_at__isnull=False).first()


def test_a_worker_sends_a_committed_change_and_beat_retries_it_after_a_500(
    rep, team_a, receiver, queue, tmp_path
):
    webhook = Webhook.objects.create(url=receiver.url, events=list(Event.values), secret=SECRET)
    receiver.answer(500)
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    env = _env(tmp_path, queue)

    with celery(_worker(queue), env, worker_log), celery(_beat(tmp_path), env, beat_log):
        deal = deals.create_deal(by=rep, title="Acme renewal")  # commits: the listener queues
        delivery = wait_for(
            _delivered, timeout=120, what=f"the retried delivery{_logs(worker_log, beat_log)}"
        )

    assert receiver.events == ["deal.created", "deal.created"]
    first, second = receiver.requests
    assert first.body == second.body
    assert second.signature_verifies(SECRET)
    assert second.json["data"]["id"] == deal.pk
    assert (delivery.attempts, delivery.status_code, delivery.error) == (2, 200, "")
    assert delivery.webhook_id == webhook.pk
    assert "integrations.tasks.deliver_due_webhooks" in log_text(worker_log)


def test_a_worker_killed_while_sending_leaves_the_delivery_to_the_sweep(
    rep, team_a, receiver, queue, tmp_path
):
    Webhook.objects.create(url=receiver.url, events=list(Event.values), secret=SECRET)
    barrier = tmp_path / "claimed"
    first_log, second_log, beat_log = (tmp_path / f"{n}.log" for n in ("w1", "w2", "beat"))
    env = _env(tmp_path, queue, CRM_PAUSE_AT="webhook.claimed", CRM_PAUSE_FILE=str(barrier))

    with celery(_beat(tmp_path), env, beat_log):
        with celery(_worker(queue), env, first_log):
            deals.create_deal(by=rep, title="Globex expansion")
            wait_for(barrier.exists, timeout=120, what=f"the claim{_logs(first_log)}")
            os.kill(int(barrier.read_text()), signal.SIGKILL)  # mid-delivery, lock held
        wait_for_no_open_transactions()
        assert receiver.requests == []
        with celery(_worker(queue), env, second_log):
            delivery = wait_for(
                _delivered, timeout=120, what=f"the delivery{_logs(second_log, beat_log)}"
            )

    assert receiver.events == ["deal.created"]  # once: the killed worker had not sent it
    assert receiver.requests[0].signature_verifies(SECRET)
    assert delivery.attempts == 1
