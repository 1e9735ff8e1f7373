"""Fault fixtures: the app pointed at a Redis of the test's own, which the test can stop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline_crm.celery import app as celery_app
from pipeline_crm.settings import redis_caches
from tests.faults.redis_server import RedisServer


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _use_broker(url: str) -> None:
    celery_app.conf.broker_url = url
    celery_app._after_fork()  # forget the pooled connections to the previous broker


@pytest.fixture
def on_own_redis(settings, own_redis) -> Iterator[RedisServer]:
    """Cache (sessions, throttles, live board versions) and Celery broker on `own_redis`."""
    settings.CACHES = redis_caches(own_redis.url())
    previous = celery_app.conf.broker_url
    _use_broker(own_redis.url())
    try:
        yield own_redis
    finally:
        _use_broker(previous)
