"""Optimistic concurrency under real contention: only PostgreSQL locks rows for real."""

import threading

import pytest
from django.db import connection, transaction

from deals import services
from deals.models import Deal, StageChange
from deals.services.positions import renumber_column
from pipeline_crm.errors import StaleVersion
from tests.concurrency import all_at_once
from tests.factories import DealFactory, stage_named

THREADS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_moves_with_one_version_let_exactly_one_through(rep, team_a):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are only real on PostgreSQL (set DATABASE_URL)")
    deal = DealFactory(owner=rep)
    target = stage_named("Contact")

    def attempt() -> str:
        services.move_deal(deal=Deal.objects.get(pk=deal.pk), by=rep, stage=target, version=1)
        return "moved"

    outcomes = all_at_once([attempt] * THREADS)
    outcomes = ["conflict" if isinstance(o, StaleVersion) else o for o in outcomes]

    assert sorted(outcomes) == ["conflict"] * (THREADS - 1) + ["moved"]
    deal.refresh_from_db()
    assert deal.version == 2
    assert StageChange.objects.filter(deal=deal).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_deals_dropped_on_top_of_one_column_at_once_take_different_places(rep, team_a):
    """The second drop waits until the first has committed, then goes on top of it: both
    reading the same top card would give both deals the same place (bench/load.py found it)."""
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL runs two transactions at once")
    target = stage_named("Contact")
    DealFactory(owner=rep, stage=target)
    first, second = DealFactory(owner=rep), DealFactory(owner=rep)
    first_placed, release = threading.Event(), threading.Event()
    errors: list[Exception] = []

    def drop(deal: Deal, *, hold: bool) -> None:
        from django.db import connection as thread_connection

        try:
            with transaction.atomic():
                current = Deal.objects.get(pk=deal.pk)
                services.move_deal(deal=current, by=rep, stage=target, version=current.version)
                if hold:  # placed, not committed yet
                    first_placed.set()
                    release.wait(timeout=10)
        except Exception as exc:
            errors.append(exc)
        finally:
            first_placed.set()
            thread_connection.close()

    holder = threading.Thread(target=drop, args=(first,), kwargs={"hold": True})
    holder.start()
    first_placed.wait(timeout=10)
    other = threading.Thread(target=drop, args=(second,), kwargs={"hold": False})
    other.start()
    other.join(timeout=0.5)  # without the column lock it would be done by now
    release.set()
    for thread in (holder, other):
        thread.join(timeout=30)

    assert errors == []
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.position < first.position
    column = Deal.objects.filter(stage=target).values_list("position", flat=True)
    assert len(set(column)) == 3


@pytest.mark.django_db(transaction=True)
def test_a_column_respread_never_rewrites_a_deal_that_left_it_meanwhile(rep, team_a):
    """A deal leaving a column while that column is spread out again keeps the place it took
    in its new column: the respread, waiting for the leaving deal's row, must not then write
    its old column's key onto it (bench/load.py found two cards sharing a place)."""
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL runs two transactions at once")
    source, target = stage_named("Qualification"), stage_named("Contact")
    leaving = DealFactory(owner=rep, stage=source, position=5)
    DealFactory(owner=rep, stage=source, position=6)
    DealFactory(owner=rep, stage=target, position=0)
    moved, release = threading.Event(), threading.Event()
    errors: list[Exception] = []

    def move_out() -> None:
        from django.db import connection as thread_connection

        try:
            with transaction.atomic():
                current = Deal.objects.get(pk=leaving.pk)
                services.move_deal(deal=current, by=rep, stage=target, version=current.version)
                moved.set()
                release.wait(timeout=10)
        except Exception as exc:
            errors.append(exc)
        finally:
            moved.set()
            thread_connection.close()

    def respread() -> None:
        from django.db import connection as thread_connection

        try:
            with transaction.atomic():
                renumber_column(source)  # waits for the leaving deal's row
        except Exception as exc:
            errors.append(exc)
        finally:
            thread_connection.close()

    mover = threading.Thread(target=move_out)
    mover.start()
    moved.wait(timeout=10)
    spreader = threading.Thread(target=respread)
    spreader.start()
    spreader.join(timeout=0.5)
    release.set()
    for thread in (mover, spreader):
        thread.join(timeout=30)

    assert errors == []
    leaving.refresh_from_db()
    assert leaving.stage == target
    assert leaving.position < 0  # on top of the target column, where the move put it
    column = Deal.objects.filter(stage=target).values_list("position", flat=True)
    assert len(set(column)) == 2
