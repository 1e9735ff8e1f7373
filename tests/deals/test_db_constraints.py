"""The database itself refuses impossible pipeline data (SPEC §3), whatever code writes it.

These writes bypass the services on purpose (queryset updates, bulk inserts): the constraints
are the last line behind them, for the admin, raw imports and any future code path. Each write
runs in its own savepoint so the test transaction survives the IntegrityError.
"""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from deals.models import Deal, Pipeline, Stage
from followups.models import Notification
from tests.factories import (
    DealFactory,
    NotificationFactory,
    PipelineFactory,
    StageFactory,
    UserFactory,
    default_pipeline,
    stage_named,
)

pytestmark = pytest.mark.django_db


def refused(write):
    """Run `write` in a savepoint and expect the database to refuse it."""
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


@pytest.fixture
def deal():
    return DealFactory(amount=Decimal("500.00"), probability_override=40)


@pytest.mark.parametrize("amount", [Decimal("-0.01"), Decimal("-500.00")])
def test_a_negative_deal_amount_is_refused_by_the_database(deal, amount):
    refused(lambda: Deal.objects.filter(pk=deal.pk).update(amount=amount))
    refused(
        lambda: Deal.objects.bulk_create(
            [
                Deal(
                    title="Minus",
                    pipeline=deal.pipeline,
                    stage=deal.stage,
                    owner=deal.owner,
                    amount=amount,
                    position=0,
                )
            ]
        )
    )
    deal.refresh_from_db()
    assert deal.amount == Decimal("500.00")
    assert Deal.objects.count() == 1


def test_a_zero_or_missing_deal_amount_is_accepted(deal):
    Deal.objects.filter(pk=deal.pk).update(amount=Decimal("0.00"))
    Deal.objects.filter(pk=deal.pk).update(amount=None)
    deal.refresh_from_db()
    assert deal.amount is None


@pytest.mark.parametrize("override", [101, -1])
def test_a_probability_override_outside_0_to_100_is_refused_by_the_database(deal, override):
    refused(lambda: Deal.objects.filter(pk=deal.pk).update(probability_override=override))
    deal.refresh_from_db()
    assert deal.probability_override == 40


@pytest.mark.parametrize("override", [0, 100, None])
def test_a_probability_override_from_0_to_100_or_none_is_accepted(deal, override):
    Deal.objects.filter(pk=deal.pk).update(probability_override=override)
    deal.refresh_from_db()
    assert deal.probability_override == override


def test_a_stage_probability_of_150_is_refused_by_the_database():
    stage = stage_named("Proposal")
    refused(lambda: Stage.objects.filter(pk=stage.pk).update(probability=150))
    refused(
        lambda: Stage.objects.bulk_create(
            [Stage(pipeline=PipelineFactory(), name="Sure thing", order=1, probability=150)]
        )
    )
    stage.refresh_from_db()
    assert stage.probability == 55


def test_two_stages_of_one_pipeline_cannot_share_an_order():
    pipeline = default_pipeline()
    prospecting, qualification = stage_named("Prospecting"), stage_named("Qualification")
    refused(lambda: Stage.objects.filter(pk=qualification.pk).update(order=prospecting.order))
    refused(
        lambda: Stage.objects.bulk_create(
            [Stage(pipeline=pipeline, name="Twin", order=prospecting.order, probability=10)]
        )
    )
    qualification.refresh_from_db()
    assert qualification.order == prospecting.order + 1
    assert pipeline.stages.count() == 7


def test_stages_of_different_pipelines_may_share_an_order():
    other = StageFactory(order=stage_named("Prospecting").order)
    assert other.order == stage_named("Prospecting").order


def test_two_notifications_cannot_share_a_dedupe_key():
    first = NotificationFactory(dedupe_key="reminder:7:2026-11-30T09:00")
    refused(
        lambda: Notification.objects.bulk_create(
            [
                Notification(
                    user=UserFactory(),
                    kind=Notification.Kind.REMINDER,
                    message="Again",
                    dedupe_key=first.dedupe_key,
                )
            ]
        )
    )
    other = NotificationFactory()
    refused(lambda: Notification.objects.filter(pk=other.pk).update(dedupe_key=first.dedupe_key))
    assert list(
        Notification.objects.filter(dedupe_key=first.dedupe_key).values_list("pk", flat=True)
    ) == [first.pk]


def test_only_one_pipeline_is_the_default():
    refused(lambda: Pipeline.objects.bulk_create([Pipeline(name="Second", is_default=True)]))
    assert list(Pipeline.objects.filter(is_default=True)) == [default_pipeline()]
