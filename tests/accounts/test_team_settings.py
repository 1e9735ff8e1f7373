"""/settings/teams/: create, rename, managers and members, delete (explaining what goes)."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Team
from deals.models import Deal
from forecasting.models import Quota
from tests.clients import htmx_post, signed_in
from tests.factories import DealFactory

pytestmark = pytest.mark.django_db

PAGE = "/settings/teams/"


def team_form(**fields):
    return {f"team-{name}": value for name, value in fields.items()}


def test_an_admin_creates_a_team_and_its_manager_sees_the_members_deals(people, admin_user):
    outsider, other_manager = people["outsider"], people["other_manager"]
    deal = DealFactory(owner=people["rep"])

    response = htmx_post(
        signed_in(admin_user),
        "/settings/teams/new/",
        team_form(name="Enterprise", managers=[other_manager.pk], members=[people["rep"].pk]),
    )

    assert response.status_code == 200
    assert "teams-changed" in response["HX-Trigger"]
    team = Team.objects.get(name="Enterprise")
    assert list(team.managers.all()) == [other_manager]
    assert deal in Deal.objects.visible_to(other_manager)
    assert deal not in Deal.objects.visible_to(outsider)


def test_the_list_shows_managers_and_members(people, admin_user):
    page = signed_in(admin_user).get(PAGE).content.decode()

    assert "Team A" in page
    assert str(people["manager"]) in page
    assert str(people["teammate"]) in page


def test_renaming_and_changing_members_keeps_the_rest(people, admin_user, team_a):
    response = htmx_post(
        signed_in(admin_user),
        f"/settings/teams/{team_a.pk}/edit/",
        team_form(
            name="Team Alpha",
            managers=[people["manager"].pk],
            members=[people["rep"].pk, people["outsider"].pk],
        ),
    )

    assert response.status_code == 200
    team_a.refresh_from_db()
    assert team_a.name == "Team Alpha"
    assert set(team_a.members.all()) == {people["rep"], people["outsider"]}
    assert list(team_a.managers.all()) == [people["manager"]]


def test_a_name_already_taken_is_an_error_in_the_dialog(people, admin_user, team_a, team_b):
    response = htmx_post(
        signed_in(admin_user), f"/settings/teams/{team_b.pk}/edit/", team_form(name="team a")
    )

    assert response.status_code == 422
    assert response["HX-Retarget"] == "#dialog-body"
    assert "already exists" in response.content.decode()
    team_b.refresh_from_db()
    assert team_b.name == "Team B"


def test_the_delete_dialog_says_who_loses_sight_and_which_quotas_go(people, admin_user, team_a):
    Quota.objects.create(
        team=team_a, period="month", period_start=dt.date(2026, 12, 1), amount=Decimal(5000)
    )

    response = signed_in(admin_user).get(
        f"/settings/teams/{team_a.pk}/delete/", HTTP_HX_REQUEST="true"
    )

    page = response.content.decode()
    assert "2 members no longer see each other" in page
    assert "Deleted with it: <strong>1 quota</strong>" in page


def test_deleting_a_team_ends_the_members_shared_sight(people, admin_user, team_a):
    deal = DealFactory(owner=people["rep"])
    assert deal in Deal.objects.visible_to(people["teammate"])

    response = htmx_post(signed_in(admin_user), f"/settings/teams/{team_a.pk}/delete/", {})

    assert response.status_code == 200
    assert not Team.objects.filter(pk=team_a.pk).exists()
    assert deal not in Deal.objects.visible_to(people["teammate"])
    assert Deal.objects.filter(pk=deal.pk).exists()  # no record is deleted with it
