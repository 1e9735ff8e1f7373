"""Open boards hear about every change to their pipeline (issue 9, item 3): the services
announce it, `deals.listeners` bumps the board's live version after commit, and the live poll
(`deals.live.changes_since`) tells each open board what to reload. Whatever the way in: the
board, the stage settings page, the API or the Django admin."""

import json

import pytest
from django.urls import reverse

from deals import live
from deals.models import Deal, Pipeline, Stage
from tests.admin_forms import change_form_data, staff_client
from tests.clients import htmx_post, signed_in
from tests.factories import DealFactory, PipelineFactory, StageFactory, default_pipeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(admin_user):
    return staff_client(admin_user)


@pytest.fixture
def elsewhere():
    """Another pipeline with a board open: changes to the default one are none of its news."""
    pipeline = PipelineFactory(name="Partners")
    StageFactory(pipeline=pipeline, name="Intro")
    return pipeline


@pytest.fixture
def board_news(django_capture_on_commit_callbacks, elsewhere):
    """board_news(change, pipeline=default) -> what the pipeline's open boards are told after
    `change()` commits: (their new version, the columns to reload)."""

    def run(change, pipeline=None):
        pipeline = pipeline or default_pipeline()
        before = live.current_version(pipeline.pk)
        untouched = live.current_version(elsewhere.pk)
        with django_capture_on_commit_callbacks(execute=True):
            response = change()
        assert response.status_code < 400, (response.status_code, response.content[:500])
        assert live.current_version(elsewhere.pk) == untouched
        version, columns = live.changes_since(pipeline.pk, before)
        assert version > before
        return version, columns

    return run


def stage(name):
    return default_pipeline().stages.get(name=name)


def stage_ids(pipeline=None):
    stages = (pipeline or default_pipeline()).stages.order_by("order")
    return list(stages.values_list("pk", flat=True))


# --- a bulk move: a deleted stage's deals go elsewhere --------------------------------------------


def test_deleting_a_stage_that_holds_deals_reloads_the_whole_board(
    admin_user, rep, team_a, board_news
):
    contact, proposal = stage("Contact"), stage("Proposal")
    deals = [DealFactory(owner=rep, stage=contact) for _ in range(3)]

    _, columns = board_news(
        lambda: htmx_post(
            signed_in(admin_user),
            reverse("stage-delete", args=[contact.pk]),
            {f"del-{contact.pk}-destination": proposal.pk},
        )
    )

    assert columns == live.EVERYTHING
    assert set(
        Deal.objects.filter(pk__in=[d.pk for d in deals]).values_list("stage", flat=True)
    ) == {proposal.pk}


def test_the_live_poll_tells_an_open_board_to_reload_after_a_bulk_move(
    admin_user, rep, team_a, board_news
):
    contact, proposal = stage("Contact"), stage("Proposal")
    DealFactory(owner=rep, stage=contact)
    pipeline = default_pipeline()
    known = live.current_version(pipeline.pk)

    board_news(
        lambda: htmx_post(
            signed_in(admin_user),
            reverse("stage-delete", args=[contact.pk]),
            {f"del-{contact.pk}-destination": proposal.pk},
        )
    )
    poll = signed_in(rep).get(
        reverse("board-live", args=[pipeline.pk]), {"v": known}, HTTP_HX_REQUEST="true"
    )

    assert poll.status_code == 200
    detail = json.loads(poll["HX-Trigger"])["board:changed"]
    assert detail["columns"] == live.EVERYTHING
    assert detail["stages"] == ",".join(str(pk) for pk in stage_ids())  # Contact is gone


# --- the stage settings page ------------------------------------------------------------------


def settings_form(prefix, **values):
    data = {"name": "Discovery", "kind": "open", "probability": "30", "stall_days": "7"}
    data.update(values)
    return {f"{prefix}-{name}": value for name, value in data.items()}


SETTINGS_CHANGES = {
    "stage created": lambda client: htmx_post(
        client,
        reverse("stage-create", args=[default_pipeline().pk]),
        settings_form("new"),
    ),
    "stage renamed": lambda client: htmx_post(
        client,
        reverse("stage-update", args=[stage("Contact").pk]),
        settings_form(f"stage-{stage('Contact').pk}", name="First call"),
    ),
    "stages reordered by drag": lambda client: htmx_post(
        client,
        reverse("stage-reorder", args=[default_pipeline().pk]),
        {"stage_ids": list(reversed(stage_ids()))},
    ),
    "stage shifted by keyboard": lambda client: htmx_post(
        client, reverse("stage-shift", args=[stage("Contact").pk]), {"direction": "up"}
    ),
    "empty stage deleted": lambda client: htmx_post(
        client, reverse("stage-delete", args=[stage("Post-sale").pk]), {}
    ),
}


@pytest.mark.parametrize("change", SETTINGS_CHANGES.values(), ids=SETTINGS_CHANGES.keys())
def test_a_stage_change_on_the_settings_page_reloads_open_boards(admin_user, board_news, change):
    client = signed_in(admin_user)

    _, columns = board_news(lambda: change(client))

    assert columns == live.EVERYTHING


# --- the API ----------------------------------------------------------------------------------


API_CHANGES = {
    "stage created": lambda api: api.post(
        "/api/stages/",
        {"pipeline": default_pipeline().pk, "name": "Discovery", "kind": "open", "order": 2},
        format="json",
    ),
    "stage renamed": lambda api: api.patch(
        f"/api/stages/{stage('Contact').pk}/", {"name": "First call"}, format="json"
    ),
    "stage reordered": lambda api: api.patch(
        f"/api/stages/{stage('Contact').pk}/", {"order": 1}, format="json"
    ),
    "stage deleted": lambda api: api.delete(f"/api/stages/{stage('Post-sale').pk}/"),
    "pipeline edited": lambda api: api.patch(
        f"/api/pipelines/{default_pipeline().pk}/", {"name": "New business"}, format="json"
    ),
}


@pytest.mark.parametrize("change", API_CHANGES.values(), ids=API_CHANGES.keys())
def test_a_change_through_the_api_reloads_open_boards(admin_user, api_for, board_news, change):
    api = api_for(admin_user)

    _, columns = board_news(lambda: change(api))

    assert columns == live.EVERYTHING


def test_a_stage_deleted_through_the_api_with_its_deals_reloads_open_boards(
    admin_user, rep, team_a, api_for, board_news
):
    contact, proposal = stage("Contact"), stage("Proposal")
    deal = DealFactory(owner=rep, stage=contact)

    _, columns = board_news(
        lambda: api_for(admin_user).delete(f"/api/stages/{contact.pk}/?destination={proposal.pk}")
    )

    assert columns == live.EVERYTHING
    deal.refresh_from_db()
    assert deal.stage == proposal


# --- the Django admin -------------------------------------------------------------------------


def admin_save(client, record, **changes):
    meta = record._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[record.pk])
    return client.post(url, change_form_data(client.get(url), **changes))


def test_a_deal_edited_in_the_admin_reloads_its_column(admin_client, rep, board_news):
    deal = DealFactory(owner=rep, stage=stage("Proposal"))

    _, columns = board_news(lambda: admin_save(admin_client, deal, title="Renamed in the admin"))

    assert columns == [stage("Proposal").pk]


def test_a_stage_edited_in_the_admin_reloads_open_boards(admin_client, board_news):
    _, columns = board_news(lambda: admin_save(admin_client, stage("Contact"), name="First call"))

    assert columns == live.EVERYTHING
    assert stage("First call").order == 3


def test_a_stage_added_in_the_admin_reloads_open_boards(admin_client, board_news):
    url = reverse("admin:deals_stage_add")
    data = change_form_data(
        admin_client.get(url),
        pipeline=default_pipeline().pk,
        name="Discovery",
        kind="open",
        probability=30,
    )

    _, columns = board_news(lambda: admin_client.post(url, data))

    assert columns == live.EVERYTHING
    assert Stage.objects.filter(name="Discovery").exists()


def test_a_stage_deleted_in_the_admin_reloads_open_boards(admin_client, board_news):
    post_sale = stage("Post-sale")
    url = reverse("admin:deals_stage_delete", args=[post_sale.pk])

    _, columns = board_news(lambda: admin_client.post(url, {"post": "yes"}))

    assert columns == live.EVERYTHING
    assert not Stage.objects.filter(pk=post_sale.pk).exists()


def test_a_pipeline_edited_in_the_admin_reloads_its_open_boards(admin_client, board_news):
    _, columns = board_news(
        lambda: admin_save(admin_client, default_pipeline(), name="New business")
    )

    assert columns == live.EVERYTHING
    assert Pipeline.objects.filter(name="New business", is_default=True).exists()
