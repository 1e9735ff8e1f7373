"""Nobody widens their reach through a PATCH (SPEC §4).

A new owner must be someone whose records the caller may write (themselves; for a manager, the
members of the teams they manage), the same rule deals follow (400 naming `owner`, as in
test_deals_api.py); a record that is not yours to change stays 403/404; and a user's own role
and teams are for admins to change.
"""

import pytest

from accounts.models import User
from tests.factories import ActivityFactory, CompanyFactory, ContactFactory, LeadFactory

pytestmark = pytest.mark.django_db

RESOURCES = {
    "contact": ("/api/contacts/", lambda owner: ContactFactory(owner=owner, company=None)),
    "lead": ("/api/leads/", lambda owner: LeadFactory(owner=owner)),
    "company": ("/api/companies/", lambda owner: CompanyFactory(owner=owner)),
    "activity": ("/api/activities/", lambda owner: ActivityFactory(owner=owner)),
}
REASSIGNABLE = list(RESOURCES)


def _patch_owner(client, kind, record, new_owner):
    url = f"{RESOURCES[kind][0]}{record.pk}/"
    return client.patch(url, {"owner": new_owner.pk}, format="json")


@pytest.mark.parametrize("target", ["outsider", "other_manager", "teammate", "manager"])
@pytest.mark.parametrize("kind", list(RESOURCES))
def test_a_rep_cannot_give_their_record_to_someone_outside_their_reach(
    people, api_for, kind, target
):
    record = RESOURCES[kind][1](people["rep"])
    response = _patch_owner(api_for(people["rep"]), kind, record, people[target])
    assert response.status_code == 400, response.content
    assert "owner" in response.json()
    record.refresh_from_db()
    assert record.owner == people["rep"]


@pytest.mark.parametrize("kind", list(RESOURCES))
def test_a_rep_cannot_take_over_a_teammates_record(people, api_for, kind):
    record = RESOURCES[kind][1](people["teammate"])
    response = _patch_owner(api_for(people["rep"]), kind, record, people["rep"])
    assert response.status_code == 403, response.content
    record.refresh_from_db()
    assert record.owner == people["teammate"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    # Companies and contacts are read by everyone (403); leads and activities are out of sight.
    [("contact", 403), ("company", 403), ("lead", 404), ("activity", 404)],
)
def test_a_rep_cannot_take_over_another_teams_record(people, api_for, kind, expected):
    record = RESOURCES[kind][1](people["outsider"])
    response = _patch_owner(api_for(people["rep"]), kind, record, people["rep"])
    assert response.status_code == expected, response.content
    record.refresh_from_db()
    assert record.owner == people["outsider"]


@pytest.mark.parametrize("kind", REASSIGNABLE)
def test_a_manager_reassigns_within_the_team_but_not_to_another_team(people, api_for, kind):
    record = RESOURCES[kind][1](people["rep"])
    client = api_for(people["manager"])

    refused = _patch_owner(client, kind, record, people["outsider"])
    assert refused.status_code == 400, refused.content
    assert "owner" in refused.json()
    record.refresh_from_db()
    assert record.owner == people["rep"]

    moved = _patch_owner(client, kind, record, people["teammate"])
    assert moved.status_code == 200, moved.content
    assert moved.json()["owner"] == people["teammate"].pk
    record.refresh_from_db()
    assert record.owner == people["teammate"]


@pytest.mark.parametrize(
    ("kind", "expected"), [("contact", 403), ("company", 403), ("lead", 404), ("activity", 404)]
)
def test_another_teams_manager_cannot_pull_a_record_into_their_team(
    people, api_for, kind, expected
):
    record = RESOURCES[kind][1](people["rep"])
    response = _patch_owner(api_for(people["other_manager"]), kind, record, people["outsider"])
    assert response.status_code == expected, response.content
    record.refresh_from_db()
    assert record.owner == people["rep"]


def _role_and_teams(user):
    fresh = User.objects.get(pk=user.pk)
    return fresh.role, set(fresh.teams.values_list("pk", flat=True))


@pytest.mark.parametrize(
    "changes",
    [
        {"role": "admin"},
        {"role": "manager"},
        {"teams": "TEAM_B"},
        {"teams": []},
        {"role": "admin", "teams": "TEAM_B"},
    ],
)
def test_a_rep_cannot_change_their_own_role_or_teams(people, team_b, api_for, changes):
    rep = people["rep"]
    before = _role_and_teams(rep)
    if changes.get("teams") == "TEAM_B":
        changes = {**changes, "teams": [team_b.pk]}
    response = api_for(rep).patch(f"/api/users/{rep.pk}/", changes, format="json")
    assert response.status_code == 403, response.content
    assert _role_and_teams(rep) == before == ("rep", {people["rep"].teams.get().pk})
    assert not User.objects.get(pk=rep.pk).is_admin


def test_a_manager_cannot_promote_a_member_or_themselves(people, api_for):
    client = api_for(people["manager"])
    for user in (people["rep"], people["manager"]):
        before = _role_and_teams(user)
        response = client.patch(f"/api/users/{user.pk}/", {"role": "admin"}, format="json")
        assert response.status_code == 403, user
        assert _role_and_teams(user) == before


def test_a_rep_cannot_join_or_manage_another_team(people, team_b, api_for):
    rep = people["rep"]
    response = api_for(rep).patch(
        f"/api/teams/{team_b.pk}/", {"members": [rep.pk], "managers": [rep.pk]}, format="json"
    )
    assert response.status_code == 403, response.content
    assert not team_b.members.filter(pk=rep.pk).exists()
    assert not team_b.managers.filter(pk=rep.pk).exists()
