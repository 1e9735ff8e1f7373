"""Real processes for the jobs tests: sweeps in subprocesses, Celery workers and beat.

They run against the pytest test database (the tests are transactional, so their data is
committed and visible) and write e-mails as files, so the test can count what left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
OUTBOX_HEADER = "X-CRM-Outbox-Key:"


def require_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks (select_for_update skip_locked) are only real on PostgreSQL")


def require_redis() -> str:
    """The Redis URL of this test process (under pytest-xdist, this worker's own database)."""
    url = settings.REDIS_URL
    if not url:
        pytest.skip("needs a Redis broker: set REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis at {url} does not answer: {error}")
    return url


def database_url_of_tests() -> str:
    """The URL of the database pytest created, for processes that must see the test's data."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


def job_env(mail_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a job process: this test's database and mailbox. It inherits what the
    settings derive a pytest-xdist worker's Redis database and broker folder from
    (PYTEST_XDIST_WORKER, REDIS_URL, TEST_REDIS_DB_STEP), so it resolves the same ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_PAUSE", "EMAIL_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="pipeline_crm.settings",
        DATABASE_URL=database_url_of_tests(),
        CONN_MAX_AGE="0",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def emails_sent(mail_dir: Path) -> list[str]:
    """Outbox keys of every e-mail the file backend wrote (one file may hold several)."""
    keys = []
    for path in sorted(mail_dir.glob("*")):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith(OUTBOX_HEADER):
                keys.append(line.split(":", 1)[1].strip())
    return keys


def run_sweep(env: dict[str, str], code: str = "send_due_reminders()") -> subprocess.Popen:
    """A Python process running the reminder sweep (started, not waited for)."""
    script = (
        "import django; django.setup()\n"
        "from followups.reminders import send_due_reminders\n"
        f"print({code})\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(condition: Callable[[], object], *, timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_for_no_open_transactions(timeout: float = 20) -> None:
    """A killed process's PostgreSQL session lingers until the server notices; its row locks
    with it. Wait until no other session of the test database is inside a transaction."""

    def quiet() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%%'"
            )
            return cursor.fetchone()[0] == 0

    wait_for(quiet, timeout=timeout, what="the killed session to end")


def _stop(process: subprocess.Popen) -> None:
    """Stop a process group we started: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def celery(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """`celery -A pipeline_crm <args>` in its own process group, always stopped at the end."""
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "pipeline_crm", *args],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            _stop(process)


def worker_args(queue: str, pool: str = "solo", concurrency: int = 1) -> list[str]:
    return [
        "worker",
        "-l",
        "info",
        "-P",
        pool,
        "-c",
        str(concurrency),
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


def wait_until_ready(log: Path) -> None:
    wait_for(lambda: " ready." in log_text(log), timeout=120, what="the Celery worker to start")


def forget_queue(redis_url: str, queue: str) -> None:
    """Remove a test's private queue (and its binding) from Redis."""
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"*{queue}*"))
    if keys:
        client.delete(*keys)


def log_text(log: Path) -> str:
    return log.read_text(errors="replace") if log.exists() else ""
