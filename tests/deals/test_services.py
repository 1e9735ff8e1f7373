"""The pipeline rules of deals.services, each acceptance point and each refusal."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from deals import services
from deals.models import Deal, FieldChange, Stage, StageChange
from deals.services.positions import deal_ids_around_index
from pipeline_crm.errors import (
    DomainError,
    InvalidTransition,
    MissingRequiredFields,
    NotAllowed,
    StaleVersion,
)
from tests.factories import (
    CompanyFactory,
    DealFactory,
    PipelineFactory,
    StageFactory,
    default_pipeline,
    lost_reason_entry,
    stage_named,
)

pytestmark = pytest.mark.django_db


def move_to_index(*, deal, by, stage, version, position):
    """A move to index `position` of the column as `by` sees it, as the API's `position` does
    (`move_deal` itself takes the card to place the deal next to)."""
    after_id, before_id = deal_ids_around_index(stage, position, viewer=by, moving=deal)
    return services.move_deal(
        deal=deal, by=by, stage=stage, version=version, after_id=after_id, before_id=before_id
    )


def reorder(*, deal, by, version, position):
    """A move to index `position` of the deal's own column."""
    return move_to_index(deal=deal, by=by, stage=deal.stage, version=version, position=position)


def column_titles(stage):
    return list(
        Deal.objects.filter(stage=stage).order_by("position", "id").values_list("title", flat=True)
    )


# --- move_deal ----------------------------------------------------------------------------------


def test_move_records_history_bumps_version_and_resets_time_in_stage(rep, team_a):
    deal = DealFactory(owner=rep, stage_entered_at=timezone.now() - dt.timedelta(days=9))
    target = stage_named("Qualification")

    moved = services.move_deal(deal=deal, by=rep, stage=target, version=1)

    assert moved.stage == target
    assert moved.version == 2
    assert timezone.now() - moved.stage_entered_at < dt.timedelta(seconds=5)
    change = StageChange.objects.get(deal=deal)
    assert (change.from_stage, change.to_stage, change.by) == (deal.stage, target, rep)
    assert (change.from_stage_name, change.to_stage_name) == ("Prospecting", "Qualification")


def test_move_with_stale_version_is_refused_and_changes_nothing(rep, team_a):
    deal = DealFactory(owner=rep, version=3)

    with pytest.raises(StaleVersion) as refused:
        services.move_deal(deal=deal, by=rep, stage=stage_named("Contact"), version=2)

    assert refused.value.current.version == 3
    deal.refresh_from_db()
    assert deal.stage.name == "Prospecting"
    assert not StageChange.objects.filter(deal=deal).exists()


def test_move_to_a_stage_of_another_pipeline_is_refused(rep, team_a):
    deal = DealFactory(owner=rep)
    foreign = StageFactory(pipeline=PipelineFactory())

    with pytest.raises(DomainError) as refused:
        services.move_deal(deal=deal, by=rep, stage=foreign, version=1)

    assert refused.value.field == "stage"


def test_move_into_stage_with_required_fields_names_the_missing_ones(rep, team_a):
    proposal = stage_named("Proposal")
    proposal.required_fields = ["amount", "expected_close_date", "company"]
    proposal.save()
    deal = DealFactory(owner=rep, amount=None, expected_close_date=None, company=None)

    with pytest.raises(MissingRequiredFields) as refused:
        services.move_deal(deal=deal, by=rep, stage=proposal, version=1)

    assert refused.value.fields == ["amount", "expected_close_date", "company"]
    deal.refresh_from_db()
    assert deal.stage.name == "Prospecting"


def test_move_can_fill_required_fields_in_the_same_step(rep, team_a):
    proposal = stage_named("Proposal")
    proposal.required_fields = ["amount", "company"]
    proposal.save()
    company = CompanyFactory(owner=rep)
    deal = DealFactory(owner=rep, amount=None, company=None)

    moved = services.move_deal(
        deal=deal,
        by=rep,
        stage=proposal,
        version=1,
        values={"amount": Decimal("5000"), "company": company},
    )

    assert (moved.stage, moved.amount, moved.company) == (proposal, Decimal("5000"), company)
    assert FieldChange.objects.filter(deal=deal, field="amount", new_value="5000").exists()


def test_entering_a_won_stage_marks_the_deal_won(rep, team_a):
    deal = DealFactory(owner=rep, stage=stage_named("Negotiation"))

    moved = services.move_deal(deal=deal, by=rep, stage=stage_named("Closed"), version=1)

    assert moved.status == Deal.Status.WON
    assert moved.won_at is not None


def test_moving_a_won_deal_back_to_an_open_stage_reopens_it(rep, team_a):
    deal = DealFactory(owner=rep, stage=stage_named("Closed"), status=Deal.Status.WON)
    deal.won_at = timezone.now()
    deal.save()

    moved = services.move_deal(deal=deal, by=rep, stage=stage_named("Negotiation"), version=1)

    assert moved.status == Deal.Status.OPEN
    assert moved.won_at is None


def test_moving_a_lost_deal_is_refused_until_reopened(rep, team_a):
    deal = DealFactory(owner=rep, status=Deal.Status.LOST, lost_reason=lost_reason_entry("Budget"))

    with pytest.raises(InvalidTransition):
        services.move_deal(deal=deal, by=rep, stage=stage_named("Contact"), version=1)


def test_move_clears_a_stall(rep, team_a):
    deal = DealFactory(owner=rep, stalled=True, stall_reasons=["idle"])
    deal.stalled_since = timezone.now()
    deal.save()

    moved = services.move_deal(deal=deal, by=rep, stage=stage_named("Contact"), version=1)

    assert (moved.stalled, moved.stall_reasons, moved.stalled_since) == (False, [], None)


def test_rep_cannot_move_teammates_deal(rep, teammate, team_a):
    deal = DealFactory(owner=teammate)

    with pytest.raises(NotAllowed):
        services.move_deal(deal=deal, by=rep, stage=stage_named("Contact"), version=1)


def test_manager_can_move_team_members_deal(manager, rep, team_a):
    deal = DealFactory(owner=rep)

    moved = services.move_deal(deal=deal, by=manager, stage=stage_named("Contact"), version=1)

    assert moved.stage.name == "Contact"


def test_other_teams_manager_cannot_move_the_deal(other_manager, rep, team_a, team_b):
    deal = DealFactory(owner=rep)

    with pytest.raises(NotAllowed):
        services.move_deal(deal=deal, by=other_manager, stage=stage_named("Contact"), version=1)


# --- positions ----------------------------------------------------------------------------------


def test_move_lands_at_the_requested_index_of_the_target_column(rep, team_a):
    contact = stage_named("Contact")
    for title in ("A", "B", "C"):
        DealFactory(owner=rep, stage=contact, title=title)
    moving = DealFactory(owner=rep, title="X")

    move_to_index(deal=moving, by=rep, stage=contact, version=1, position=1)

    assert column_titles(contact) == ["A", "X", "B", "C"]


def test_move_without_position_puts_the_card_on_top(rep, team_a):
    contact = stage_named("Contact")
    DealFactory(owner=rep, stage=contact, title="A")
    moving = DealFactory(owner=rep, title="X")

    services.move_deal(deal=moving, by=rep, stage=contact, version=1)

    assert column_titles(contact) == ["X", "A"]


def test_reorder_within_a_column(rep, team_a):
    stage = stage_named("Prospecting")
    a, _b, c = (DealFactory(owner=rep, title=t) for t in "ABC")

    reorder(deal=c, by=rep, version=1, position=0)
    reorder(deal=a, by=rep, version=1, position=2)

    assert column_titles(stage) == ["C", "B", "A"]
    assert not StageChange.objects.exists()


def test_reorder_when_neighbours_have_no_gap_left_renumbers_the_column(rep, team_a):
    stage = stage_named("Prospecting")
    for i, title in enumerate("ABC"):
        DealFactory(owner=rep, title=title, position=i)  # no room between them
    moving = DealFactory(owner=rep, title="X", position=100)

    reorder(deal=moving, by=rep, version=1, position=1)

    assert column_titles(stage) == ["A", "X", "B", "C"]


def test_index_counts_only_the_cards_the_mover_can_see(rep, teammate, outsider, team_a, team_b):
    contact = stage_named("Contact")
    DealFactory(owner=rep, stage=contact, title="Mine 1")
    DealFactory(owner=outsider, stage=contact, title="Hidden")
    DealFactory(owner=rep, stage=contact, title="Mine 2")
    moving = DealFactory(owner=rep, title="X")

    move_to_index(deal=moving, by=rep, stage=contact, version=1, position=1)

    visible = [t for t in column_titles(contact) if t != "Hidden"]
    assert visible == ["Mine 1", "X", "Mine 2"]


# --- won, lost, reopen ----------------------------------------------------------------------------


def test_mark_won_moves_into_the_won_stage(rep, team_a):
    deal = DealFactory(owner=rep)

    won = services.mark_won(deal=deal, by=rep)

    assert (won.stage.kind, won.status) == (Stage.Kind.WON, Deal.Status.WON)


def test_mark_won_without_amount_asks_for_it(rep, team_a):
    deal = DealFactory(owner=rep, amount=None)

    with pytest.raises(MissingRequiredFields) as refused:
        services.mark_won(deal=deal, by=rep)
    assert refused.value.fields == ["amount"]

    won = services.mark_won(deal=deal, by=rep, amount=Decimal("1200"))
    assert (won.status, won.amount) == (Deal.Status.WON, Decimal("1200"))


def test_mark_lost_needs_a_reason(rep, team_a):
    deal = DealFactory(owner=rep)

    with pytest.raises(DomainError) as refused:
        services.mark_lost(deal=deal, by=rep, reason=None)

    assert refused.value.field == "lost_reason"
    deal.refresh_from_db()
    assert deal.status == Deal.Status.OPEN


def test_mark_lost_keeps_the_stage_it_was_lost_in(rep, team_a):
    deal = DealFactory(owner=rep, stage=stage_named("Proposal"))

    lost = services.mark_lost(deal=deal, by=rep, reason=lost_reason_entry("Went with a competitor"))

    assert (lost.status, lost.stage.name) == (Deal.Status.LOST, "Proposal")
    assert lost.lost_reason_text == "Went with a competitor"
    assert lost.lost_at is not None
    assert FieldChange.objects.filter(deal=deal, field="status", new_value="lost").exists()


def test_reopen_brings_a_lost_deal_back_in_the_same_stage(rep, team_a):
    deal = DealFactory(owner=rep, stage=stage_named("Proposal"))
    lost = services.mark_lost(deal=deal, by=rep, reason=lost_reason_entry("Budget"))

    reopened = services.reopen_deal(deal=lost, by=rep)

    assert (reopened.status, reopened.stage.name) == (Deal.Status.OPEN, "Proposal")
    assert (reopened.lost_at, reopened.lost_reason, reopened.lost_reason_detail) == (None, None, "")


def test_reopen_of_an_open_deal_is_refused(rep, team_a):
    with pytest.raises(InvalidTransition):
        services.reopen_deal(deal=DealFactory(owner=rep), by=rep)


# --- create and update ------------------------------------------------------------------------


def test_create_deal_lands_on_top_of_the_first_stage_with_history(rep, team_a):
    DealFactory(owner=rep, title="Older")

    deal = services.create_deal(by=rep, title="New one", amount=Decimal("10"))

    assert deal.stage.name == "Prospecting"
    assert column_titles(deal.stage) == ["New one", "Older"]
    assert StageChange.objects.filter(deal=deal, from_stage=None).count() == 1


def test_rep_cannot_give_a_deal_to_an_outsider(rep, outsider, team_a, team_b):
    with pytest.raises(DomainError) as refused:
        services.create_deal(by=rep, title="Sneaky", owner=outsider)
    assert refused.value.field == "owner"


def test_update_records_tracked_changes_and_counts_close_date_pushes(rep, team_a):
    today = timezone.localdate()
    deal = DealFactory(owner=rep, expected_close_date=today)

    for days in (10, 20, 5):
        deal = services.update_deal(
            deal=deal, by=rep, changes={"expected_close_date": today + dt.timedelta(days=days)}
        )

    assert deal.close_date_pushes == 2  # pulled in once, pushed out twice
    assert deal.version == 4
    assert FieldChange.objects.filter(deal=deal, field="expected_close_date").count() == 3


def test_update_refuses_stage_and_status(rep, team_a):
    deal = DealFactory(owner=rep)

    with pytest.raises(DomainError) as refused:
        services.update_deal(deal=deal, by=rep, changes={"status": "won"})
    assert refused.value.field == "status"


def test_manager_reassigning_a_deal_notifies_the_new_owner(manager, rep, teammate, team_a):
    deal = DealFactory(owner=rep)

    services.update_deal(deal=deal, by=manager, changes={"owner": teammate})

    note = teammate.notifications.get()
    assert note.kind == "assigned"
    assert note.deal == deal


# --- stages -----------------------------------------------------------------------------------


def test_deleting_a_stage_with_deals_needs_a_destination(admin_user):
    proposal = stage_named("Proposal")
    DealFactory(stage=proposal)

    with pytest.raises(DomainError) as refused:
        services.delete_stage(stage=proposal, by=admin_user)

    assert refused.value.field == "destination"
    assert Stage.objects.filter(pk=proposal.pk).exists()


def test_deleting_a_stage_moves_its_deals_and_keeps_history(admin_user):
    proposal, contact = stage_named("Proposal"), stage_named("Contact")
    deals = [DealFactory(stage=proposal) for _ in range(3)]

    moved = services.delete_stage(stage=proposal, by=admin_user, destination=contact)

    assert moved == 3
    assert all(d.stage_id == contact.pk for d in Deal.objects.filter(pk__in=[d.pk for d in deals]))
    history = StageChange.objects.filter(deal__in=deals)
    assert history.count() == 3
    assert set(history.values_list("from_stage_name", flat=True)) == {"Proposal"}
    orders = list(default_pipeline().stages.order_by("order").values_list("order", flat=True))
    assert orders == list(range(1, 7))


def test_only_admins_configure_stages(manager):
    with pytest.raises(NotAllowed):
        services.update_stage(stage=stage_named("Contact"), by=manager, changes={"probability": 5})


def test_unknown_required_field_is_refused(admin_user):
    with pytest.raises(DomainError) as refused:
        services.update_stage(
            stage=stage_named("Contact"), by=admin_user, changes={"required_fields": ["salary"]}
        )
    assert refused.value.field == "required_fields"


def test_reorder_stages_puts_them_in_the_given_order(admin_user):
    pipeline = default_pipeline()
    ids = list(pipeline.stages.order_by("-order").values_list("pk", flat=True))

    stages = services.reorder_stages(pipeline=pipeline, by=admin_user, stage_ids=ids)

    assert [s.pk for s in stages] == ids


def test_reorder_stages_must_name_every_stage_once(admin_user):
    pipeline = default_pipeline()
    ids = list(pipeline.stages.values_list("pk", flat=True))[:-1]

    with pytest.raises(DomainError):
        services.reorder_stages(pipeline=pipeline, by=admin_user, stage_ids=ids)


# --- refusals of won / lost / reopen / reorder: each leaves the deal as it was -----------------


def stored(deal):
    """What the database holds for the deal, and how much history it has."""
    row = Deal.objects.get(pk=deal.pk)
    return {
        "status": row.status,
        "stage": row.stage_id,
        "version": row.version,
        "position": row.position,
        "amount": row.amount,
        "won_at": row.won_at,
        "lost_at": row.lost_at,
        "lost_reason": row.lost_reason_text,
        "moves": StageChange.objects.filter(deal=deal).count(),
        "field_changes": FieldChange.objects.filter(deal=deal).count(),
    }


def lost_deal(owner, **kwargs):
    return services.mark_lost(
        deal=DealFactory(owner=owner, stage=stage_named("Proposal"), **kwargs),
        by=owner,
        reason=lost_reason_entry("Budget cut"),
    )


def test_mark_won_of_a_lost_deal_is_refused_and_changes_nothing(rep, team_a):
    deal = lost_deal(rep, amount=None)
    before = stored(deal)

    with pytest.raises(InvalidTransition):
        services.mark_won(deal=deal, by=rep, amount=Decimal("900"))

    assert stored(deal) == before
    assert before["status"] == Deal.Status.LOST
    assert before["amount"] is None


def test_mark_won_of_a_deal_already_won_is_refused_and_changes_nothing(rep, team_a):
    deal = services.mark_won(deal=DealFactory(owner=rep), by=rep)
    before = stored(deal)

    with pytest.raises(InvalidTransition):
        services.mark_won(deal=deal, by=rep)

    assert stored(deal) == before
    assert before["status"] == Deal.Status.WON


def test_mark_lost_of_a_deal_already_lost_is_refused_and_keeps_the_first_reason(rep, team_a):
    deal = lost_deal(rep)
    before = stored(deal)

    with pytest.raises(InvalidTransition):
        services.mark_lost(deal=deal, by=rep, reason=lost_reason_entry("Another reason"))

    assert stored(deal) == before
    assert before["lost_reason"] == "Budget cut"


@pytest.mark.parametrize(
    "action",
    [
        lambda deal, by: services.mark_won(deal=deal, by=by, version=1),
        lambda deal, by: services.mark_lost(
            deal=deal, by=by, reason=lost_reason_entry("Late"), version=1
        ),
        lambda deal, by: reorder(deal=deal, by=by, version=1, position=0),
    ],
    ids=["mark_won", "mark_lost", "reorder"],
)
def test_won_lost_and_reorder_with_a_stale_version_are_refused(rep, team_a, action):
    deal = DealFactory(owner=rep, version=4, position=5000)
    DealFactory(owner=rep, position=0)  # a card above, so a reorder to the top would move it
    before = stored(deal)

    with pytest.raises(StaleVersion) as refused:
        action(deal, rep)

    assert refused.value.current.version == 4
    assert stored(deal) == before


def test_reopen_with_a_stale_version_is_refused(rep, team_a):
    deal = lost_deal(rep)
    before = stored(deal)

    with pytest.raises(StaleVersion):
        services.reopen_deal(deal=deal, by=rep, version=deal.version - 1)

    assert stored(deal) == before
    assert before["status"] == Deal.Status.LOST


def test_mark_won_in_a_pipeline_without_a_won_stage_is_refused_and_changes_nothing(rep, team_a):
    pipeline = PipelineFactory(name="Renewals")
    first = StageFactory(pipeline=pipeline, order=1)
    StageFactory(pipeline=pipeline, order=2)
    deal = DealFactory(owner=rep, pipeline=pipeline, stage=first, amount=None)
    before = stored(deal)

    with pytest.raises(DomainError) as refused:
        services.mark_won(deal=deal, by=rep, amount=Decimal("700"))

    assert refused.value.field == "stage"
    assert "no won stage" in refused.value.message
    assert stored(deal) == before  # the amount given with it is not kept either


@pytest.mark.parametrize("who", ["teammate", "outsider", "other_manager"])
@pytest.mark.parametrize(
    ("action", "starts_lost"),
    [
        (lambda deal, by: services.mark_won(deal=deal, by=by), False),
        (
            lambda deal, by: services.mark_lost(
                deal=deal, by=by, reason=lost_reason_entry("Not mine")
            ),
            False,
        ),
        (lambda deal, by: services.reopen_deal(deal=deal, by=by), True),
    ],
    ids=["mark_won", "mark_lost", "reopen"],
)
def test_won_lost_and_reopen_by_someone_who_may_not_write_the_deal_are_refused(
    people, who, action, starts_lost
):
    owner = people["rep"]
    deal = lost_deal(owner) if starts_lost else DealFactory(owner=owner)
    before = stored(deal)

    with pytest.raises(NotAllowed):
        action(deal, people[who])

    assert stored(deal) == before
