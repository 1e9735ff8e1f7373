"""manage.py seed_demo: idempotent, and its deals obey the pipeline's rules (SPEC §2, §3)."""

from collections import Counter
from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.db.models import Count, Max
from django.http import HttpRequest
from django.test import Client
from django.utils import timezone

from accounts.models import Team, User
from contacts.models import Company, Contact, Lead
from deals.models import Deal, FieldChange, Stage, StageChange
from deals.services import POSITION_GAP
from deals.stalls import detect_stalled_deals
from demo.demo_data import DEMO_PASSWORD, DEMO_USERNAMES
from followups.models import Activity
from forecasting.models import Quota
from tests.factories import DealFactory, UserFactory

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, Team, Company, Contact, Lead, Quota, Deal, StageChange, Activity)
    }


@pytest.fixture
def seeded():
    seed("--deals", "300")


def demo_deals():
    return Deal.objects.filter(owner__username__in=DEMO_USERNAMES).select_related("stage")


def test_a_second_run_creates_nothing_and_a_bigger_n_only_tops_deals_up(seeded):
    before = row_counts()

    seed("--deals", "300")
    assert row_counts() == before

    seed("--deals", "340")
    after = row_counts()
    assert after["Deal"] == before["Deal"] + 40
    assert {k: v for k, v in after.items() if k not in ("Deal", "StageChange", "Activity")} == {
        k: v for k, v in before.items() if k not in ("Deal", "StageChange", "Activity")
    }


def test_every_role_in_two_teams_and_the_printed_logins_work(seeded):
    north, south = Team.objects.get(name="Team North"), Team.objects.get(name="Team South")
    assert {u.username for u in north.managers.all()} == {"maria"}
    assert {u.username for u in north.members.all()} == {"rita", "ravi"}
    assert {u.username for u in south.managers.all()} == {"mark"}
    assert {u.username for u in south.members.all()} == {"sam", "sara"}
    roles = {u.username: u.role for u in User.objects.filter(username__in=DEMO_USERNAMES)}
    assert roles == {
        "admin": "admin",
        "maria": "manager",
        "mark": "manager",
        "rita": "rep",
        "ravi": "rep",
        "sam": "rep",
        "sara": "rep",
    }
    for username in ("admin", "maria", "rita"):
        assert Client().login(request=HttpRequest(), username=username, password=DEMO_PASSWORD), (
            username
        )


def test_the_command_prints_where_to_sign_in_and_the_demo_logins():
    output = seed("--deals", "20")

    assert "/accounts/login/" in output
    assert DEMO_PASSWORD in output
    for username in DEMO_USERNAMES:
        assert username in output


def test_a_rep_sees_the_deals_of_their_own_team_only(seeded):
    rita = User.objects.get(username="rita")

    owners = set(Deal.objects.visible_to(rita).values_list("owner__username", flat=True))

    assert owners == {"rita", "ravi"}


def test_deals_spread_over_every_stage_with_won_lost_and_stalled_ones(seeded):
    deals = list(demo_deals())
    stages = {d.stage.name for d in deals}
    statuses = Counter(d.status for d in deals)

    assert stages == set(
        Stage.objects.filter(pipeline__is_default=True).values_list("name", flat=True)
    )
    assert statuses[Deal.Status.OPEN]
    assert statuses[Deal.Status.WON]
    assert statuses[Deal.Status.LOST]
    assert any(d.stalled for d in deals)
    assert len({d.lost_reason for d in deals if d.status == Deal.Status.LOST}) > 3
    lost_in = {d.stage.name for d in deals if d.status == Deal.Status.LOST}
    assert len(lost_in) > 2  # lost in various stages, not all in one


def test_every_deal_status_agrees_with_its_stage(seeded):
    for deal in demo_deals():
        if deal.status == Deal.Status.LOST:
            assert deal.stage.kind == Stage.Kind.OPEN, deal
            assert deal.lost_reason, deal
            assert deal.lost_at, deal
            assert deal.won_at is None, deal
        elif deal.stage.kind == Stage.Kind.OPEN:
            assert deal.status == Deal.Status.OPEN, deal
            assert deal.won_at is None, deal
            assert deal.lost_at is None, deal
            assert deal.lost_reason_id is None, deal  # not the last lost deal's reason
        else:
            assert deal.status == Deal.Status.WON, deal
            assert deal.won_at is not None, deal
            assert deal.lost_reason_id is None, deal
            assert deal.amount is not None, deal


def test_stage_entered_at_is_the_time_of_the_last_stage_change(seeded):
    history = {}
    for change in StageChange.objects.filter(deal__in=demo_deals()).order_by("at", "id"):
        history.setdefault(change.deal_id, []).append(change)

    for deal in demo_deals():
        changes = history[deal.pk]
        assert changes[0].from_stage_id is None
        assert changes[-1].to_stage_id == deal.stage_id
        assert changes[-1].at == deal.stage_entered_at
        assert all(a.to_stage_id == b.from_stage_id for a, b in pairwise(changes))
        assert deal.created_at <= deal.stage_entered_at <= timezone.now()


def test_last_activity_at_is_the_latest_activity(seeded):
    latest = dict(
        Activity.objects.filter(deal__in=demo_deals(), done_at__isnull=False)
        .values("deal")
        .annotate(m=Max("done_at"))
        .values_list("deal", "m")
    )
    planned = dict(
        Activity.objects.filter(deal__in=demo_deals(), done_at__isnull=True)
        .values("deal")
        .annotate(m=Max("created_at"))
        .values_list("deal", "m")
    )

    for deal in demo_deals():
        candidates = [t for t in (latest.get(deal.pk), planned.get(deal.pk)) if t]
        assert deal.last_activity_at == (max(candidates) if candidates else None), deal


def test_history_reaches_back_about_18_months(seeded):
    oldest = demo_deals().order_by("created_at").first()

    assert (timezone.now() - oldest.created_at).days > 270


def test_positions_are_spaced_and_unique_within_each_column(seeded):
    clashes = (
        Deal.objects.values("stage", "position").annotate(n=Count("id")).filter(n__gt=1).exists()
    )

    assert not clashes
    assert all(p % POSITION_GAP == 0 for p in demo_deals().values_list("position", flat=True))


def test_no_reminder_in_the_past_is_left_to_fire_but_some_are_coming(seeded):
    now = timezone.now()
    planned = Activity.objects.filter(deal__in=demo_deals(), done_at__isnull=True)

    assert not planned.filter(remind_at__lte=now, reminded_at__isnull=True).exists()
    assert planned.filter(remind_at__gt=now).exists()


def test_every_rep_has_a_monthly_quota(seeded):
    for username in ("rita", "ravi", "sam", "sara"):
        assert (
            Quota.objects.filter(user__username=username, period=Quota.Period.MONTH).count() >= 18
        )


def test_reset_replaces_the_demo_data_and_leaves_other_records_alone(seeded):
    stranger = UserFactory(username="not-demo")
    kept = DealFactory(owner=stranger)
    old_ids = set(demo_deals().values_list("pk", flat=True))

    seed("--deals", "50", "--reset")

    assert demo_deals().count() == 50
    assert not old_ids & set(demo_deals().values_list("pk", flat=True))
    assert Deal.objects.filter(pk=kept.pk).exists()
    assert User.objects.filter(username="rita").exists()


def test_once_leaves_existing_demo_data_as_it_is(seeded):
    before = row_counts()

    output = seed("--deals", "900", "--once")

    assert row_counts() == before
    assert "already" in output


def test_the_stall_sweep_finds_every_demo_deal_flagged_as_it_would_flag_it(monkeypatch):
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    seed("--deals", "300")

    sweep = detect_stalled_deals()

    assert Deal.objects.filter(stalled=True).count() > 10
    assert (sweep.started, sweep.reasons_changed, sweep.cleared) == (0, 0, 0)


def test_won_lost_and_pushed_deals_carry_the_history_rows_of_those_changes(seeded):
    status_changes = {
        (change.deal_id, change.new_value): change.at
        for change in FieldChange.objects.filter(deal__in=demo_deals(), field="status")
    }
    pushes = Counter(
        change.deal_id
        for change in FieldChange.objects.filter(deal__in=demo_deals(), field="expected_close_date")
        if change.new_value > change.old_value
    )

    for deal in demo_deals():
        if deal.status == Deal.Status.WON:
            assert status_changes[(deal.pk, "won")] == deal.won_at, deal
        if deal.status == Deal.Status.LOST:
            assert status_changes[(deal.pk, "lost")] == deal.lost_at, deal
        assert pushes[deal.pk] == deal.close_date_pushes, deal
    assert any(deal.close_date_pushes for deal in demo_deals())


def test_a_year_of_daily_snapshots_fills_forecast_vs_actual_on_first_run(seeded, client):
    from forecasting.models import ForecastSnapshot

    today = timezone.localdate()
    days = set(ForecastSnapshot.objects.values_list("taken_on", flat=True).distinct())
    assert len(days) == 365
    assert min(days) == today - timezone.timedelta(days=364)
    assert max(days) == today
    client.force_login(User.objects.get(username="maria"))
    html = client.get("/forecast/panel/accuracy/").content.decode()
    assert 'data-table="accuracy"' in html
    rows = html.split('<table data-table="accuracy">', 1)[1].split("</table>", 1)[0]
    assert rows.count("<tr>") >= 7  # the header and at least six months, each with its snapshot
