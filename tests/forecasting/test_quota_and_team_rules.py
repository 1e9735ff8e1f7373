"""Which teams and quotas a user may see and set: `Team.objects.visible_to` / `managed_by` and
`Quota.objects.visible_to` / `writable_by`, the one rule behind the dashboard's team filter, the
quota page, the quota form, the quota API and the quota services."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.models import Team
from forecasting import services
from forecasting.forms import ForecastFilterForm, QuotaForm
from forecasting.models import Quota, quota_people, quota_teams
from pipeline_crm.errors import NotAllowed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DECEMBER = dt.date(2026, 12, 1)


def names(teams):
    return sorted(team.name for team in teams)


def test_teams_visible_to_each_role(people):
    assert names(Team.objects.visible_to(people["admin"])) == ["Team A", "Team B"]
    assert names(Team.objects.visible_to(people["manager"])) == ["Team A"]
    assert names(Team.objects.visible_to(people["rep"])) == ["Team A"]
    assert names(Team.objects.visible_to(people["outsider"])) == ["Team B"]
    assert names(Team.objects.visible_to(AnonymousUser())) == []


def test_a_team_both_managed_and_joined_is_visible_once(people):
    manager = people["manager"]
    Team.objects.get(name="Team A").members.add(manager)
    Team.objects.get(name="Team B").members.add(manager)
    assert names(Team.objects.visible_to(manager)) == ["Team A", "Team B"]


def test_teams_managed_by_each_role(people):
    assert names(Team.objects.managed_by(people["admin"])) == ["Team A", "Team B"]
    assert names(Team.objects.managed_by(people["manager"])) == ["Team A"]
    assert names(Team.objects.managed_by(people["other_manager"])) == ["Team B"]
    assert names(Team.objects.managed_by(people["rep"])) == []
    assert names(Team.objects.managed_by(AnonymousUser())) == []


def test_the_dashboards_team_filter_offers_the_visible_teams(people):
    for who in ("admin", "manager", "rep", "outsider"):
        form = ForecastFilterForm(user=people[who])
        offered = form.fields["team"].queryset
        assert names(offered) == names(Team.objects.visible_to(people[who])), who


@pytest.fixture
def quotas(people):
    """A December quota for each team, for each rep, and for a member of team A who left."""
    gone = UserFactory(username="gone", role="rep", is_active=False)
    Team.objects.get(name="Team A").members.add(gone)
    targets = {
        "team_a": {"team": Team.objects.get(name="Team A")},
        "team_b": {"team": Team.objects.get(name="Team B")},
        "rep": {"user": people["rep"]},
        "teammate": {"user": people["teammate"]},
        "outsider": {"user": people["outsider"]},
        "gone": {"user": gone},
    }
    return {
        name: Quota.objects.create(
            period="month", period_start=DECEMBER, amount=Decimal("1000.00"), **target
        )
        for name, target in targets.items()
    }


def seen(queryset, quotas):
    ids = set(queryset.values_list("pk", flat=True))
    return sorted(name for name, quota in quotas.items() if quota.pk in ids)


def test_quotas_visible_to_each_role(people, quotas):
    assert seen(Quota.objects.visible_to(people["admin"]), quotas) == sorted(quotas)
    # A manager: their team's and its (active) members'.
    assert seen(Quota.objects.visible_to(people["manager"]), quotas) == [
        "rep",
        "team_a",
        "teammate",
    ]
    # A rep: their own and their team's, not a teammate's.
    assert seen(Quota.objects.visible_to(people["rep"]), quotas) == ["rep", "team_a"]
    assert seen(Quota.objects.visible_to(people["outsider"]), quotas) == ["outsider", "team_b"]
    assert seen(Quota.objects.visible_to(AnonymousUser()), quotas) == []


def test_quotas_writable_by_each_role(people, quotas):
    assert seen(Quota.objects.writable_by(people["admin"]), quotas) == [
        "outsider",
        "rep",
        "team_a",
        "team_b",
        "teammate",
    ]
    assert seen(Quota.objects.writable_by(people["other_manager"]), quotas) == [
        "outsider",
        "team_b",
    ]
    assert seen(Quota.objects.writable_by(people["rep"]), quotas) == []


def test_a_managers_quotas_are_those_they_may_change(people, quotas):
    """visible_to and writable_by agree for managers, and the service accepts exactly those."""
    manager = people["manager"]
    writable = set(Quota.objects.writable_by(manager))
    assert set(Quota.objects.visible_to(manager)) == writable
    for quota in quotas.values():
        if quota in writable:
            services.update_quota(quota=quota, by=manager, amount=Decimal("5.00"))
        else:
            with pytest.raises(NotAllowed):
                services.update_quota(quota=quota, by=manager, amount=Decimal("5.00"))
    assert Quota.objects.filter(amount=Decimal("5.00")).count() == len(writable) == 3


def accepted(by, **target):
    """Does the service let `by` set a December quota for `target`?"""
    try:
        services.set_quota(by=by, period="month", period_start=DECEMBER, amount=1, **target)
    except NotAllowed:
        return False
    return True


@pytest.mark.parametrize("who", ["admin", "manager", "other_manager"])
def test_the_quota_form_offers_exactly_whom_the_service_accepts(people, who):
    by = people[who]
    form = QuotaForm(by=by)
    offered_people = set(form.fields["user"].queryset)
    offered_teams = set(form.fields["team"].queryset)
    assert offered_people == set(quota_people(by))
    assert offered_teams == set(quota_teams(by))
    assert {person for person in people.values() if accepted(by, user=person)} == offered_people
    assert {team for team in Team.objects.all() if accepted(by, team=team)} == offered_teams
    assert Quota.objects.count() == len(offered_people) + len(offered_teams)
