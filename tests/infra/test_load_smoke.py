"""The load test (bench/load.py) in smoke mode: a few simulated reps and a manager for ten
seconds against gunicorn on this test database and Redis, then its invariant checks in SQL.

The script runs as a process of its own: locust patches sockets with gevent on import.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
CHECKS = [
    "every successful move has exactly one stage-history row",
    "no deal sits in another pipeline's stage",
    "no two deals share a position in a column",
    "notification keys are unique",
    "column totals match their deals",
]


def database_url() -> str:
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    server = f"{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT']}"
    return f"postgres://{server}/{settings['NAME']}"


@pytest.mark.skipif(
    connection.vendor != "postgresql" or not django_settings.REDIS_URL,
    reason="runs gunicorn on PostgreSQL + Redis (set DATABASE_URL and REDIS_URL)",
)
@pytest.mark.django_db(transaction=True)
def test_a_short_load_run_fails_no_request_and_keeps_every_invariant():
    test_only = ("PYTEST_VERSION", "PYTEST_XDIST_WORKER", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in test_only}
    env["REDIS_URL"] = django_settings.REDIS_URL  # this test process's own Redis database
    command = ["bench/load.py", "--smoke", "--reuse-database", "--database", database_url()]
    run = subprocess.run(
        [sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=150
    )

    report = run.stdout
    assert run.returncode == 0, report + run.stderr[-3000:]
    assert "failures: 0 (0.00 %)" in report
    for name in CHECKS:
        assert f"[ok] {name}:" in report
    moved = report.split("exactly one stage-history row: ")[1]
    assert not moved.startswith("0 moves"), "the run moved no deal: the check proved nothing"
