"""Every endpoint the board posts to: moves, reorders, won, lost, quick add, suggestions, live poll.

Each has its success, each refusal (stale version, missing fields, no permission, bad input),
404 outside sight and CSRF enforcement.
"""

import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from contacts.models import Company
from deals import live
from deals.models import Deal, StageChange
from tests.clients import htmx_post, signed_in
from tests.factories import (
    CompanyFactory,
    DealFactory,
    default_pipeline,
    lost_for,
    stage_named,
)

pytestmark = pytest.mark.django_db


def column_titles(stage):
    return list(
        Deal.objects.filter(stage=stage).order_by("position", "id").values_list("title", flat=True)
    )


def triggers(response, header="HX-Trigger"):
    return json.loads(response.get(header) or "{}")


# --- moving across columns -------------------------------------------------------------------


def test_a_drop_on_another_column_moves_the_deal_and_refreshes_card_and_both_headers(rep, team_a):
    source, target = stage_named("Prospecting"), stage_named("Qualification")
    deal = DealFactory(owner=rep, stage=source)
    client = signed_in(rep)

    response = htmx_post(
        client,
        reverse("deal-move", args=[deal.pk]),
        {"stage": target.pk, "version": 1, "after": ""},
    )

    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.stage == target
    assert deal.version == 2
    assert StageChange.objects.filter(deal=deal, from_stage=source, to_stage=target).exists()
    html = response.content.decode()
    assert re.search(rf'id="deal-{deal.pk}"[^>]*data-stage-id="{target.pk}"', html)
    assert f'id="col-head-{source.pk}" hx-swap-oob="true"' in html
    assert f'id="col-head-{target.pk}" hx-swap-oob="true"' in html
    assert 'data-version="2"' in html


def test_a_drop_lands_below_the_card_it_was_dropped_under(rep, team_a):
    target = stage_named("Contact")
    first = DealFactory(owner=rep, stage=target, title="first", position=1024)
    DealFactory(owner=rep, stage=target, title="second", position=2048)
    deal = DealFactory(owner=rep, title="moved")

    htmx_post(
        signed_in(rep),
        reverse("deal-move", args=[deal.pk]),
        {"stage": target.pk, "version": 1, "after": first.pk},
    )

    assert column_titles(target) == ["first", "moved", "second"]


def test_a_drop_at_the_top_of_a_column_puts_the_deal_first(rep, team_a):
    target = stage_named("Contact")
    DealFactory(owner=rep, stage=target, title="was first", position=0)
    deal = DealFactory(owner=rep, title="moved")

    htmx_post(
        signed_in(rep),
        reverse("deal-move", args=[deal.pk]),
        {"stage": target.pk, "version": 1, "after": ""},
    )

    assert column_titles(target) == ["moved", "was first"]


def test_reordering_within_a_column_keeps_the_stage_and_changes_the_order(rep, team_a):
    stage = stage_named("Prospecting")
    a = DealFactory(owner=rep, stage=stage, title="a", position=1024)
    b = DealFactory(owner=rep, stage=stage, title="b", position=2048)
    c = DealFactory(owner=rep, stage=stage, title="c", position=3072)

    response = htmx_post(
        signed_in(rep),
        reverse("deal-move", args=[a.pk]),
        {"stage": stage.pk, "version": 1, "after": b.pk},
    )

    assert response.status_code == 200
    assert column_titles(stage) == ["b", "a", "c"]
    assert not StageChange.objects.filter(deal=a).exists()
    assert c.stage_id == stage.pk


def test_a_keyboard_move_without_a_drop_position_goes_to_the_top_of_the_new_column(rep, team_a):
    target = stage_named("Proposal")
    DealFactory(owner=rep, stage=target, title="older", position=0)
    deal = DealFactory(owner=rep, title="keyboard")

    response = htmx_post(
        signed_in(rep), reverse("deal-move", args=[deal.pk]), {"stage": target.pk, "version": 1}
    )

    assert response.status_code == 200
    assert column_titles(target) == ["keyboard", "older"]
    assert triggers(response)["deal:changed"]["message"] == "“keyboard” moved to Proposal."


# --- refusals ---------------------------------------------------------------------------------


def test_a_stale_version_is_refused_with_409_the_current_card_and_a_message(rep, team_a):
    current_stage = stage_named("Negotiation")
    deal = DealFactory(owner=rep, stage=current_stage, version=4)

    response = htmx_post(
        signed_in(rep),
        reverse("deal-move", args=[deal.pk]),
        {"stage": stage_named("Contact").pk, "version": 3, "after": ""},
    )

    assert response.status_code == 409
    deal.refresh_from_db()
    assert deal.stage == current_stage
    assert deal.version == 4
    html = response.content.decode()
    assert re.search(rf'id="deal-{deal.pk}"[^>]*data-stage-id="{current_stage.pk}"', html)
    assert 'data-version="4"' in html
    toast = triggers(response)["toast"]
    assert toast["level"] == "error"
    assert "changed by someone else" in toast["message"]


def test_a_stage_with_required_fields_asks_for_exactly_those_then_moves(rep, team_a):
    target = stage_named("Proposal")
    target.required_fields = ["expected_close_date", "next_step"]
    target.save()
    deal = DealFactory(owner=rep, expected_close_date=None, next_step="")
    client = signed_in(rep)
    url = reverse("deal-move", args=[deal.pk])

    asked = htmx_post(client, url, {"stage": target.pk, "version": 1, "after": ""})

    assert asked.status_code == 422
    assert asked["HX-Retarget"] == "#dialog-body"
    form = asked.content.decode()
    assert set(re.findall(r'name="required" value="(\w+)"', form)) == {
        "expected_close_date",
        "next_step",
    }
    assert 'name="amount"' not in form
    deal.refresh_from_db()
    assert deal.stage == stage_named("Prospecting")

    still_missing = htmx_post(
        client,
        url,
        {
            "stage": target.pk,
            "version": 1,
            "after": "",
            "required": ["expected_close_date", "next_step"],
            "expected_close_date": "2031-05-01",
            "next_step": "",
        },
    )
    assert still_missing.status_code == 422
    assert "This field is required." in still_missing.content.decode()

    done = htmx_post(
        client,
        url,
        {
            "stage": target.pk,
            "version": 1,
            "after": "",
            "required": ["expected_close_date", "next_step"],
            "expected_close_date": "2031-05-01",
            "next_step": "Send the proposal",
        },
    )
    assert done.status_code == 200
    deal.refresh_from_db()
    assert deal.stage == target
    assert str(deal.expected_close_date) == "2031-05-01"
    assert deal.next_step == "Send the proposal"
    assert "dialog:close" in triggers(done)


def test_a_required_company_typed_by_name_is_created_with_the_move(rep, team_a):
    target = stage_named("Contact")
    target.required_fields = ["company"]
    target.save()
    deal = DealFactory(owner=rep, company=None)

    response = htmx_post(
        signed_in(rep),
        reverse("deal-move", args=[deal.pk]),
        {"stage": target.pk, "version": 1, "required": ["company"], "company": "Umbrella Inc"},
    )

    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.stage == target
    assert deal.company.name == "Umbrella Inc"


def test_moving_a_teammates_deal_is_refused_with_403(people):
    deal = DealFactory(owner=people["teammate"])

    response = htmx_post(
        signed_in(people["rep"]),
        reverse("deal-move", args=[deal.pk]),
        {"stage": stage_named("Contact").pk, "version": 1},
    )

    assert response.status_code == 403
    assert "not change it" in triggers(response)["toast"]["message"]
    deal.refresh_from_db()
    assert deal.stage == stage_named("Prospecting")


def test_a_deal_outside_sight_is_404_for_every_board_endpoint(people):
    deal = DealFactory(owner=people["outsider"])
    client = signed_in(people["rep"])
    stage = stage_named("Contact")

    assert (
        client.post(
            reverse("deal-move", args=[deal.pk]), {"stage": stage.pk, "version": 1}
        ).status_code
        == 404
    )
    assert client.post(reverse("deal-won", args=[deal.pk]), {"version": 1}).status_code == 404
    assert client.get(reverse("deal-lost", args=[deal.pk])).status_code == 404
    assert client.post(reverse("deal-lost", args=[deal.pk]), lost_for("x")).status_code == 404
    deal.refresh_from_db()
    assert deal.stage == stage_named("Prospecting")
    assert deal.status == Deal.Status.OPEN


def test_a_manager_may_move_a_team_members_deal(people):
    deal = DealFactory(owner=people["rep"])

    response = htmx_post(
        signed_in(people["manager"]),
        reverse("deal-move", args=[deal.pk]),
        {"stage": stage_named("Contact").pk, "version": 1},
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"stage": "abc", "version": 1}, "Stage: Enter a whole number."),
        ({"stage": 1}, "Version: This field is required."),
        ({"stage": 999999, "version": 1}, "That stage is not on this deal's board."),
    ],
)
def test_bad_move_input_is_a_400_with_a_clear_message(rep, team_a, data, message):
    deal = DealFactory(owner=rep)

    response = htmx_post(signed_in(rep), reverse("deal-move", args=[deal.pk]), data)

    assert response.status_code == 400
    assert response.content.decode() == message


def test_a_lost_deal_cannot_be_dragged_until_reopened(rep, team_a):
    deal = DealFactory(owner=rep, status=Deal.Status.LOST)

    response = htmx_post(
        signed_in(rep),
        reverse("deal-move", args=[deal.pk]),
        {"stage": stage_named("Contact").pk, "version": 1},
    )

    assert response.status_code == 400
    assert "reopen it" in response.content.decode()


def test_every_board_write_needs_the_csrf_token(rep, team_a):
    deal = DealFactory(owner=rep)
    client = signed_in(rep, enforce_csrf_checks=True)
    stage = stage_named("Contact")
    posts = [
        (reverse("deal-move", args=[deal.pk]), {"stage": stage.pk, "version": 1}),
        (reverse("deal-won", args=[deal.pk]), {"version": 1}),
        (
            reverse("deal-lost", args=[deal.pk]),
            {**lost_for("Price"), "version": 1},
        ),
        (reverse("board-quick-add", args=[stage.pipeline_id, stage.pk]), {"title": "x"}),
    ]

    for url, data in posts:
        assert client.post(url, data).status_code == 403

    deal.refresh_from_db()
    assert deal.version == 1
    assert Deal.objects.count() == 1


def test_with_the_csrf_header_a_move_goes_through(rep, team_a):
    deal = DealFactory(owner=rep)
    client = signed_in(rep, enforce_csrf_checks=True)
    client.get(reverse("board"))  # sets the CSRF cookie, as the browser does
    token = client.cookies["csrftoken"].value

    response = client.post(
        reverse("deal-move", args=[deal.pk]),
        {"stage": stage_named("Contact").pk, "version": 1},
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 200


# --- won and lost ----------------------------------------------------------------------------


def test_the_won_zone_marks_the_deal_won_in_the_won_stage(rep, team_a):
    deal = DealFactory(owner=rep, amount=Decimal("5000"))

    response = htmx_post(signed_in(rep), reverse("deal-won", args=[deal.pk]), {"version": 1})

    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.status == Deal.Status.WON
    assert deal.stage == stage_named("Closed")
    assert (
        f'id="col-head-{stage_named("Closed").pk}" hx-swap-oob="true"' in response.content.decode()
    )


def test_the_won_zone_asks_for_the_amount_when_it_is_missing(rep, team_a):
    deal = DealFactory(owner=rep, amount=None)
    client = signed_in(rep)
    url = reverse("deal-won", args=[deal.pk])

    asked = htmx_post(client, url, {"version": 1})

    assert asked.status_code == 422
    assert re.findall(r'name="required" value="(\w+)"', asked.content.decode()) == ["amount"]
    deal.refresh_from_db()
    assert deal.status == Deal.Status.OPEN

    negative = htmx_post(client, url, {"version": 1, "required": "amount", "amount": "-5"})
    assert negative.status_code == 422

    done = htmx_post(client, url, {"version": 1, "required": "amount", "amount": "7500"})
    assert done.status_code == 200
    deal.refresh_from_db()
    assert deal.status == Deal.Status.WON
    assert deal.amount == Decimal("7500")


def test_the_lost_zone_asks_why_and_needs_a_reason(rep, team_a):
    deal = DealFactory(owner=rep)
    client = signed_in(rep)
    url = reverse("deal-lost", args=[deal.pk])

    form = client.get(url, {"version": 1}, HTTP_HX_REQUEST="true")
    empty = htmx_post(client, url, {"version": 1, "lost_reason_detail": "  "})

    assert form.status_code == 200
    assert "Why was" in form.content.decode()
    assert 'name="lost_reason"' in form.content.decode()
    assert "dialog:open" in triggers(form, "HX-Trigger-After-Settle")
    assert empty.status_code == 422
    assert "Say why the deal was lost." in empty.content.decode()
    deal.refresh_from_db()
    assert deal.status == Deal.Status.OPEN


def test_a_lost_deal_leaves_the_board_and_keeps_its_stage(rep, team_a):
    stage = stage_named("Negotiation")
    deal = DealFactory(owner=rep, stage=stage)

    response = htmx_post(
        signed_in(rep),
        reverse("deal-lost", args=[deal.pk]),
        {"version": 1, **lost_for("Price")},
    )

    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.status == Deal.Status.LOST
    assert deal.stage == stage
    assert deal.lost_reason_text == "Price"
    html = response.content.decode()
    assert f'<li id="deal-{deal.pk}" hx-swap-oob="delete"></li>' in html
    assert f'id="col-head-{stage.pk}" hx-swap-oob="true"' in html


def test_losing_with_a_stale_version_is_refused(rep, team_a):
    deal = DealFactory(owner=rep, version=2)

    response = htmx_post(
        signed_in(rep),
        reverse("deal-lost", args=[deal.pk]),
        {"version": 1, **lost_for("Price")},
    )

    assert response.status_code == 409
    deal.refresh_from_db()
    assert deal.status == Deal.Status.OPEN


# --- quick add ---------------------------------------------------------------------------------


def test_quick_add_creates_a_deal_on_top_of_the_column_with_a_new_company(rep, team_a):
    stage = stage_named("Qualification")
    DealFactory(owner=rep, stage=stage, title="older", position=0)

    response = htmx_post(
        signed_in(rep),
        reverse("board-quick-add", args=[stage.pipeline_id, stage.pk]),
        {"title": "Wayne Enterprises", "amount": "42000", "company": "Wayne Corp"},
    )

    assert response.status_code == 201
    deal = Deal.objects.get(title="Wayne Enterprises")
    assert deal.stage == stage
    assert deal.owner == rep
    assert deal.amount == Decimal("42000")
    assert deal.company.name == "Wayne Corp"
    assert deal.company.owner == rep
    assert column_titles(stage) == ["Wayne Enterprises", "older"]
    html = response.content.decode()
    assert f'id="deal-{deal.pk}"' in html
    assert f'id="col-head-{stage.pk}" hx-swap-oob="true"' in html


def test_quick_add_reuses_a_company_with_the_same_name_ignoring_case(rep, team_a):
    existing = CompanyFactory(name="Stark Industries")
    stage = stage_named("Prospecting")

    htmx_post(
        signed_in(rep),
        reverse("board-quick-add", args=[stage.pipeline_id, stage.pk]),
        {"title": "Arc reactor", "company": "stark industries"},
    )

    assert Deal.objects.get(title="Arc reactor").company == existing
    assert Company.objects.filter(name__iexact="stark industries").count() == 1


def test_quick_add_without_a_title_shows_the_form_with_its_error(rep, team_a):
    stage = stage_named("Prospecting")

    response = htmx_post(
        signed_in(rep),
        reverse("board-quick-add", args=[stage.pipeline_id, stage.pk]),
        {"title": "", "amount": "abc", "company": "Nope Ltd"},
    )

    assert response.status_code == 422
    assert response["HX-Retarget"] == f"#quick-add-{stage.pk}"
    html = response.content.decode()
    assert "This field is required." in html
    assert "Enter a number." in html
    assert not Deal.objects.exists()
    assert not Company.objects.filter(name="Nope Ltd").exists()


def test_quick_add_asks_for_the_fields_the_stage_requires(rep, team_a):
    stage = stage_named("Proposal")
    stage.required_fields = ["expected_close_date"]
    stage.save()
    url = reverse("board-quick-add", args=[stage.pipeline_id, stage.pk])
    client = signed_in(rep)

    form = client.get(url).content.decode()
    refused = htmx_post(client, url, {"title": "Needs a date"})
    accepted = htmx_post(client, url, {"title": "Has a date", "expected_close_date": "2031-02-03"})

    assert f'id="qa-{stage.pk}-expected_close_date"' in form
    assert refused.status_code == 422
    assert accepted.status_code == 201
    assert Deal.objects.get().title == "Has a date"


def test_the_board_fetches_a_columns_quick_add_form_when_it_is_opened(rep, team_a):
    stage = stage_named("Prospecting")
    url = reverse("board-quick-add", args=[stage.pipeline_id, stage.pk])
    client = signed_in(rep)

    board = client.get(reverse("board")).content.decode()
    fetched = client.get(url)

    opener = re.search(rf'<details class="quick-add" id="quick-add-{stage.pk}"[^>]*>', board)
    assert f'hx-get="{url}"' in opener.group(0)
    assert 'hx-trigger="toggle once"' in opener.group(0)
    assert f'id="qa-{stage.pk}-title"' not in board
    assert fetched.status_code == 200
    html = fetched.content.decode()
    assert f'<details class="quick-add" id="quick-add-{stage.pk}" open>' in html
    assert f'id="qa-{stage.pk}-title"' in html
    assert f'hx-post="{url}"' in html
    assert not Deal.objects.exists()


def test_company_suggestions_list_matching_names_first_those_that_start_with_the_text(rep, team_a):
    CompanyFactory(name="Acme Corp")
    CompanyFactory(name="Big Acme")
    CompanyFactory(name="Globex")

    html = signed_in(rep).get(reverse("company-options"), {"company": "acme"}).content.decode()

    assert re.findall(r'<option value="([^"]+)">', html) == ["Acme Corp", "Big Acme"]


# --- live updates -------------------------------------------------------------------------------


def test_the_live_poll_answers_204_until_someone_changes_the_board(
    rep, teammate, team_a, django_capture_on_commit_callbacks
):
    pipeline = default_pipeline()
    deal = DealFactory(owner=teammate)
    client = signed_in(rep)
    version = live.current_version(pipeline.pk)
    url = reverse("board-live", args=[pipeline.pk])

    quiet = client.get(url, {"v": version}, HTTP_HX_REQUEST="true")
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(teammate).post(
            reverse("deal-move", args=[deal.pk]),
            {"stage": stage_named("Contact").pk, "version": 1},
        )
    changed = client.get(url, {"v": version}, HTTP_HX_REQUEST="true")

    assert quiet.status_code == 204
    assert quiet.content == b""
    assert changed.status_code == 200
    detail = triggers(changed)["board:changed"]
    assert detail["version"] > version
    assert set(detail["columns"]) == {stage_named("Prospecting").pk, stage_named("Contact").pk}


def test_the_live_poll_asks_for_a_full_reload_when_it_cannot_say_what_changed(rep, team_a):
    pipeline = default_pipeline()
    live.bump_board(pipeline.pk)
    version = live.current_version(pipeline.pk)

    response = signed_in(rep).get(
        reverse("board-live", args=[pipeline.pk]), {"v": version - 1, "junk": "1"}
    )
    garbage = signed_in(rep).get(reverse("board-live", args=[pipeline.pk]), {"v": "abc"})

    detail = triggers(response)["board:changed"]
    assert detail["columns"] == "*"
    assert detail["stages"] == ",".join(str(s.pk) for s in pipeline.stages.order_by("order"))
    assert garbage.status_code == 200


def test_a_move_tells_open_boards_once_with_both_columns(
    rep, team_a, django_capture_on_commit_callbacks
):
    pipeline = default_pipeline()
    deal = DealFactory(owner=rep)
    before = live.current_version(pipeline.pk)

    with django_capture_on_commit_callbacks(execute=True):
        htmx_post(
            signed_in(rep),
            reverse("deal-move", args=[deal.pk]),
            {"stage": stage_named("Proposal").pk, "version": 1},
        )

    version, columns = live.changes_since(pipeline.pk, before)
    assert version == before + 1
    assert columns == sorted([stage_named("Prospecting").pk, stage_named("Proposal").pk])
