"""`make test` runs the suite in parallel processes (pytest-xdist): each keeps its own test
database, Redis database and broker folder, and the job processes a test starts share them."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from pipeline_crm.settings import redis_url_for_test_worker
from tests.jobs.processes import BASE_DIR, job_env

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def test_each_worker_takes_a_redis_database_of_its_own():
    url = "redis://127.0.0.1:6379/6"

    assert redis_url_for_test_worker(url, "") == url
    assert redis_url_for_test_worker(url, "gw0") == url
    assert redis_url_for_test_worker(url, "gw1") == "redis://127.0.0.1:6379/7"
    assert redis_url_for_test_worker(url, "gw1", step=8) == "redis://127.0.0.1:6379/14"
    assert redis_url_for_test_worker("redis://:pw@cache:6380", "gw2") == "redis://:pw@cache:6380/2"
    assert redis_url_for_test_worker("", "gw1") == ""


@pytest.mark.skipif(not WORKER, reason="runs under pytest-xdist (make test)")
@pytest.mark.django_db
def test_this_worker_has_its_own_test_database_and_broker_folder():
    assert connection.settings_dict["NAME"].endswith(f"_{WORKER}")
    assert settings.CELERY_BROKER_DIR.name == f"tests-{WORKER}"


def test_a_job_process_resolves_the_same_redis_database_and_broker_as_this_test(tmp_path):
    script = (
        "import json, django; django.setup()\n"
        "from django.conf import settings as s\n"
        "print(json.dumps([s.REDIS_URL, s.CELERY_BROKER_URL, s.CELERY_BROKER_TRANSPORT_OPTIONS,"
        " s.CACHES]))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=job_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    resolved = json.loads(result.stdout.splitlines()[-1])
    expected = [
        settings.REDIS_URL,
        settings.CELERY_BROKER_URL,
        settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        settings.CACHES,
    ]
    assert resolved == json.loads(json.dumps(expected))
