"""pipeline_crm/db.py: what PostgreSQL and SQLite do differently, behind one set of functions
that give the same answers on both."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Count, Sum

from deals.models import Deal
from pipeline_crm.db import (
    is_postgresql,
    lock_against_writes,
    objects_for_each,
    tune_for_bulk_writes,
    values_for_each,
)
from tests.factories import DealFactory, stage_named

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a PostgreSQL setting or lock"
)


@pytest.fixture
def deals(rep):
    made = {}
    for name in ("Prospecting", "Contact"):
        for status in (Deal.Status.OPEN, Deal.Status.LOST):
            made[name, status] = [
                DealFactory(owner=rep, stage=stage_named(name), status=status, amount=Decimal(i))
                for i in range(1, 5)
            ]
    return made


def first_two(stage_id, status):
    return Deal.objects.filter(stage_id=stage_id, status=status).order_by("position", "id")[:2]


def test_one_query_per_row_gives_what_each_query_gives_alone(deals):
    rows = [(stage_named(name).pk, status) for name, status in deals]

    found = objects_for_each(rows, first_two)

    expected = [deal for stage_id, status in rows for deal in first_two(stage_id, status)]
    assert sorted(d.pk for d in found) == sorted(d.pk for d in expected)
    assert {d.pk: (d.title, d.amount, d.stage_id) for d in found} == {
        d.pk: (d.title, d.amount, d.stage_id) for d in expected
    }


def test_values_for_each_row_match_the_same_aggregate_run_alone(deals):
    def sums(stage_id):
        return (
            Deal.objects.filter(stage_id=stage_id)
            .order_by()
            .values("stage_id")
            .annotate(n=Count("*"), total=Sum("amount"))
            .values_list("stage_id", "n", "total")
        )

    stage_ids = [stage_named("Prospecting").pk, stage_named("Contact").pk, stage_named("Closed").pk]

    found = values_for_each([(pk,) for pk in stage_ids], sums)

    assert sorted(found) == [
        (stage_ids[0], 8, Decimal(20)),
        (stage_ids[1], 8, Decimal(20)),
    ]  # the empty column has no row


def test_values_for_each_gives_each_value_as_the_query_alone_would(rep):
    """A JSON column comes back decoded, not as its text (the statement is run raw)."""
    stage = stage_named("Prospecting")
    DealFactory(owner=rep, stage=stage, stall_reasons=["idle", "no_next_step"])

    def reasons(stage_id):
        return Deal.objects.filter(stage_id=stage_id).values_list("stall_reasons", "amount")

    found = values_for_each([(stage.pk,)], reasons)

    assert found == list(reasons(stage.pk))
    assert found[0][0] == ["idle", "no_next_step"]


def test_on_postgresql_all_the_rows_are_one_statement(deals, django_assert_num_queries):
    rows = [(stage_named(name).pk, status) for name, status in deals]
    expected = 1 if is_postgresql() else len(rows)

    with django_assert_num_queries(expected):
        assert len(objects_for_each(rows, first_two)) == 2 * len(rows)
    with django_assert_num_queries(0):
        assert objects_for_each([], first_two) == []


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_table_locked_against_writes_stays_readable_until_the_transaction_ends(rep):
    def deal_table_locks():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT mode FROM pg_locks"
                " WHERE relation = %s::regclass AND pid = pg_backend_pid()",
                [Deal._meta.db_table],
            )
            return {mode for (mode,) in cursor.fetchall()}

    with transaction.atomic():
        lock_against_writes(Deal)
        held = deal_table_locks()

    assert "ShareLock" in held
    assert "ShareLock" not in deal_table_locks()


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_bulk_write_settings_last_for_the_transaction_only():
    def setting(name):
        with connection.cursor() as cursor:
            cursor.execute(f"SHOW {name}")
            return cursor.fetchone()[0]

    before = setting("synchronous_commit"), setting("enable_nestloop"), setting("jit")
    with transaction.atomic():
        tune_for_bulk_writes()
        during = setting("synchronous_commit"), setting("enable_nestloop"), setting("jit")

    assert during == ("off", "off", "off")
    assert (setting("synchronous_commit"), setting("enable_nestloop"), setting("jit")) == before


def test_on_sqlite_the_locks_and_settings_cost_no_query(django_assert_num_queries):
    if is_postgresql():
        pytest.skip("SQLite has nothing to lock or tune")
    with django_assert_num_queries(0):
        lock_against_writes(Deal)
        tune_for_bulk_writes()
