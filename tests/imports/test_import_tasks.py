"""Large files run in Celery: validation after the upload, then the commit, with progress that
another connection sees move while the work runs."""

import uuid

import pytest

from deals.models import Deal
from imports import tasks
from imports.models import Import
from imports.services import INLINE_ROWS
from pipeline_crm.celery import app
from tests.factories import TeamFactory, UserFactory
from tests.imports.conftest import csv_file
from tests.jobs.processes import (
    celery,
    forget_queue,
    job_env,
    log_text,
    require_postgresql,
    require_redis,
    wait_for,
)


def deals_csv(rows: int) -> str:
    lines = ["Title,Amount,Company,Contact e-mail,Expected close date"]
    lines += [
        f"Deal {n},{n % 900 + 100}.50,Company {n % 50},person{n % 300}@example.com,2025-01-15"
        for n in range(rows)
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def eager_tasks():
    """Tasks run in this process when queued, as a worker would run them."""
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


@pytest.mark.django_db
def test_a_large_file_is_validated_and_committed_by_the_tasks(
    manager, team_a, upload, commit, eager_tasks, django_capture_on_commit_callbacks
):
    rows = INLINE_ROWS + 500

    with django_capture_on_commit_callbacks(execute=True) as queued:
        body = upload(manager, "deals", deals_csv(rows)).json()
        assert body["status"] == "validating"  # answered before the task ran
    assert len(queued) == 1
    batch = Import.objects.get(pk=body["id"])
    assert (batch.status, batch.total_rows, batch.valid_rows) == ("ready", rows, rows)

    with django_capture_on_commit_callbacks(execute=True):
        assert commit(manager, batch.pk).json()["status"] == "importing"
    batch.refresh_from_db()
    assert (batch.status, batch.created, batch.progress) == ("done", rows, 100)
    assert Deal.objects.count() == rows
    # Run again (a redelivered message): nothing changes.
    tasks.commit_import_task(batch.pk)
    tasks.validate_import_task(batch.pk)
    assert Deal.objects.count() == rows


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_imports_a_large_file_with_visible_progress(
    tmp_path, settings, monkeypatch, api_for
):
    require_postgresql()
    redis_url = require_redis()
    queue = f"imports-test-{uuid.uuid4().hex[:10]}"
    for task in (tasks.validate_import_task, tasks.commit_import_task):
        monkeypatch.setattr(
            task,
            "delay_on_commit",
            lambda pk, task=task: task.apply_async_on_commit((pk,), queue=queue),
        )
    manager = UserFactory(username="manager", role="manager")
    TeamFactory(name="Team A", members=[UserFactory(role="rep")], managers=[manager])
    api = api_for(manager)
    rows = 20_000
    log = tmp_path / "worker.log"
    env = job_env(
        tmp_path / "mail", CELERY_TASK_DEFAULT_QUEUE=queue, MEDIA_ROOT=str(settings.MEDIA_ROOT)
    )
    worker = ["worker", "-l", "info", "-P", "solo", "-Q", queue, "-n", f"{queue}@%h"]
    worker += ["--without-gossip", "--without-mingle", "--without-heartbeat"]

    try:
        with celery(worker, env, log):
            answer = api.post(
                "/api/imports/",
                {"file": csv_file(deals_csv(rows)), "kind": "deals"},
                format="multipart",
            )
            import_id = answer.json()["id"]

            def status() -> str:
                return Import.objects.values_list("status", flat=True).get(pk=import_id)

            wait_for(lambda: status() == "ready", timeout=120, what=f"validation\n{log_text(log)}")
            started = api.post(
                f"/api/imports/{import_id}/commit/", {"mode": "valid_rows"}, format="json"
            )
            seen: set[int] = {started.json()["progress"]}

            def finished() -> bool:
                body = api.get(f"/api/imports/{import_id}/").json()
                seen.add(body["progress"])
                return body["status"] == "done"

            wait_for(finished, timeout=180, what=f"the commit\n{log_text(log)}")
    finally:
        forget_queue(redis_url, queue)

    assert Deal.objects.count() == rows
    assert any(0 < progress < 100 for progress in seen), seen
    assert Import.objects.get(pk=import_id).created == rows
