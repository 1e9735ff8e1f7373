"""Admins manage users, teams, pipelines and stages through the API; everyone reads them."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Team, User
from deals.models import Deal, Pipeline, Stage
from tests.factories import (
    DealFactory,
    PipelineFactory,
    StageFactory,
    default_pipeline,
    stage_named,
)

pytestmark = pytest.mark.django_db


def test_an_admin_creates_a_manager_with_teams_who_can_then_log_in(people, api_for):
    team = Team.objects.get(name="Team B")
    response = api_for(people["admin"]).post(
        "/api/users/",
        {
            "username": "mia",
            "password": "correct-horse-battery-9",
            "first_name": "Mia",
            "email": "mia@example.com",
            "role": "manager",
            "teams": [team.pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert "password" not in body
    assert body["role"] == "manager"
    assert body["teams"] == [team.pk]
    mia = User.objects.get(username="mia")
    assert mia.password.startswith(("pbkdf2", "md5", "argon2"))
    assert "correct-horse" not in mia.password
    assert mia.role == "manager"
    token = APIClient().post(
        "/api/auth/token/", {"username": "mia", "password": "correct-horse-battery-9"}
    )
    assert token.status_code == 200


def test_a_weak_or_missing_password_is_refused_with_a_field_message(admin_user, api_for):
    client = api_for(admin_user)
    weak = client.post("/api/users/", {"username": "weak", "password": "12345678"})
    assert weak.status_code == 400
    assert "password" in weak.json()
    missing = client.post("/api/users/", {"username": "nopass"})
    assert missing.status_code == 400
    assert "password" in missing.json()
    bad_role = client.post(
        "/api/users/", {"username": "boss", "password": "a-long-Passphrase-9", "role": "owner"}
    )
    assert bad_role.status_code == 400
    assert "role" in bad_role.json()
    assert not User.objects.filter(username__in=["weak", "nopass", "boss"]).exists()


def test_an_admin_changes_a_role_and_the_user_reads_it(people, api_for):
    rep = people["rep"]
    response = api_for(people["admin"]).patch(f"/api/users/{rep.pk}/", {"role": "manager"})
    assert response.status_code == 200
    assert response.json()["role"] == "manager"
    assert User.objects.get(pk=rep.pk).role == "manager"


def test_the_last_admin_cannot_be_demoted(admin_user, api_for):
    response = api_for(admin_user).patch(f"/api/users/{admin_user.pk}/", {"role": "rep"})
    assert response.status_code == 400
    assert "role" in response.json()
    assert User.objects.get(pk=admin_user.pk).role == "admin"


def test_a_user_who_owns_deals_is_not_deleted(people, api_for):
    DealFactory(owner=people["rep"])
    response = api_for(people["admin"]).delete(f"/api/users/{people['rep'].pk}/")
    assert response.status_code == 400
    assert User.objects.filter(pk=people["rep"].pk).exists()


def test_everyone_signed_in_reads_users_with_roles_but_never_passwords(people, api_for):
    body = api_for(people["rep"]).get("/api/users/").json()
    assert body["count"] == 6
    by_name = {u["username"]: u for u in body["results"]}
    assert by_name["manager"]["role"] == "manager"
    assert by_name["admin"]["role"] == "admin"
    assert set(by_name["rep"]) == {
        "id", "username", "first_name", "last_name", "email", "role", "teams",
        "is_active", "invited",
    }  # fmt: skip
    team_a = Team.objects.get(name="Team A")
    assert by_name["rep"]["teams"] == [team_a.pk]


def test_an_admin_sets_team_managers_and_members(people, api_for):
    team = Team.objects.get(name="Team B")
    response = api_for(people["admin"]).patch(
        f"/api/teams/{team.pk}/",
        {"members": [people["outsider"].pk, people["teammate"].pk]},
        format="json",
    )
    assert response.status_code == 200
    assert sorted(response.json()["members"]) == sorted(
        [people["outsider"].pk, people["teammate"].pk]
    )
    assert response.json()["managers"] == [people["other_manager"].pk]
    # The rule follows at once: the other manager now sees the teammate's deals.
    deal = DealFactory(owner=people["teammate"])
    assert api_for(people["other_manager"]).get(f"/api/deals/{deal.pk}/").status_code == 200


def test_team_names_are_unique_ignoring_case(people, api_for):
    response = api_for(people["admin"]).post("/api/teams/", {"name": "team a"})
    assert response.status_code == 400
    assert "name" in response.json()


def test_pipelines_list_their_stages_in_order(rep, api_for):
    body = api_for(rep).get("/api/pipelines/").json()
    default = next(p for p in body["results"] if p["is_default"])
    assert [s["name"] for s in default["stages"]] == [
        "Prospecting", "Qualification", "Contact", "Proposal", "Negotiation", "Closed", "Post-sale",
    ]  # fmt: skip
    assert set(default["stages"][0]) == {
        "id", "pipeline", "name", "order", "kind", "probability", "stall_days",
        "required_fields", "guidance",
    }  # fmt: skip
    assert default["stages"][5]["kind"] == "won"


def test_an_admin_builds_a_pipeline_and_moves_the_default_flag(admin_user, api_for):
    client = api_for(admin_user)
    created = client.post("/api/pipelines/", {"name": "Partners", "is_default": False}).json()
    for name, kind in [("Intro", "open"), ("Signed", "won")]:
        response = client.post(
            "/api/stages/",
            {"pipeline": created["id"], "name": name, "kind": kind, "probability": 40},
        )
        assert response.status_code == 201, response.json()
    inserted = client.post(
        "/api/stages/", {"pipeline": created["id"], "name": "Pitch", "order": 2, "probability": 50}
    )
    assert inserted.json()["order"] == 2
    stages = client.get(f"/api/pipelines/{created['id']}/").json()["stages"]
    assert [s["name"] for s in stages] == ["Intro", "Pitch", "Signed"]

    made_default = client.patch(f"/api/pipelines/{created['id']}/", {"is_default": True})
    assert made_default.status_code == 200, made_default.json()
    assert Pipeline.objects.get(is_default=True).name == "Partners"


def test_an_admin_edits_and_reorders_a_stage(admin_user, api_for):
    client = api_for(admin_user)
    contact = stage_named("Contact")
    response = client.patch(
        f"/api/stages/{contact.pk}/",
        {"name": "First call", "probability": 30, "required_fields": ["next_step"], "order": 1},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["order"] == 1
    names = list(default_pipeline().stages.order_by("order").values_list("name", flat=True))
    assert names[:3] == ["First call", "Prospecting", "Qualification"]
    contact.refresh_from_db()
    assert contact.required_fields == ["next_step"]
    assert contact.probability == 30


def test_a_stage_cannot_be_moved_to_another_pipeline(admin_user, api_for):
    stage = stage_named("Contact")
    response = api_for(admin_user).patch(
        f"/api/stages/{stage.pk}/", {"pipeline": PipelineFactory().pk}
    )
    assert response.status_code == 400
    assert "pipeline" in response.json()


def test_deleting_a_stage_with_deals_needs_a_destination(admin_user, api_for):
    stage = stage_named("Contact")
    deals = DealFactory.create_batch(3, owner=admin_user, stage=stage)
    client = api_for(admin_user)
    refused = client.delete(f"/api/stages/{stage.pk}/")
    assert refused.status_code == 400
    assert "destination" in refused.json()

    foreign = StageFactory(pipeline=PipelineFactory())
    wrong = client.delete(f"/api/stages/{stage.pk}/?destination={foreign.pk}")
    assert wrong.status_code == 400
    assert "destination" in wrong.json()
    junk = client.delete(f"/api/stages/{stage.pk}/?destination=abc")
    assert junk.status_code == 400
    assert "destination" in junk.json()

    proposal = stage_named("Proposal")
    done = client.delete(f"/api/stages/{stage.pk}/?destination={proposal.pk}")
    assert done.status_code == 204
    assert not Stage.objects.filter(pk=stage.pk).exists()
    assert set(
        Deal.objects.filter(pk__in=[d.pk for d in deals]).values_list("stage", flat=True)
    ) == {proposal.pk}


def test_the_destination_may_come_in_the_body(admin_user, api_for):
    stage = stage_named("Contact")
    DealFactory(owner=admin_user, stage=stage)
    response = api_for(admin_user).delete(
        f"/api/stages/{stage.pk}/", {"destination": stage_named("Qualification").pk}, format="json"
    )
    assert response.status_code == 204


def test_a_pipeline_holding_deals_is_not_deleted(admin_user, api_for):
    stage = StageFactory(pipeline=PipelineFactory())
    DealFactory(owner=admin_user, pipeline=stage.pipeline, stage=stage)
    response = api_for(admin_user).delete(f"/api/pipelines/{stage.pipeline_id}/")
    assert response.status_code == 400
    assert Pipeline.objects.filter(pk=stage.pipeline_id).exists()


def test_reps_read_stages_but_cannot_change_them(rep, api_for):
    stage = stage_named("Contact")
    client = api_for(rep)
    assert client.get(f"/api/stages/?pipeline={stage.pipeline_id}").json()["count"] == 7
    assert client.patch(f"/api/stages/{stage.pk}/", {"probability": 99}).status_code == 403
    assert client.delete(f"/api/stages/{stage.pk}/").status_code == 403
    stage.refresh_from_db()
    assert stage.probability == 35


def test_createsuperuser_noinput_makes_the_first_admin_who_can_use_the_api(monkeypatch):
    from django.core.management import call_command

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "first-admin-Passphrase-1")
    call_command("createsuperuser", "--noinput", username="root", email="root@example.com")
    client = APIClient()
    token = client.post(
        "/api/auth/token/", {"username": "root", "password": "first-admin-Passphrase-1"}
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = next(u for u in client.get("/api/users/").json()["results"] if u["username"] == "root")
    assert me["role"] == "admin"
    created = client.post(
        "/api/users/", {"username": "rita", "password": "a-long-Passphrase-9", "role": "rep"}
    )
    assert created.status_code == 201


TEAM_FIELDS = {"id", "name", "managers", "members"}
PIPELINE_FIELDS = {"id", "name", "is_default", "stages"}


def test_a_team_reads_with_exactly_the_fields_of_the_spec(people, api_for):
    client = api_for(people["rep"])
    listed = client.get("/api/teams/").json()["results"]
    assert [set(team) for team in listed] == [TEAM_FIELDS, TEAM_FIELDS]
    team_a = Team.objects.get(name="Team A")
    one = client.get(f"/api/teams/{team_a.pk}/").json()
    assert set(one) == TEAM_FIELDS
    assert (one["id"], one["name"], one["managers"]) == (
        team_a.pk,
        "Team A",
        [people["manager"].pk],
    )
    assert sorted(one["members"]) == sorted([people["rep"].pk, people["teammate"].pk])


def test_a_pipeline_reads_with_exactly_the_fields_of_the_spec(rep, api_for):
    client = api_for(rep)
    pipeline = default_pipeline()
    listed = client.get("/api/pipelines/").json()["results"]
    assert [set(p) for p in listed] == [PIPELINE_FIELDS]
    one = client.get(f"/api/pipelines/{pipeline.pk}/").json()
    assert set(one) == PIPELINE_FIELDS
    assert (one["id"], one["name"], one["is_default"]) == (pipeline.pk, pipeline.name, True)
    assert [stage["order"] for stage in one["stages"]] == [1, 2, 3, 4, 5, 6, 7]
