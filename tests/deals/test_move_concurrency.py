"""Optimistic concurrency under real contention: only PostgreSQL locks rows for real."""

import threading

import pytest
from django.db import connection

from deals import services
from deals.models import Deal, StageChange
from pipeline_crm.errors import StaleVersion
from tests.factories import DealFactory, stage_named

THREADS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_moves_with_one_version_let_exactly_one_through(rep, team_a):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are only real on PostgreSQL (set DATABASE_URL)")
    deal = DealFactory(owner=rep)
    target = stage_named("Contact")
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt() -> None:
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            services.move_deal(deal=Deal.objects.get(pk=deal.pk), by=rep, stage=target, version=1)
            result = "moved"
        except StaleVersion:
            result = "conflict"
        finally:
            thread_connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["conflict"] * (THREADS - 1) + ["moved"]
    deal.refresh_from_db()
    assert deal.version == 2
    assert StageChange.objects.filter(deal=deal).count() == 1
