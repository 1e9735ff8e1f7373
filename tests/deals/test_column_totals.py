"""The running column totals PostgreSQL keeps for the board headers (`ColumnTotal`, triggers of
migration deals 0010) must always equal what counting the deals gives, whatever changed them."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F, Q, Sum

from deals import services, stalls
from deals.models import ColumnTotal, Deal
from deals.selectors import BoardFilters, board_deals, column_totals, stored_column_totals
from tests.concurrency import all_at_once, raised
from tests.factories import DealFactory, default_pipeline, lost_reason_entry, stage_named

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the totals are kept by PostgreSQL triggers"
)


def counted() -> dict[tuple[int, str, int], tuple[int, Decimal, Decimal, Decimal]]:
    """(stage, status, owner) → count, amount, amount without override, Σ amount × override."""
    rows = (
        Deal.objects.order_by()
        .values_list("stage_id", "status", "owner_id")
        .annotate(
            n=Count("*"),
            total=Sum("amount", default=0),
            without=Sum("amount", filter=Q(probability_override__isnull=True), default=0),
            weighted=Sum(F("amount") * F("probability_override"), default=0),
        )
    )
    return {(s, st, o): (n, a, w, ow) for s, st, o, n, a, w, ow in rows}


def stored() -> dict[tuple[int, str, int], tuple[int, Decimal, Decimal, Decimal]]:
    rows = ColumnTotal.objects.exclude(deals=0, amount_sum=0).values_list(
        "stage_id",
        "status",
        "owner_id",
        "deals",
        "amount_sum",
        "amount_without_override",
        "override_weighted",
    )
    return {(s, st, o): (n, a, w, ow) for s, st, o, n, a, w, ow in rows}


def test_totals_follow_every_kind_of_deal_change(rep, teammate, manager, admin_user, team_a):
    deals = [DealFactory(owner=rep, amount=Decimal(100 * i)) for i in range(1, 6)]
    DealFactory(owner=teammate, amount=None)
    Deal.objects.bulk_create(
        [
            Deal(
                title=f"Bulk {i}",
                pipeline=default_pipeline(),
                stage=stage_named("Contact"),
                owner=teammate,
                amount=Decimal("12.34"),
                probability_override=40,
                stage_entered_at=deals[0].stage_entered_at,
            )
            for i in range(3)
        ]
    )
    assert stored() == counted()

    first = services.move_deal(deal=deals[0], by=rep, stage=stage_named("Contact"), version=1)
    services.mark_lost(deal=deals[1], by=rep, reason=lost_reason_entry("Budget cut"))
    services.mark_won(deal=deals[2], by=rep)
    services.reopen_deal(deal=Deal.objects.get(pk=deals[1].pk), by=rep)
    services.update_deal(
        deal=Deal.objects.get(pk=deals[3].pk),
        by=manager,
        changes={"amount": Decimal("999.99"), "probability_override": 70, "owner": teammate},
    )
    services.delete_deal(deal=deals[4], by=rep)
    assert stored() == counted()

    # One value at a time, so each must be watched on its own.
    for changes in ({"amount": Decimal("1.50")}, {"probability_override": 15}):
        services.update_deal(deal=Deal.objects.get(pk=first.pk), by=rep, changes=changes)
        assert stored() == counted(), changes

    Deal.objects.filter(owner=teammate).update(stage=stage_named("Proposal"))
    services.delete_stage(
        stage=stage_named("Proposal"), by=admin_user, destination=stage_named("Negotiation")
    )
    stalls.detect_stalled_deals()
    assert stored() == counted()
    assert first.stage == stage_named("Contact")


def test_board_headers_from_the_totals_match_counting_the_deals(rep, teammate, team_a):
    for amount, override in ((100, None), (250, 80), (None, None)):
        DealFactory(owner=rep, amount=amount, probability_override=override)
        DealFactory(owner=teammate, amount=amount, probability_override=None)
    DealFactory(owner=rep, status=Deal.Status.WON, stage=default_pipeline().stages.get(kind="won"))
    pipeline = default_pipeline()
    stages = list(pipeline.stages.order_by("order"))
    for owner in ("all", "me", "team", str(teammate.pk)):
        for status in ("", "won", "lost"):
            filters = BoardFilters(owner=owner, status=status)
            expected = column_totals(
                board_deals(rep, pipeline, filters), stages, filters.statuses()
            )
            assert stored_column_totals(rep, filters, stages) == expected, (owner, status)


def test_text_stalled_and_date_filters_count_the_deals_themselves(rep):
    stages = list(default_pipeline().stages.order_by("order"))
    for filters in (
        BoardFilters(q="acme"),
        BoardFilters(stalled=True),
        BoardFilters(close_from=dt.date(2030, 1, 1)),
    ):
        assert stored_column_totals(rep, filters, stages) is None


def test_outsider_totals_leave_out_deals_they_cannot_see(rep, outsider, team_a):
    DealFactory(owner=rep, amount=Decimal(500))
    stages = list(default_pipeline().stages.order_by("order"))
    totals = stored_column_totals(outsider, BoardFilters(), stages)
    assert totals is not None
    assert sum(t.count for t in totals.values()) == 0


@pytest.mark.django_db(transaction=True)
def test_opposite_moves_of_one_owners_deals_never_deadlock(rep, team_a):
    """Each move writes two totals rows; both transactions take them in key order."""
    left, right = stage_named("Prospecting"), stage_named("Contact")
    a = DealFactory(owner=rep, stage=left)
    b = DealFactory(owner=rep, stage=right)

    def shuttle(deal_id: int, there: object, back: object) -> None:
        for i in range(15):
            deal = Deal.objects.get(pk=deal_id)
            target = there if i % 2 == 0 else back
            services.move_deal(deal=deal, by=rep, stage=target, version=deal.version)

    outcomes = all_at_once([lambda: shuttle(a.pk, right, left), lambda: shuttle(b.pk, left, right)])

    assert raised(outcomes) == []
    assert stored() == counted()


def test_rebuild_command_repairs_totals_that_drifted(rep, teammate, team_a):
    DealFactory(owner=rep, amount=Decimal(300), probability_override=50)
    DealFactory(owner=teammate, amount=Decimal(20))
    ColumnTotal.objects.update(deals=999, amount_sum=Decimal(1))  # as a bad restore might leave
    ColumnTotal.objects.create(
        stage=stage_named("Proposal"), status="open", owner=rep, deals=4, amount_sum=Decimal(9)
    )
    out = io.StringIO()

    call_command("rebuild_column_totals", stdout=out)

    assert stored() == counted()
    assert "rebuilt: 2 " in out.getvalue()


def weighted_by_the_annotation(stages, statuses) -> dict[int, Decimal]:
    """Σ amount × effective probability / 100 of each column, from `with_effective_probability`."""
    sums = dict(
        Deal.objects.with_effective_probability()
        .filter(stage__in=stages, status__in=statuses)
        .order_by()
        .values_list("stage_id")
        .annotate(weighted=Sum(F("amount") * F("effective_probability"), default=0))
    )
    return {s.pk: (Decimal(sums.get(s.pk, 0)) / 100).quantize(Decimal("0.01")) for s in stages}


def test_running_weighted_totals_equal_the_effective_probability_column_by_column(
    rep, teammate, admin_user, team_a
):
    """The trigger of migration 0010 keeps its own SQL copy of the effective probability rule:
    after overrides set and cleared, amounts changed and a stage's probability changed, the
    headers read from the running totals still weigh every deal as the annotation does."""
    stages = list(default_pipeline().stages.order_by("order"))
    prospecting, contact, proposal = (
        stage_named(n) for n in ("Prospecting", "Contact", "Proposal")
    )
    plain = DealFactory(owner=rep, stage=prospecting, amount=Decimal("1000.00"))
    overridden = DealFactory(
        owner=rep, stage=contact, amount=Decimal("333.33"), probability_override=80
    )
    cleared = DealFactory(
        owner=teammate, stage=proposal, amount=Decimal("250.50"), probability_override=5
    )
    DealFactory(owner=teammate, stage=proposal, amount=None)
    DealFactory(owner=rep, stage=stage_named("Closed"), status=Deal.Status.WON, amount=Decimal(77))

    services.update_deal(deal=plain, by=rep, changes={"probability_override": 65})
    services.update_deal(
        deal=Deal.objects.get(pk=cleared.pk), by=teammate, changes={"probability_override": None}
    )
    services.update_deal(
        deal=Deal.objects.get(pk=overridden.pk), by=rep, changes={"amount": Decimal("1234.56")}
    )
    services.update_deal(
        deal=Deal.objects.get(pk=plain.pk), by=rep, changes={"amount": Decimal("10.01")}
    )
    services.update_stage(stage=proposal, by=admin_user, changes={"probability": 42})
    stages = list(default_pipeline().stages.order_by("order"))  # with the new probability

    headers = stored_column_totals(admin_user, BoardFilters(), stages)

    expected = weighted_by_the_annotation(stages, BoardFilters().statuses())
    assert headers is not None
    assert {pk: totals.weighted for pk, totals in headers.items()} == expected
    assert headers[proposal.pk].weighted == Decimal("105.21")  # 250.50 × 42 %, the cleared one
    assert headers[contact.pk].weighted == Decimal("987.65")  # 1234.56 × 80 %
