"""Every write in the Django admin is a service call: the services' rules, history and events
hold there too, and a refusal is a form error or a message that changes nothing (never a 500)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, Team, User
from contacts.models import Lead
from deals import live
from deals.models import Deal, Pipeline, StageChange
from followups.models import Activity, Notification
from forecasting.models import Quota
from tests.admin_forms import change_form_data, staff_client
from tests.factories import (
    ActivityFactory,
    DealFactory,
    LeadFactory,
    NotificationFactory,
    PipelineFactory,
    StageChangeFactory,
    default_pipeline,
    stage_named,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(admin_user):
    return staff_client(admin_user)


def admin_url(model, view, *args):
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def post_change(client, record, **changes):
    """Open the record's change page and save it with `changes`."""
    url = admin_url(type(record), "change", record.pk)
    return client.post(url, change_form_data(client.get(url), **changes))


def post_add(client, model, **values):
    url = admin_url(model, "add")
    return client.post(url, change_form_data(client.get(url), **values))


def form_errors(response):
    assert response.status_code == 200, response.status_code
    return response.context["adminform"].form.errors


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- users and teams ---------------------------------------------------------------------------


def test_a_user_added_in_the_admin_gets_the_role_and_a_hashed_password(admin_client):
    response = post_add(
        admin_client,
        User,
        username="mia",
        password1="correct-horse-battery-9",
        password2="correct-horse-battery-9",
        role=Role.MANAGER,
    )

    assert response.status_code == 302, form_errors(response)
    mia = User.objects.get(username="mia")
    assert mia.role == Role.MANAGER
    assert mia.check_password("correct-horse-battery-9")


def test_role_and_teams_of_a_user_change_in_the_admin(admin_client, people, team_b):
    rep = people["rep"]

    response = post_change(admin_client, rep, role=Role.MANAGER, teams=[team_b.pk])

    assert response.status_code == 302, form_errors(response)
    rep = User.objects.get(pk=rep.pk)
    assert rep.role == Role.MANAGER
    assert list(rep.teams.all()) == [team_b]
    assert set(rep.groups.values_list("name", flat=True)) == {Role.MANAGER}


def test_the_password_page_sets_a_validated_password_through_the_service(admin_client, rep):
    url = reverse("admin:auth_user_password_change", args=[rep.pk])

    weak = admin_client.post(url, {"password1": "123", "password2": "123"})
    strong = admin_client.post(
        url, {"password1": "a-long-Passphrase-9", "password2": "a-long-Passphrase-9"}
    )

    assert weak.status_code == 200
    assert weak.context["form"].errors
    assert strong.status_code == 302
    assert strong["Location"] == admin_url(User, "change", rep.pk)
    assert User.objects.get(pk=rep.pk).check_password("a-long-Passphrase-9")


def test_password_sign_in_is_not_disabled_in_the_admin(admin_client, rep):
    url = reverse("admin:auth_user_password_change", args=[rep.pk])

    response = admin_client.post(url, {"usable_password": "false", "unset-password": "1"})

    assert response.status_code == 302
    assert messages_of(response) == ["To stop someone signing in, deactivate the user."]
    assert User.objects.get(pk=rep.pk).has_usable_password()


def test_a_team_name_taken_in_another_case_is_a_form_error_and_adds_nothing(admin_client, team_a):
    response = post_add(admin_client, Team, name="team a")

    assert form_errors(response)["name"] == ["A team with that name already exists."]
    assert Team.objects.count() == 1


def test_team_managers_and_members_change_in_the_admin(admin_client, people, team_b):
    response = post_change(
        admin_client,
        team_b,
        managers=[people["manager"].pk],
        members=[people["outsider"].pk, people["teammate"].pk],
    )

    assert response.status_code == 302, form_errors(response)
    assert list(team_b.managers.all()) == [people["manager"]]
    assert set(team_b.members.all()) == {people["outsider"], people["teammate"]}


def test_a_user_whose_notifications_go_with_them_is_deleted_in_the_admin(admin_client, rep):
    NotificationFactory(user=rep)

    response = admin_client.post(admin_url(User, "delete", rep.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(pk=rep.pk).exists()
    assert not Notification.objects.exists()


# --- pipelines, stages, deals ------------------------------------------------------------------


def test_a_pipeline_made_default_in_the_admin_takes_over_the_flag(admin_client):
    old_default = default_pipeline()
    partners = PipelineFactory(name="Partners")

    response = post_change(admin_client, partners, is_default=True)

    assert response.status_code == 302, form_errors(response)
    assert list(Pipeline.objects.filter(is_default=True)) == [partners]
    old_default.refresh_from_db()
    assert not old_default.is_default


def test_the_stages_of_a_pipeline_are_read_only_there_with_a_link_to_each(admin_client):
    pipeline = default_pipeline()

    response = admin_client.get(admin_url(Pipeline, "change", pipeline.pk))

    (stages,) = response.context["inline_admin_formsets"]
    assert not stages.has_add_permission
    assert not stages.has_change_permission
    assert not stages.has_delete_permission
    page = response.content.decode()
    for stage in pipeline.stages.all():
        assert admin_url(type(stage), "change", stage.pk) in page


def stage_names(pipeline):
    return list(pipeline.stages.order_by("order").values_list("name", flat=True))


def test_a_stage_added_in_the_admin_at_a_taken_place_moves_the_others_down(admin_client):
    pipeline = default_pipeline()

    response = post_add(
        admin_client,
        type(stage_named("Contact")),
        pipeline=pipeline.pk,
        order=2,
        name="Discovery",
        kind="open",
        probability=15,
        required_fields=["amount"],
    )

    assert response.status_code == 302, form_errors(response)
    assert stage_names(pipeline)[:3] == ["Prospecting", "Discovery", "Qualification"]
    assert pipeline.stages.get(name="Discovery").required_fields == ["amount"]


def test_a_stage_moved_to_another_place_in_the_admin_shifts_the_others(admin_client):
    pipeline = default_pipeline()

    response = post_change(admin_client, stage_named("Proposal"), order=1)

    assert response.status_code == 302, form_errors(response)
    assert stage_names(pipeline)[:3] == ["Proposal", "Prospecting", "Qualification"]


def test_a_stage_holding_deals_is_not_deleted_in_the_admin(admin_client, rep):
    stage = stage_named("Contact")
    DealFactory(owner=rep, stage=stage)

    admin_client.post(admin_url(type(stage), "delete", stage.pk), {"post": "yes"})

    assert "Contact" in stage_names(default_pipeline())


def test_a_deal_deleted_in_the_admin_goes_with_its_history(admin_client, rep):
    deal = DealFactory(owner=rep)
    StageChangeFactory(deal=deal)
    NotificationFactory(user=rep, deal=deal)

    response = admin_client.post(admin_url(Deal, "delete", deal.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Deal.objects.filter(pk=deal.pk).exists()
    assert not StageChange.objects.filter(deal_id=deal.pk).exists()


def test_deals_selected_in_the_admin_are_deleted_through_the_service(
    admin_client, rep, django_capture_on_commit_callbacks
):
    deals = DealFactory.create_batch(3, owner=rep)
    pipeline = default_pipeline()
    before = live.current_version(pipeline.pk)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            admin_url(Deal, "changelist"),
            {"action": "delete_selected", "_selected_action": [d.pk for d in deals], "post": "yes"},
        )

    assert response.status_code == 302
    assert not Deal.objects.exists()
    # Each deletion was announced (`DealDeleted`): open boards drop the cards.
    assert live.changes_since(pipeline.pk, before) == (before + 3, [deals[0].stage_id])


def test_a_deal_given_to_someone_in_the_admin_notifies_them(admin_client, rep, teammate):
    deal = DealFactory(owner=rep)

    response = post_change(admin_client, deal, owner=teammate.pk)

    assert response.status_code == 302, form_errors(response)
    assert Notification.objects.filter(user=teammate, deal=deal, kind="assigned").exists()


# --- contacts, activities, quotas --------------------------------------------------------------


def test_a_lead_edited_in_the_admin_is_scored_again(admin_client, rep):
    lead = LeadFactory(owner=rep, authority=False, score=0, score_breakdown=[])

    response = post_change(admin_client, lead, authority=True)

    assert response.status_code == 302, form_errors(response)
    lead = Lead.objects.get(pk=lead.pk)
    assert ("Decision maker equals yes", 20) in [
        (p["rule"], p["points"]) for p in lead.score_breakdown
    ]
    assert lead.score == sum(part["points"] for part in lead.score_breakdown) > 20


def test_a_lead_is_disqualified_in_the_admin_only_with_a_reason(admin_client, rep):
    lead = LeadFactory(owner=rep)

    refused = post_change(admin_client, lead, status="disqualified", disqualified_reason="")
    done = post_change(admin_client, lead, status="disqualified", disqualified_reason="No budget")

    assert form_errors(refused)["__all__"] == ["Say why the lead is disqualified."]
    assert done.status_code == 302, form_errors(done)
    lead.refresh_from_db()
    assert lead.status == Lead.Status.DISQUALIFIED
    assert lead.disqualified_reason == "No budget"


def test_a_converted_lead_is_not_disqualified_in_the_admin(admin_client, rep):
    lead = LeadFactory(owner=rep, status="qualified", converted_at=timezone.now())

    response = post_change(admin_client, lead, status="disqualified", disqualified_reason="Gone")

    assert form_errors(response)["__all__"] == ["This lead was already converted into a deal."]
    lead.refresh_from_db()
    assert lead.status == Lead.Status.QUALIFIED


def test_an_activity_logged_done_in_the_admin_refreshes_its_deal(admin_client, rep):
    deal = DealFactory(owner=rep, stalled=True, stall_reasons=["no_activity"])

    response = post_add(
        admin_client,
        Activity,
        kind="call",
        subject="Called the buyer",
        owner=rep.pk,
        deal=deal.pk,
        done=True,
    )

    assert response.status_code == 302, form_errors(response)
    activity = Activity.objects.get(subject="Called the buyer")
    assert activity.done_at is not None
    deal.refresh_from_db()
    assert deal.last_activity_at == activity.done_at
    assert not deal.stalled


def test_an_activity_rescheduled_and_done_in_the_admin_goes_through_the_services(admin_client, rep):
    activity = ActivityFactory(owner=rep, remind_at=timezone.now(), reminded_at=timezone.now())
    later = timezone.now() + dt.timedelta(days=2)

    response = post_change(
        admin_client, activity, remind_at_0=later.date(), remind_at_1="09:00:00", done=True
    )

    assert response.status_code == 302, form_errors(response)
    activity.refresh_from_db()
    assert activity.reminded_at is None  # the new reminder time armed it again
    assert activity.done_at is not None


def test_a_quota_not_starting_a_month_is_a_form_error_and_adds_nothing(admin_client, rep):
    response = post_add(
        admin_client,
        Quota,
        user=rep.pk,
        period="month",
        period_start="2026-01-15",
        amount="5000",
    )

    assert form_errors(response)["period_start"] == ["Use the first day of the month."]
    assert not Quota.objects.exists()


def test_a_quota_amount_changes_in_the_admin_and_its_target_does_not(admin_client, rep):
    quota = Quota.objects.create(user=rep, period_start="2026-01-01", amount=Decimal("5000"))
    page = admin_client.get(admin_url(Quota, "change", quota.pk))

    response = post_change(admin_client, quota, amount="7500.00")

    assert set(page.context["adminform"].form.fields) == {"amount"}
    assert response.status_code == 302, form_errors(response)
    quota.refresh_from_db()
    assert quota.amount == Decimal("7500.00")


def test_notifications_are_read_only_in_the_admin(admin_client, rep):
    notification = NotificationFactory(user=rep)

    assert admin_client.get(admin_url(Notification, "add")).status_code == 403
    delete = admin_client.post(admin_url(Notification, "delete", notification.pk), {"post": "yes"})
    assert delete.status_code == 403
    assert Notification.objects.filter(pk=notification.pk).exists()
