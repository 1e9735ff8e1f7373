"""Stage settings /settings/pipelines/: admins only; pipelines and stages through the services."""

import re

import pytest
from django.urls import reverse

from deals import services
from deals.models import Deal, Pipeline, Stage, StageChange
from tests.clients import htmx_post, signed_in
from tests.factories import DealFactory, default_pipeline, stage_named

pytestmark = pytest.mark.django_db

OPEN_DEFAULTS = ["Prospecting", "Qualification", "Contact", "Proposal", "Negotiation"]


def stage_names(pipeline=None):
    return list(
        (pipeline or default_pipeline()).stages.order_by("order").values_list("name", flat=True)
    )


def stage_data(prefix, **values):
    data = {
        "name": "Demo",
        "kind": "open",
        "probability": "40",
        "stall_days": "7",
        "guidance": "",
    }
    data.update(values)
    out = {f"{prefix}-{k}": v for k, v in data.items() if k != "required_fields"}
    if "required_fields" in values:
        out[f"{prefix}-required_fields"] = values["required_fields"]
    return out


def test_only_admins_see_the_settings_everyone_else_gets_404(people):
    stage = stage_named("Contact")
    for name in ("rep", "manager"):
        client = signed_in(people[name])
        assert client.get(reverse("pipeline-settings")).status_code == 404
        assert (
            htmx_post(
                client, reverse("stage-update", args=[stage.pk]), stage_data(f"stage-{stage.pk}")
            ).status_code
            == 404
        )
        assert (
            htmx_post(client, reverse("pipeline-create"), {"pipeline-name": "Mine"}).status_code
            == 404
        )

    response = signed_in(people["admin"]).get(reverse("pipeline-settings"))

    assert response.status_code == 200
    html = response.content.decode()
    for name in stage_names():
        assert name in html
    assert Stage.objects.get(pk=stage.pk).name == "Contact"


def test_the_settings_link_shows_only_for_admins(people):
    rep_html = signed_in(people["rep"]).get(reverse("board")).content.decode()
    admin_html = signed_in(people["admin"]).get(reverse("board")).content.decode()

    assert reverse("pipeline-settings") not in rep_html
    assert reverse("pipeline-settings") in admin_html


def test_an_admin_creates_a_pipeline_starting_from_the_default_stages(admin_user):
    response = htmx_post(
        signed_in(admin_user),
        reverse("pipeline-create"),
        {"pipeline-name": "Renewals", "pipeline-copy_stages": "on"},
    )

    pipeline = Pipeline.objects.get(name="Renewals")
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("pipeline-settings-detail", args=[pipeline.pk])
    assert stage_names(pipeline) == stage_names()
    assert not pipeline.is_default


def test_a_pipeline_name_must_be_new(admin_user):
    response = htmx_post(
        signed_in(admin_user), reverse("pipeline-create"), {"pipeline-name": "sales"}
    )

    assert response.status_code == 400
    assert "exists already" in response.content.decode()


def test_an_admin_adds_a_stage_with_required_fields(admin_user):
    pipeline = default_pipeline()

    response = htmx_post(
        signed_in(admin_user),
        reverse("stage-create", args=[pipeline.pk]),
        stage_data(
            "new", name="Legal review", probability="85", required_fields=["amount", "company"]
        ),
    )

    assert response.status_code == 200
    stage = pipeline.stages.get(name="Legal review")
    assert stage.probability == 85
    assert stage.required_fields == ["amount", "company"]
    # An open stage lands before the first closed one, not after Closed and Post-sale.
    assert stage_names()[-3:] == ["Legal review", "Closed", "Post-sale"]
    assert "Legal review" in response.content.decode()


def test_a_new_closed_stage_goes_at_the_end(admin_user):
    htmx_post(
        signed_in(admin_user),
        reverse("stage-create", args=[default_pipeline().pk]),
        stage_data("new", name="Renewal", kind="post_sale", probability="100"),
    )

    assert stage_names()[-3:] == ["Closed", "Post-sale", "Renewal"]


def test_a_new_stage_in_a_pipeline_without_closed_stages_goes_at_the_end(admin_user):
    pipeline = services.create_pipeline(by=admin_user, name="Partners")
    for name in ("Intro", "Pilot"):
        services.create_stage(by=admin_user, pipeline=pipeline, name=name)

    assert stage_names(pipeline) == ["Intro", "Pilot"]


def test_an_explicit_place_still_wins_and_a_copied_pipeline_keeps_its_order(admin_user):
    pipeline = default_pipeline()
    services.create_stage(by=admin_user, pipeline=pipeline, name="Aftercare", order=8)
    services.create_stage(by=admin_user, pipeline=pipeline, name="Discovery", order=1)
    expected = ["Discovery", *OPEN_DEFAULTS, "Closed", "Post-sale", "Aftercare"]
    assert stage_names() == expected

    copy = services.create_pipeline(by=admin_user, name="Copy", copy_stages_from=pipeline)

    assert stage_names(copy) == expected


def test_a_bad_stage_shows_the_form_errors_and_saves_nothing(admin_user):
    pipeline = default_pipeline()

    response = htmx_post(
        signed_in(admin_user),
        reverse("stage-create", args=[pipeline.pk]),
        stage_data("new", name="", probability="150", stall_days="-1", required_fields=["title"]),
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert "This field is required." in html
    assert "less than or equal to 100" in html
    assert "greater than or equal to 0" in html
    assert "Select a valid choice" in html
    assert len(stage_names()) == 7


def test_an_admin_renames_and_reconfigures_a_stage(admin_user):
    stage = stage_named("Contact")

    response = htmx_post(
        signed_in(admin_user),
        reverse("stage-update", args=[stage.pk]),
        stage_data(
            f"stage-{stage.pk}",
            name="Discovery",
            probability="30",
            stall_days="",
            guidance="Find the pain.",
            required_fields=["next_step"],
        ),
    )

    assert response.status_code == 200
    stage.refresh_from_db()
    assert (stage.name, stage.probability, stage.stall_days) == ("Discovery", 30, None)
    assert stage.required_fields == ["next_step"]
    assert stage.guidance == "Find the pain."


def test_stages_reorder_by_drag_and_by_the_up_and_down_buttons(admin_user):
    pipeline = default_pipeline()
    stages = list(pipeline.stages.order_by("order"))
    client = signed_in(admin_user)
    new_order = [stages[1].pk, stages[0].pk, *[s.pk for s in stages[2:]]]

    dragged = htmx_post(
        client, reverse("stage-reorder", args=[pipeline.pk]), {"stage_ids": new_order}
    )
    assert dragged.status_code == 200
    assert stage_names()[:2] == ["Qualification", "Prospecting"]

    up = htmx_post(client, reverse("stage-shift", args=[stages[2].pk]), {"direction": "up"})
    assert stage_names()[:3] == ["Qualification", "Contact", "Prospecting"]
    assert f"#shift-up-{stages[2].pk}" in up["HX-Trigger-After-Settle"]

    htmx_post(client, reverse("stage-shift", args=[stages[2].pk]), {"direction": "down"})
    assert stage_names()[:3] == ["Qualification", "Prospecting", "Contact"]


def test_an_incomplete_stage_order_is_refused(admin_user):
    pipeline = default_pipeline()
    ids = list(pipeline.stages.order_by("order").values_list("pk", flat=True))

    missing = htmx_post(
        signed_in(admin_user), reverse("stage-reorder", args=[pipeline.pk]), {"stage_ids": ids[:3]}
    )
    junk = htmx_post(
        signed_in(admin_user), reverse("stage-reorder", args=[pipeline.pk]), {"stage_ids": ["x"]}
    )

    assert missing.status_code == 400
    assert junk.status_code == 400
    assert stage_names()[0] == "Prospecting"


def test_deleting_a_stage_with_deals_asks_where_they_go_and_moves_them(admin_user, rep, team_a):
    stage = stage_named("Contact")
    destination = stage_named("Proposal")
    deals = [DealFactory(owner=rep, stage=stage) for _ in range(2)]
    client = signed_in(admin_user)
    page = client.get(reverse("pipeline-settings")).content.decode()

    refused = htmx_post(client, reverse("stage-delete", args=[stage.pk]), {})
    done = htmx_post(
        client,
        reverse("stage-delete", args=[stage.pk]),
        {f"del-{stage.pk}-destination": destination.pk},
    )

    assert "2 deals here move to" in page
    assert refused.status_code == 422
    assert "choose a stage to move them to" in refused.content.decode()
    assert done.status_code == 200
    assert "Contact" not in stage_names()
    for deal in deals:
        deal.refresh_from_db()
        assert deal.stage == destination
        assert StageChange.objects.filter(
            deal=deal, from_stage_name="Contact", to_stage=destination
        ).exists()
    assert Deal.objects.count() == 2


def test_an_empty_stage_is_deleted_at_once(admin_user):
    stage = stage_named("Post-sale")

    response = htmx_post(signed_in(admin_user), reverse("stage-delete", args=[stage.pk]), {})

    assert response.status_code == 200
    assert "Post-sale" not in stage_names()


def test_settings_writes_need_the_csrf_token(admin_user):
    pipeline = default_pipeline()
    stage = stage_named("Contact")
    client = signed_in(admin_user, enforce_csrf_checks=True)

    for url, data in [
        (reverse("pipeline-create"), {"pipeline-name": "X"}),
        (reverse("stage-create", args=[pipeline.pk]), stage_data("new")),
        (reverse("stage-update", args=[stage.pk]), stage_data(f"stage-{stage.pk}")),
        (reverse("stage-reorder", args=[pipeline.pk]), {"stage_ids": [stage.pk]}),
        (reverse("stage-shift", args=[stage.pk]), {"direction": "up"}),
        (reverse("stage-delete", args=[stage.pk]), {}),
    ]:
        assert client.post(url, data).status_code == 403
    assert stage_names() == [
        "Prospecting",
        "Qualification",
        "Contact",
        "Proposal",
        "Negotiation",
        "Closed",
        "Post-sale",
    ]


def test_the_settings_page_lists_every_pipeline_and_an_unknown_one_is_404(admin_user):
    Pipeline.objects.create(name="Partners")
    client = signed_in(admin_user)

    html = client.get(reverse("pipeline-settings")).content.decode()

    assert re.search(r">\s*Sales <span class=\"badge\">default</span>", html)
    assert "Partners" in html
    assert client.get(reverse("pipeline-settings-detail", args=[999999])).status_code == 404
