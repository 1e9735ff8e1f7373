"""pipeline_crm.db.bulk_insert: many rows at once, the values as given, on PostgreSQL (COPY)
and SQLite (INSERT) alike."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.utils import timezone

from contacts.models import Company, Lead
from deals.models import Deal, StageChange
from followups.models import Activity
from pipeline_crm.db import bulk_insert
from tests.factories import DealFactory, UserFactory

pytestmark = pytest.mark.django_db

LONG_AGO = dt.datetime(2024, 3, 1, 9, 30, tzinfo=dt.UTC)


def test_instances_get_their_new_ids_in_order_and_keep_a_historic_created_at(rep):
    companies = [
        Company(name=f"Firm {i}", domain=f"firm{i}.example", owner=rep, created_at=LONG_AGO)
        for i in range(3)
    ]

    ids = bulk_insert(Company, companies, need_ids=True)

    assert ids == [c.pk for c in companies]
    assert len(set(ids)) == 3
    for company in companies:
        stored = Company.objects.get(pk=company.pk)
        assert (stored.name, stored.domain, stored.created_at) == (
            company.name,
            company.domain,
            LONG_AGO,
        )


def test_an_empty_auto_now_field_gets_the_time_of_the_insert(rep):
    before = timezone.now()

    bulk_insert(Company, [Company(name="New", domain="new.example", owner=rep)])

    assert Company.objects.get(domain="new.example").created_at >= before


def test_mappings_leave_out_what_takes_the_field_default():
    deal = DealFactory()
    row = {
        "deal_id": deal.pk,
        "kind": Activity.Kind.CALL,
        "subject": "Call",
        "owner_id": deal.owner_id,
    }

    ids = bulk_insert(Activity, [row], need_ids=True)

    activity = Activity.objects.get(pk=ids[0])
    assert (activity.subject, activity.body, activity.done_at) == ("Call", "", None)
    assert "id" not in row  # the caller's row is left as it was


def test_values_of_every_kind_come_back_as_they_went_in(rep):
    lead = Lead(
        first_name="Ada",
        last_name="Byron",
        email="ada@example.com",
        owner=rep,
        budget=Decimal("12500.50"),
        authority=True,
        timeline=dt.date(2025, 1, 31),
        score=42,
        score_breakdown={"budget": 20, "why": ["authority", "timeline"]},
    )

    bulk_insert(Lead, [lead], need_ids=True)

    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.budget, stored.authority, stored.timeline, stored.score) == (
        Decimal("12500.50"),
        True,
        dt.date(2025, 1, 31),
        42,
    )
    assert stored.score_breakdown == {"budget": 20, "why": ["authority", "timeline"]}


def test_rows_that_carry_their_ids_keep_them():
    deal = DealFactory()
    free_id = (StageChange.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 100
    row = {"id": free_id, "deal_id": deal.pk, "to_stage_id": deal.stage_id, "at": LONG_AGO}

    ids = bulk_insert(StageChange, [row], need_ids=True)

    assert ids == [free_id]
    assert StageChange.objects.get(pk=free_id).at == LONG_AGO


def test_without_need_ids_nothing_is_returned_and_the_rows_are_there(rep):
    ids = bulk_insert(Company, [Company(name="A", domain="a.example", owner=rep)])

    assert ids == []
    assert Company.objects.filter(domain="a.example").exists()


def test_nothing_is_inserted_when_one_row_is_refused():
    owner = UserFactory()
    deal = DealFactory(owner=owner)
    good = Deal(title="Fine", pipeline_id=deal.pipeline_id, stage_id=deal.stage_id, owner=owner)
    bad = Deal(title=None, pipeline_id=deal.pipeline_id, stage_id=deal.stage_id, owner=owner)

    with pytest.raises(IntegrityError):
        bulk_insert(Deal, [good, bad], need_ids=True)

    assert list(Deal.objects.values_list("pk", flat=True)) == [deal.pk]


def test_no_rows_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert bulk_insert(Deal, [], need_ids=True) == []
