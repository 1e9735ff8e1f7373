"""Stall detection: which deals are flagged, why, who is told and when the flag goes away."""

import datetime as dt
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from deals.models import Deal
from deals.services import move_deal, update_deal, update_stage
from deals.stalls import BATCH_ABOVE, detect_stalled_deals
from followups.models import Notification
from followups.services import log_activity
from tests.factories import ActivityFactory, stage_named
from tests.jobs.conftest import days_ago

pytestmark = pytest.mark.django_db


def flagged(deal: Deal) -> Deal:
    deal.refresh_from_db()
    return deal


def stall_notices(user, deal=None):
    notices = Notification.objects.filter(user=user, kind=Notification.Kind.STALLED)
    return notices.filter(deal=deal) if deal else notices


def test_a_deal_idle_past_its_stage_threshold_is_flagged_stalled(idle_deal):
    deal = idle_deal(15)  # Prospecting stalls after 14 days

    result = detect_stalled_deals()

    deal = flagged(deal)
    assert deal.stalled
    assert "idle" in deal.stall_reasons
    assert deal.stalled_since is not None
    assert result.started == 1


def test_a_deal_within_its_threshold_is_left_alone(idle_deal):
    deal = idle_deal(13)
    detect_stalled_deals()
    assert not flagged(deal).stalled


def test_a_recent_activity_keeps_an_old_deal_from_stalling(idle_deal):
    deal = idle_deal(40, last_activity_at=days_ago(2))
    detect_stalled_deals()
    assert not flagged(deal).stalled


def test_an_old_activity_does_not_keep_it_from_stalling(idle_deal):
    deal = idle_deal(40, last_activity_at=days_ago(20))
    detect_stalled_deals()
    assert flagged(deal).stalled


def test_a_recent_move_keeps_a_deal_with_old_activity_from_stalling(idle_deal):
    deal = idle_deal(3, last_activity_at=days_ago(30))
    detect_stalled_deals()
    assert not flagged(deal).stalled


def test_each_stage_uses_its_own_threshold(idle_deal):
    in_negotiation = idle_deal(11, stage=stage_named("Negotiation"))  # stalls after 10 days
    in_contact = idle_deal(11, stage=stage_named("Contact"))  # stalls after 21 days
    detect_stalled_deals()
    assert flagged(in_negotiation).stalled
    assert not flagged(in_contact).stalled


def test_a_stage_without_threshold_never_stalls(idle_deal, admin_user):
    stage = stage_named("Prospecting")
    stage.stall_days = None
    stage.save()
    deal = idle_deal(400)
    detect_stalled_deals()
    assert not flagged(deal).stalled


def test_a_won_deal_in_post_sale_stalls_but_not_in_the_won_stage(idle_deal):
    post_sale = idle_deal(31, stage=stage_named("Post-sale"), status=Deal.Status.WON)
    closed = idle_deal(400, stage=stage_named("Closed"), status=Deal.Status.WON)
    detect_stalled_deals()
    assert flagged(post_sale).stalled
    assert not flagged(closed).stalled


def test_a_lost_deal_never_stalls(idle_deal):
    deal = idle_deal(100, status=Deal.Status.LOST)
    detect_stalled_deals()
    assert not flagged(deal).stalled


def test_reason_no_next_step_when_nothing_is_planned_and_next_step_is_empty(idle_deal):
    bare = idle_deal(15, next_step="")
    with_next_step = idle_deal(15, next_step="Send the proposal")
    with_planned_call = idle_deal(15, next_step="")
    ActivityFactory(deal=with_planned_call, owner=with_planned_call.owner, due_at=timezone.now())
    with_only_done_call = idle_deal(15, next_step="")
    ActivityFactory(deal=with_only_done_call, owner=with_only_done_call.owner, done_at=days_ago(20))

    detect_stalled_deals()

    assert "no_next_step" in flagged(bare).stall_reasons
    assert flagged(with_next_step).stall_reasons == ["idle"]
    assert flagged(with_planned_call).stall_reasons == ["idle"]
    assert "no_next_step" in flagged(with_only_done_call).stall_reasons


def test_reason_close_date_passed(idle_deal):
    late = idle_deal(15, next_step="x", expected_close_date=timezone.localdate() - dt.timedelta(1))
    on_time = idle_deal(15, next_step="x", expected_close_date=timezone.localdate())
    undated = idle_deal(15, next_step="x", expected_close_date=None)
    detect_stalled_deals()
    assert flagged(late).stall_reasons == ["idle", "close_date_passed"]
    assert flagged(on_time).stall_reasons == ["idle"]
    assert flagged(undated).stall_reasons == ["idle"]


def test_reason_close_date_pushed_three_times_or_more(idle_deal):
    pushed_thrice = idle_deal(15, next_step="x", close_date_pushes=3)
    pushed_twice = idle_deal(15, next_step="x", close_date_pushes=2)
    detect_stalled_deals()
    assert flagged(pushed_thrice).stall_reasons == ["idle", "close_date_pushed"]
    assert flagged(pushed_twice).stall_reasons == ["idle"]


def test_all_reasons_together(idle_deal):
    deal = idle_deal(
        15,
        next_step="",
        expected_close_date=timezone.localdate() - dt.timedelta(days=3),
        close_date_pushes=4,
    )
    detect_stalled_deals()
    assert flagged(deal).stall_reasons == [
        "idle",
        "no_next_step",
        "close_date_passed",
        "close_date_pushed",
    ]


def test_the_reasons_follow_the_deal_while_it_stays_stalled(idle_deal, rep):
    deal = idle_deal(15, next_step="")
    detect_stalled_deals()
    since = flagged(deal).stalled_since
    Deal.objects.filter(pk=deal.pk).update(next_step="Call back", close_date_pushes=3)

    result = detect_stalled_deals()

    deal = flagged(deal)
    assert deal.stall_reasons == ["idle", "close_date_pushed"]
    assert deal.stalled_since == since  # the same episode
    assert result.reasons_changed == 1


def test_moving_the_deal_clears_the_stall_at_once(idle_deal, rep):
    deal = idle_deal(15)
    detect_stalled_deals()
    deal = flagged(deal)
    move_deal(deal=deal, by=rep, stage=stage_named("Qualification"), version=deal.version)
    deal = flagged(deal)
    assert (deal.stalled, deal.stall_reasons, deal.stalled_since) == (False, [], None)


def test_logging_an_activity_clears_the_stall_at_once(idle_deal, rep):
    deal = idle_deal(15)
    detect_stalled_deals()
    log_activity(by=rep, kind="call", subject="Caught up", deal=flagged(deal), done=True)
    deal = flagged(deal)
    assert not deal.stalled
    detect_stalled_deals()
    assert not flagged(deal).stalled  # and the next sweep agrees


def test_raising_the_threshold_clears_deals_no_longer_idle_enough(idle_deal, admin_user):
    deal = idle_deal(15)
    detect_stalled_deals()
    stage = stage_named("Prospecting")
    stage.stall_days = 30
    stage.save()

    assert detect_stalled_deals().cleared == 1
    assert not flagged(deal).stalled


def test_changing_stall_days_queues_a_stall_check_after_commit(
    admin_user, django_capture_on_commit_callbacks
):
    stage = stage_named("Proposal")
    with (
        mock.patch("deals.tasks.detect_stalled_deals.apply_async") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        update_stage(stage=stage, by=admin_user, changes={"stall_days": 3})
        publish.assert_not_called()  # not before the commit
    publish.assert_called_once()


def test_the_owner_is_notified_once_per_stall_episode(idle_deal, rep):
    deal = idle_deal(15)

    detect_stalled_deals()
    detect_stalled_deals()

    notice = stall_notices(rep, deal).get()
    assert deal.title in notice.message
    assert "Prospecting" in notice.message

    # The deal gets worked on, then goes cold again: a new episode, a new notification.
    log_activity(by=rep, kind="call", subject="Chat", deal=flagged(deal), done=True)
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=days_ago(15))
    detect_stalled_deals()
    detect_stalled_deals()
    assert stall_notices(rep, deal).count() == 2


def test_managers_are_told_only_once_the_deal_is_idle_twice_the_threshold(
    idle_deal, rep, manager, other_manager, team_a, team_b
):
    deal = idle_deal(20)  # threshold 14: stalled, but not yet 28 days

    detect_stalled_deals()
    assert stall_notices(rep, deal).count() == 1
    assert not stall_notices(manager).exists()

    Deal.objects.filter(pk=deal.pk).update(stage_entered_at=days_ago(29))
    result = detect_stalled_deals()
    detect_stalled_deals()

    assert result.managers_notified == 1
    notice = stall_notices(manager, deal).get()
    assert deal.title in notice.message
    assert not stall_notices(other_manager).exists()  # another team's manager
    assert stall_notices(rep, deal).count() == 1  # the owner was already told


def test_a_deal_idle_twice_the_threshold_at_first_sight_tells_owner_and_managers(
    idle_deal, rep, manager, team_a
):
    deal = idle_deal(60)
    detect_stalled_deals()
    assert stall_notices(rep, deal).count() == 1
    assert stall_notices(manager, deal).count() == 1


def test_an_owner_without_a_team_has_no_manager_to_tell(idle_deal, outsider):
    deal = idle_deal(60, owner=outsider)  # no team fixture here
    result = detect_stalled_deals()
    assert result.managers_notified == 0
    assert stall_notices(outsider, deal).count() == 1


def test_the_sweep_runs_a_fixed_number_of_queries_whatever_the_number_of_deals(
    idle_deal, rep, manager, team_a, django_assert_max_num_queries
):
    for days in (1, 15, 16, 30, 60, 90) * 5:
        idle_deal(days)

    with django_assert_max_num_queries(30):
        result = detect_stalled_deals()

    assert result.started == 25
    assert Deal.objects.filter(stalled=True).count() == 25


def test_update_deal_setting_a_next_step_drops_that_reason(idle_deal, rep):
    deal = idle_deal(15, next_step="")
    detect_stalled_deals()
    deal = update_deal(deal=flagged(deal), by=rep, changes={"next_step": "Demo on Friday"})
    assert "no_next_step" not in flagged(deal).stall_reasons


# --- many stalls at once: one notification with the count --------------------------------------


def test_more_than_ten_new_stalls_tell_the_owner_once_with_the_count(idle_deal, rep, teammate):
    for _ in range(BATCH_ABOVE + 1):
        idle_deal(15)
    few = [idle_deal(15, owner=teammate) for _ in range(2)]

    result = detect_stalled_deals()

    notice = stall_notices(rep).get()
    assert notice.deal is None
    assert notice.message.startswith(f"{BATCH_ABOVE + 1} of your deals have stalled")
    assert {n.deal for n in stall_notices(teammate)} == set(few)  # two: one each
    assert result.owners_notified == 3
    assert not Deal.objects.filter(stalled=True, stall_notified=0).exists()
    assert detect_stalled_deals().owners_notified == 0  # told once per episode, batch or not


def test_ten_new_stalls_still_come_one_per_deal(idle_deal, rep):
    deals = [idle_deal(15) for _ in range(BATCH_ABOVE)]
    detect_stalled_deals()
    assert {n.deal for n in stall_notices(rep)} == set(deals)


def test_managers_hear_of_many_deals_idle_twice_the_threshold_once(idle_deal, rep, manager, team_a):
    for _ in range(BATCH_ABOVE + 1):
        idle_deal(60)

    detect_stalled_deals()

    notice = stall_notices(manager).get()
    assert notice.deal is None
    assert notice.message.startswith(f"{BATCH_ABOVE + 1} deals of your teams")
    assert stall_notices(rep).count() == 1  # the owner's own batch


@pytest.mark.parametrize(("who", "owner_filter"), [("rep", "owner=me"), ("manager", "owner=team")])
def test_opening_a_batched_notice_shows_those_deals_on_the_board(
    idle_deal, rep, manager, team_a, client, who, owner_filter
):
    for _ in range(BATCH_ABOVE + 1):
        idle_deal(60)
    detect_stalled_deals()
    user = {"rep": rep, "manager": manager}[who]
    notice = stall_notices(user).get()
    client.force_login(user)
    assert "Show them on the board" in client.get(reverse("notifications")).content.decode()

    response = client.post(reverse("notification-open", args=[notice.pk]))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('board')}?{owner_filter}&stalled=1"
    notice.refresh_from_db()
    assert notice.read_at is not None
