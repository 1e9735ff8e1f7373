"""Whose card is it, in a real browser: avatars told apart by colour and name, a view-only card
that says why it does not move, the team picker, the whole-pipeline total after a move and a
drop on the Won zone that confirms."""

import re
from decimal import Decimal

import pytest

from deals.models import Deal
from tests.browser.test_board_browser import column_ids, drag, wait_saved
from tests.factories import DealFactory, TeamFactory, UserFactory, stage_named

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

REASON = "This is Ravi Rao’s deal: only Ravi, their manager or an admin can move it."


@pytest.fixture
def north(db):
    """Rita and Ravi, both "RR", in Maria's team; Sam and Sara, both "SS", in Mark's."""
    rita = UserFactory(username="rita", first_name="Rita", last_name="Reyes", role="rep")
    ravi = UserFactory(username="ravi", first_name="Ravi", last_name="Rao", role="rep")
    maria = UserFactory(username="maria", first_name="Maria", last_name="Novak", role="manager")
    sam = UserFactory(username="sam", first_name="Sam", last_name="Sutton", role="rep")
    sara = UserFactory(username="sara", first_name="Sara", last_name="Silva", role="rep")
    TeamFactory(name="Team North", members=[rita, ravi], managers=[maria])
    TeamFactory(name="Team South", members=[sam, sara])
    return {u.username: u for u in (rita, ravi, maria, sam, sara)}


def avatar_colour(page, deal):
    return page.locator(f"#deal-{deal.pk} .avatar").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )


def test_two_people_with_the_same_initials_have_other_colours_and_their_names(open_page, north):
    rita, ravi = north["rita"], north["ravi"]
    hers = DealFactory(owner=rita, title="Hers")
    his = DealFactory(owner=ravi, title="His")
    page = open_page(rita)

    her_avatar = page.locator(f"#deal-{hers.pk} .avatar")
    his_avatar = page.locator(f"#deal-{his.pk} .avatar")
    assert her_avatar.inner_text() == his_avatar.inner_text() == "RR"
    assert avatar_colour(page, hers) != avatar_colour(page, his)
    assert her_avatar.get_attribute("title") == "Owner: Rita Reyes"
    assert his_avatar.get_attribute("title") == "Owner: Ravi Rao"
    # Screen readers hear the owner with the card's name.
    assert page.get_by_role("listitem", name=re.compile("owner Ravi Rao")).count() == 1
    assert page.get_by_role("img", name="Owner: Rita Reyes").count() == 1
    assert page.errors == []


def test_dragging_a_view_only_card_says_why_and_leaves_it_where_it_was(open_page, north):
    rita, ravi = north["rita"], north["ravi"]
    prospecting, contact = stage_named("Prospecting"), stage_named("Contact")
    his = DealFactory(owner=ravi, title="Not yours", stage=prospecting)
    page = open_page(rita)

    card = page.locator(f"#deal-{his.pk}")
    assert card.get_by_role("button", name=re.compile("^View only")).is_visible()
    drag(page, card, f"#cards-{contact.pk}")

    toast = page.locator(".toast", has_text=REASON)
    toast.wait_for()
    page.wait_for_timeout(300)
    assert column_ids(page, prospecting) == [his.pk]
    assert column_ids(page, contact) == []
    his.refresh_from_db()
    assert his.stage == prospecting
    assert his.version == 1
    assert page.errors == []


def test_the_keyboard_on_a_view_only_card_says_why_too(open_page, north):
    his = DealFactory(owner=north["ravi"], title="Still not yours")
    page = open_page(north["rita"])

    page.focus(f"#title-{his.pk}")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent")
    assert "View only" in focused
    page.keyboard.press("Enter")

    page.locator(".toast", has_text=REASON).wait_for()


def test_the_team_picker_shows_one_team_and_keeps_it_in_the_url(open_page, north, live_server):
    admin = UserFactory(username="ada", first_name="Ada", last_name="Admin", role="admin")
    north_deal = DealFactory(owner=north["rita"], title="Northern")
    south_deal = DealFactory(owner=north["sara"], title="Southern")
    page = open_page(admin)
    assert page.locator("#f-team option").all_inner_texts() == [
        "Every team",
        "Team North",
        "Team South",
    ]

    page.select_option("#f-team", label="Team South")

    page.wait_for_url(re.compile(r"team=\d+"))
    page.locator(f"#deal-{north_deal.pk}").wait_for(state="detached")
    assert page.locator(f"#deal-{south_deal.pk}").is_visible()
    assert page.locator("#pipeline-total .pt-count").inner_text() == "1 deal"
    page.reload()
    assert page.locator("#f-team option:checked").inner_text() == "Team South"
    assert page.locator(f"#deal-{north_deal.pk}").count() == 0


def test_the_pipeline_total_follows_a_move_and_a_won_drop_confirms(open_page, north):
    rita = north["rita"]
    negotiation = stage_named("Negotiation")
    moved = DealFactory(owner=rita, title="Climbing", amount=Decimal("10000"))
    won = DealFactory(owner=rita, title="Signed", amount=Decimal("5000"))
    page = open_page(rita)
    total = page.locator("#pipeline-total .pt-weighted")
    before = total.get_attribute("data-weighted")

    drag(page, page.locator(f"#deal-{moved.pk}"), f"#cards-{negotiation.pk}")
    wait_saved(page)

    page.wait_for_function(
        "() => document.querySelector('#pipeline-total .pt-weighted').dataset.weighted"
        f" !== '{before}'"
    )
    expected = (
        Decimal("10000") * negotiation.probability / 100
        + Decimal("5000") * (stage_named("Prospecting").probability) / 100
    )
    assert Decimal(total.get_attribute("data-weighted")) == expected

    drag(page, page.locator(f"#deal-{won.pk}"), ".dropzone.won")
    page.locator(".toast.success", has_text="is won").wait_for()
    won.refresh_from_db()
    assert won.status == Deal.Status.WON
    assert page.locator("#pipeline-total .pt-count").inner_text() == "2 deals"
    assert page.errors == []


def test_a_teammates_deal_page_says_view_only_at_the_top(open_page, north):
    his = DealFactory(owner=north["ravi"], title="Look, don't touch")
    page = open_page(north["rita"], path=f"/deals/{his.pk}/")

    note = page.locator(".view-only-note").inner_text()
    assert note.startswith("View only — owned by")
    assert "Ravi Rao: only Ravi, their manager or an admin can change it." in note
    assert page.get_by_role("button", name="Mark won").count() == 0
    assert page.get_by_role("button", name=re.compile("^Edit")).count() == 0
