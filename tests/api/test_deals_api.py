"""Deals through the API: create, edit without escalation, workflow actions, history, filters."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from deals.models import Deal, FieldChange, StageChange
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

SPEC_DEAL_FIELDS = {
    "id", "title", "pipeline", "stage", "status", "amount", "currency", "expected_close_date",
    "probability", "probability_override", "owner", "company", "contact", "lead", "position",
    "version", "stage_entered_at", "last_activity_at", "stalled", "stall_reasons", "won_at",
    "lost_at", "lost_reason", "lost_reason_detail", "next_step", "created_at", "updated_at",
}  # fmt: skip


def test_a_deal_reads_with_exactly_the_spec_fields_and_money_as_a_string(rep, api_for):
    deal = DealFactory(owner=rep, amount=Decimal("1234.50"), probability_override=None)
    body = api_for(rep).get(f"/api/deals/{deal.pk}/").json()
    assert set(body) == SPEC_DEAL_FIELDS
    assert body["amount"] == "1234.50"
    assert body["probability"] == 10  # Prospecting's configured probability
    assert body["stage"] == deal.stage_id
    assert body["owner"] == rep.pk


def test_effective_probability_is_the_override_when_set_and_cannot_be_written(rep, api_for):
    deal = DealFactory(owner=rep, probability_override=None)
    client = api_for(rep)
    response = client.patch(f"/api/deals/{deal.pk}/", {"probability_override": 60})
    assert response.status_code == 200
    assert response.json()["probability"] == 60
    ignored = client.patch(f"/api/deals/{deal.pk}/", {"probability": 5})
    assert ignored.json()["probability"] == 60


def test_create_puts_a_deal_in_the_first_open_stage_owned_by_the_caller(rep, api_for):
    response = api_for(rep).post("/api/deals/", {"title": "Acme renewal", "amount": "5000"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["stage"] == stage_named("Prospecting").pk
    assert body["pipeline"] == default_pipeline().pk
    assert body["owner"] == rep.pk
    assert body["status"] == "open"
    assert body["version"] == 1
    assert StageChange.objects.filter(deal_id=body["id"]).count() == 1


def test_create_may_name_a_stage_of_the_given_pipeline(rep, api_for):
    stage = stage_named("Proposal")
    response = api_for(rep).post(
        "/api/deals/", {"title": "Late entry", "pipeline": default_pipeline().pk, "stage": stage.pk}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["stage"] == stage.pk


def test_create_refuses_a_stage_of_another_pipeline_with_a_field_message(rep, api_for):
    foreign = StageFactory(pipeline=PipelineFactory())
    response = api_for(rep).post(
        "/api/deals/", {"title": "Mixed up", "pipeline": default_pipeline().pk, "stage": foreign.pk}
    )
    assert response.status_code == 400
    assert "stage" in response.json()
    assert not Deal.objects.filter(title="Mixed up").exists()


def test_create_ignores_the_system_fields_a_client_sends(rep, api_for):
    response = api_for(rep).post(
        "/api/deals/",
        {
            "title": "Sneaky",
            "status": "won",
            "version": 99,
            "stalled": True,
            "won_at": "2020-01-01T00:00:00Z",
            "created_at": "2020-01-01T00:00:00Z",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["version"], body["stalled"], body["won_at"]) == (
        "open",
        1,
        False,
        None,
    )
    assert body["created_at"] > "2021"


@pytest.mark.parametrize("field", ["stage", "status", "pipeline"])
def test_patching_stage_status_or_pipeline_is_refused_with_a_pointer_to_the_actions(
    field, rep, api_for
):
    deal = DealFactory(owner=rep)
    values = {
        "stage": stage_named("Closed").pk,
        "status": "won",
        "pipeline": PipelineFactory().pk,
    }
    response = api_for(rep).patch(f"/api/deals/{deal.pk}/", {field: values[field]})
    assert response.status_code == 400
    assert field in response.json()
    if field != "pipeline":
        assert "move/" in response.json()[field][0] or "won/" in response.json()[field][0]
    deal.refresh_from_db()
    assert deal.stage.name == "Prospecting"
    assert deal.status == "open"
    assert deal.version == 1


def test_a_rep_cannot_give_a_deal_to_someone_outside_their_reach(people, api_for):
    deal = DealFactory(owner=people["rep"])
    for target in ("outsider", "teammate", "manager"):
        response = api_for(people["rep"]).patch(
            f"/api/deals/{deal.pk}/", {"owner": people[target].pk}
        )
        assert response.status_code == 400, target
        assert "owner" in response.json()
    deal.refresh_from_db()
    assert deal.owner == people["rep"]


def test_a_manager_may_reassign_within_the_team_but_not_to_another_team(people, api_for):
    deal = DealFactory(owner=people["rep"])
    client = api_for(people["manager"])
    assert (
        client.patch(f"/api/deals/{deal.pk}/", {"owner": people["outsider"].pk}).status_code == 400
    )
    ok = client.patch(f"/api/deals/{deal.pk}/", {"owner": people["teammate"].pk})
    assert ok.status_code == 200
    deal.refresh_from_db()
    assert deal.owner == people["teammate"]


def test_version_and_timestamps_in_a_patch_cannot_be_forged(rep, api_for):
    deal = DealFactory(owner=rep)
    before = Deal.objects.get(pk=deal.pk)
    response = api_for(rep).patch(
        f"/api/deals/{deal.pk}/",
        {
            "title": "Honest",
            "version": 1,
            "created_at": "2000-01-01T00:00:00Z",
            "stage_entered_at": "2000-01-01T00:00:00Z",
            "won_at": "2000-01-01T00:00:00Z",
            "stalled": True,
            "position": -5,
        },
    )
    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.title == "Honest"
    assert deal.version == 2  # bumped by the edit, not set by the client
    assert deal.created_at == before.created_at
    assert deal.stage_entered_at == before.stage_entered_at
    assert deal.won_at is None
    assert deal.stalled is False
    assert deal.position == before.position


def test_a_patch_based_on_an_old_version_answers_409_with_the_current_deal(rep, api_for):
    deal = DealFactory(owner=rep, version=3)
    response = api_for(rep).patch(f"/api/deals/{deal.pk}/", {"title": "Mine", "version": 2})
    assert response.status_code == 409
    assert response.json()["deal"]["version"] == 3
    deal.refresh_from_db()
    assert deal.title != "Mine"


def test_move_with_a_stale_version_answers_409_with_the_current_deal_in_the_body(rep, api_for):
    deal = DealFactory(owner=rep, title="Acme", version=4)
    response = api_for(rep).post(
        f"/api/deals/{deal.pk}/move/", {"stage": stage_named("Contact").pk, "version": 3}
    )
    assert response.status_code == 409
    body = response.json()
    assert "detail" in body
    assert body["deal"]["id"] == deal.pk
    assert body["deal"]["version"] == 4
    assert body["deal"]["stage"] == stage_named("Prospecting").pk
    assert body["deal"]["title"] == "Acme"


def test_move_answers_the_moved_deal_with_its_new_version(rep, api_for):
    deal = DealFactory(owner=rep)
    target = stage_named("Proposal")
    response = api_for(rep).post(
        f"/api/deals/{deal.pk}/move/", {"stage": target.pk, "version": 1, "position": 0}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["stage"] == target.pk
    assert body["version"] == 2
    assert body["probability"] == 55


def test_move_into_a_stage_with_required_fields_can_fill_them_in_the_same_call(rep, api_for):
    deal = DealFactory(owner=rep, next_step="")
    target = stage_named("Contact")
    target.required_fields = ["next_step"]
    target.save()
    client = api_for(rep)
    refused = client.post(f"/api/deals/{deal.pk}/move/", {"stage": target.pk, "version": 1})
    assert refused.status_code == 400
    assert refused.json()["missing_fields"] == ["next_step"]
    done = client.post(
        f"/api/deals/{deal.pk}/move/",
        {"stage": target.pk, "version": 1, "values": {"next_step": "Call the CFO"}},
        format="json",
    )
    assert done.status_code == 200, done.json()
    assert done.json()["next_step"] == "Call the CFO"


def test_won_moves_into_the_won_stage_and_can_set_the_amount(rep, api_for):
    deal = DealFactory(owner=rep, amount=None)
    client = api_for(rep)
    needs_amount = client.post(f"/api/deals/{deal.pk}/won/", {})
    assert needs_amount.status_code == 400
    assert "amount" in needs_amount.json()
    response = client.post(f"/api/deals/{deal.pk}/won/", {"amount": "12000.00"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "won"
    assert body["stage"] == stage_named("Closed").pk
    assert body["amount"] == "12000.00"
    assert body["won_at"] is not None


def test_lost_needs_a_reason_keeps_the_stage_and_reopen_brings_it_back(rep, api_for):
    deal = DealFactory(owner=rep, stage=stage_named("Negotiation"))
    competitor = lost_reason_entry("Went with a competitor")
    client = api_for(rep)
    no_reason = client.post(f"/api/deals/{deal.pk}/lost/", {})
    assert no_reason.status_code == 400
    assert "lost_reason" in no_reason.json()
    lost = client.post(f"/api/deals/{deal.pk}/lost/", {"lost_reason": competitor.pk})
    assert lost.status_code == 200
    assert lost.json()["status"] == "lost"
    assert lost.json()["lost_reason"] == competitor.pk
    assert lost.json()["stage"] == stage_named("Negotiation").pk

    cannot_move = client.post(
        f"/api/deals/{deal.pk}/move/",
        {"stage": stage_named("Proposal").pk, "version": lost.json()["version"]},
    )
    assert cannot_move.status_code == 400

    reopened = client.post(f"/api/deals/{deal.pk}/reopen/", {})
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "open"
    assert reopened.json()["stage"] == stage_named("Negotiation").pk
    assert reopened.json()["lost_reason"] is None


def test_history_lists_the_move_and_the_amount_change_in_order(rep, api_for):
    client = api_for(rep)
    created = client.post("/api/deals/", {"title": "Traced", "amount": "100.00"}).json()
    moved = client.post(
        f"/api/deals/{created['id']}/move/",
        {"stage": stage_named("Qualification").pk, "version": created["version"]},
    ).json()
    client.patch(f"/api/deals/{created['id']}/", {"amount": "250.00", "version": moved["version"]})

    response = client.get(f"/api/deals/{created['id']}/history/")
    assert response.status_code == 200
    entries = response.json()
    assert [(e["kind"], e["field"]) for e in entries] == [
        ("stage", "stage"),
        ("stage", "stage"),
        ("field", "amount"),
    ]
    created_entry, move, amount = entries
    assert created_entry["from_stage"] is None
    assert created_entry["to_stage"] == stage_named("Prospecting").pk
    assert move["from_stage"] == stage_named("Prospecting").pk
    assert move["to_stage"] == stage_named("Qualification").pk
    assert (move["old"], move["new"]) == ("Prospecting", "Qualification")
    assert (amount["old"], amount["new"]) == ("100.00", "250.00")
    assert amount["from_stage"] is None
    assert amount["to_stage"] is None
    assert all(e["by"] == rep.pk for e in entries)
    assert set(entries[0]) == {"at", "by", "kind", "from_stage", "to_stage", "field", "old", "new"}
    assert entries[0]["at"] <= entries[1]["at"] <= entries[2]["at"]


def test_history_of_a_deal_outside_sight_is_404(people, api_for):
    deal = DealFactory(owner=people["outsider"])
    assert api_for(people["rep"]).get(f"/api/deals/{deal.pk}/history/").status_code == 404


def test_delete_removes_the_deal_for_its_owner(rep, api_for):
    deal = DealFactory(owner=rep)
    assert api_for(rep).delete(f"/api/deals/{deal.pk}/").status_code == 204
    assert not Deal.objects.filter(pk=deal.pk).exists()


def test_deals_filter_by_pipeline_stage_owner_status_and_text(people, api_for):
    rep, teammate = people["rep"], people["teammate"]
    acme = CompanyFactory(name="Acme Industries")
    DealFactory(owner=rep, title="Alpha", company=acme)
    DealFactory(owner=rep, title="Beta", stage=stage_named("Proposal"))
    DealFactory(owner=teammate, title="Gamma", status=Deal.Status.LOST)
    other = StageFactory(pipeline=PipelineFactory())
    DealFactory(owner=rep, title="Delta", pipeline=other.pipeline, stage=other)
    client = api_for(rep)

    def titles(query):
        response = client.get(f"/api/deals/?{query}")
        assert response.status_code == 200, response.json()
        return sorted(d["title"] for d in response.json()["results"])

    assert titles(f"pipeline={other.pipeline_id}") == ["Delta"]
    assert titles(f"stage={stage_named('Proposal').pk}") == ["Beta"]
    assert titles(f"owner={teammate.pk}") == ["Gamma"]
    assert titles("status=lost") == ["Gamma"]
    assert titles("q=acme") == ["Alpha"]
    assert titles("q=ALP") == ["Alpha"]
    assert titles(f"owner={rep.pk}&status=open&pipeline={default_pipeline().pk}") == [
        "Alpha",
        "Beta",
    ]


def test_lists_paginate_with_page_and_answer_count_next_previous_results(rep, api_for):
    DealFactory.create_batch(55, owner=rep)
    client = api_for(rep)
    first = client.get("/api/deals/").json()
    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 55
    assert len(first["results"]) == 50
    assert first["previous"] is None
    assert "page=2" in first["next"]
    second = client.get("/api/deals/?page=2").json()
    assert len(second["results"]) == 5
    assert second["next"] is None
    ids = {d["id"] for d in first["results"]} | {d["id"] for d in second["results"]}
    assert len(ids) == 55


def test_the_close_date_change_is_recorded_with_old_and_new(rep, api_for):
    deal = DealFactory(owner=rep, expected_close_date=dt.date(2030, 1, 31))
    api_for(rep).patch(f"/api/deals/{deal.pk}/", {"expected_close_date": "2030-03-31"})
    change = FieldChange.objects.get(deal=deal, field="expected_close_date")
    assert (change.old_value, change.new_value, change.by) == ("2030-01-31", "2030-03-31", rep)
    deal.refresh_from_db()
    assert deal.close_date_pushes == 1
    assert deal.updated_at <= timezone.now()


def test_the_list_is_newest_first_and_one_stage_comes_in_board_order(rep, api_for):
    stage = stage_named("Proposal")
    bottom = DealFactory(owner=rep, stage=stage, position=2048, title="Bottom")
    top = DealFactory(owner=rep, stage=stage, position=0, title="Top")
    newest = DealFactory(owner=rep, title="Newest")
    client = api_for(rep)
    everything = [d["title"] for d in client.get("/api/deals/").json()["results"]]
    assert everything == [newest.title, top.title, bottom.title]
    column = [d["title"] for d in client.get(f"/api/deals/?stage={stage.pk}").json()["results"]]
    assert column == ["Top", "Bottom"]
