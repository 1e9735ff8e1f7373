"""The Django admin: every model registered and usable by admins, closed to everyone else."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from deals.models import FieldChange, StageChange
from forecasting.models import ForecastSnapshot, Quota
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    NotificationFactory,
    StageChangeFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

CRM_APPS = {"accounts", "contacts", "deals", "followups", "forecasting"}


@pytest.fixture
def admin_client(admin_user):
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def one_of_everything(rep, admin_user):
    deal = DealFactory(owner=rep, company=CompanyFactory(owner=rep))
    StageChangeFactory(deal=deal)
    FieldChange.objects.create(
        deal=deal, field="amount", old_value="1", new_value="2", at=deal.stage_entered_at
    )
    ActivityFactory(owner=rep, deal=deal)
    ContactFactory(owner=rep)
    LeadFactory(owner=rep)
    NotificationFactory(user=rep, deal=deal)
    TeamFactory(members=[rep])
    Quota.objects.create(user=rep, period_start="2026-01-01", amount=Decimal("5000"))
    ForecastSnapshot.objects.create(
        taken_on="2026-01-02",
        deal=deal,
        pipeline=deal.pipeline,
        stage=deal.stage,
        owner=rep,
        status="open",
        amount=deal.amount,
        probability=10,
    )
    return deal


def crm_models():
    return [m for m in admin.site._registry if m._meta.app_label in CRM_APPS]


def test_every_crm_model_is_registered_in_the_admin():
    registered = {m.__name__ for m in crm_models()}

    assert registered >= {
        "User",
        "Team",
        "Company",
        "Contact",
        "Lead",
        "Pipeline",
        "Stage",
        "Deal",
        "StageChange",
        "FieldChange",
        "Activity",
        "Notification",
        "Quota",
        "ForecastSnapshot",
    }


def test_an_admin_opens_the_list_search_and_change_page_of_every_model(
    admin_client, one_of_everything
):
    for model in crm_models():
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert admin_client.get(changelist).status_code == 200, changelist
        assert admin_client.get(changelist, {"q": "a"}).status_code == 200, changelist
        obj = model._default_manager.first()
        change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
        assert admin_client.get(change).status_code == 200, change


def test_staff_who_are_not_crm_admins_get_no_admin_pages(rep, one_of_everything):
    rep.is_staff = True
    rep.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(rep)

    assert "Deals" not in client.get("/admin/").content.decode()
    assert client.get(reverse("admin:deals_deal_changelist")).status_code == 403


def test_deals_are_not_added_in_the_admin_but_on_the_board_or_the_api(admin_client):
    assert admin_client.get(reverse("admin:deals_deal_add")).status_code == 403


def test_editing_a_deal_in_the_admin_goes_through_the_service_and_its_history(
    admin_client, one_of_everything
):
    deal = one_of_everything
    url = reverse("admin:deals_deal_change", args=[deal.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(
        amount="2500.00",
        **{
            "stage_changes-TOTAL_FORMS": "1",
            "stage_changes-INITIAL_FORMS": "1",
            "stage_changes-MIN_NUM_FORMS": "0",
            "stage_changes-MAX_NUM_FORMS": "1000",
            "stage_changes-0-id": str(deal.stage_changes.get().pk),
            "stage_changes-0-deal": str(deal.pk),
        },
    )

    response = admin_client.post(url, data)

    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    deal.refresh_from_db()
    assert deal.amount == Decimal("2500.00")
    assert deal.version == 2
    assert deal.field_changes.filter(field="amount", new_value="2500.00").exists()


def test_the_stage_and_status_of_a_deal_are_read_only_in_the_admin(admin_client, one_of_everything):
    url = reverse("admin:deals_deal_change", args=[one_of_everything.pk])
    form = admin_client.get(url).context["adminform"].form

    assert "stage" not in form.fields
    assert "status" not in form.fields
    assert "version" not in form.fields


def test_history_rows_cannot_be_changed_in_the_admin(admin_client, one_of_everything):
    change = StageChange.objects.first()

    assert admin_client.get(reverse("admin:deals_stagechange_add")).status_code == 403
    url = reverse("admin:deals_stagechange_delete", args=[change.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert StageChange.objects.filter(pk=change.pk).exists()


def test_the_deal_list_costs_the_same_queries_for_5_or_50_deals(
    admin_client, rep, django_assert_max_num_queries
):
    DealFactory.create_batch(5, owner=rep, company=CompanyFactory(owner=rep))
    url = reverse("admin:deals_deal_changelist")
    admin_client.get(url)  # warm caches (content types, sessions)
    with django_assert_max_num_queries(12) as small:
        admin_client.get(url)
    DealFactory.create_batch(45, owner=rep, company=CompanyFactory(owner=rep))

    with django_assert_max_num_queries(len(small.captured_queries)):
        admin_client.get(url)


def test_the_user_list_shows_each_role_without_a_query_per_user(
    admin_client, people, django_assert_max_num_queries
):
    url = reverse("admin:accounts_user_changelist")
    admin_client.get(url)
    # 13: one of them asks whether the admin uses two-factor sign-in (accounts/admin_site.py).
    with django_assert_max_num_queries(13) as few:
        response = admin_client.get(url)
    UserFactory.create_batch(20, role="rep")

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(url)
    assert "manager" in response.content.decode()


def test_deal_admin_lists_the_deal_title(admin_client, one_of_everything):
    page = admin_client.get(reverse("admin:deals_deal_changelist")).content.decode()

    assert one_of_everything.title in page


def _filter_spec(changelist, field_path):
    return next(spec for spec in changelist.filter_specs if spec.field_path == field_path)


def test_every_admin_list_opens_with_one_of_its_filters_applied(admin_client, one_of_everything):
    for model in crm_models():
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        changelist = admin_client.get(url).context["cl"]
        for spec in changelist.filter_specs:
            # The first choice not already selected: a real value, not "All" / "Any date".
            choice = next((c for c in spec.choices(changelist) if not c["selected"]), None)
            if choice is None:
                continue
            response = admin_client.get(url + choice["query_string"])
            # An unknown or refused lookup would redirect with ?e=1 or answer 400.
            assert response.status_code == 200, (url, choice["query_string"])


def test_the_team_list_filters_by_manager_and_member_and_keeps_the_member_counts(
    admin_client, people, team_a, team_b
):
    url = reverse("admin:accounts_team_changelist")

    by_manager = admin_client.get(url, {"managers__id__exact": people["manager"].pk})
    assert by_manager.status_code == 200
    shown = list(by_manager.context["cl"].result_list)
    assert shown == [team_a]
    assert shown[0].member_total == 2  # rep and teammate, not multiplied by the filter's join

    by_member = admin_client.get(url, {"members__id__exact": people["outsider"].pk})
    assert list(by_member.context["cl"].result_list) == [team_b]

    # The manager filter offers the people who manage a team, not every user.
    offered = {pk for pk, _ in _filter_spec(by_manager.context["cl"], "managers").lookup_choices}
    assert offered == {people["manager"].pk, people["other_manager"].pk}


def test_the_contact_list_filters_by_company_industry_owner_and_date(admin_client, people):
    rep, outsider = people["rep"], people["outsider"]
    banker = ContactFactory(owner=rep, company=CompanyFactory(owner=rep, industry="Banking"))
    grocer = ContactFactory(owner=outsider, company=CompanyFactory(owner=rep, industry="Retail"))
    url = reverse("admin:contacts_contact_changelist")

    by_industry = admin_client.get(url, {"company__industry": "Banking"})
    assert by_industry.status_code == 200
    assert list(by_industry.context["cl"].result_list) == [banker]

    by_owner = admin_client.get(url, {"owner__id__exact": outsider.pk})
    assert list(by_owner.context["cl"].result_list) == [grocer]
    offered = {pk for pk, _ in _filter_spec(by_owner.context["cl"], "owner").lookup_choices}
    assert offered == {rep.pk, outsider.pk}  # only people who own contacts

    Contact.objects.filter(pk=grocer.pk).update(created_at=timezone.now() - dt.timedelta(days=60))
    changelist = admin_client.get(url).context["cl"]  # no other filter carried along
    past_week = next(
        choice
        for choice in _filter_spec(changelist, "created_at").choices(changelist)
        if choice["display"] == "Past 7 days"
    )
    recent = admin_client.get(url + past_week["query_string"])
    assert list(recent.context["cl"].result_list) == [banker]
