"""Board cards: drawn by the board template's `card` partial from a `CardView`, and reused by
each process for an equal view and shared between processes
(deals/templatetags/card_cache.py)."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from deals.models import Deal
from deals.templatetags import card_cache
from deals.templatetags.card_cache import render_card
from deals.views.board import card_for
from tests.clients import signed_in
from tests.factories import ActivityFactory, CompanyFactory, DealFactory, lost_reason_entry

pytestmark = pytest.mark.django_db

NASTY = "<script>alert('x')</script> & \"quotes\""


def card_html(html: str, deal: Deal) -> str:
    """The `<li>` of one card in a page."""
    return re.search(rf'<li class="card[^"]*"\s+id="deal-{deal.pk}".*?</li>', html, re.S).group(0)


def board_card(user, deal: Deal, **params) -> str:
    return card_html(signed_in(user).get(reverse("board"), params).content.decode(), deal)


def test_a_card_escapes_everything_people_typed(rep, team_a):
    deal = DealFactory(
        owner=rep,
        title=NASTY,
        company=CompanyFactory(name=NASTY),
        next_step=NASTY,
        stalled=True,
        stall_reasons=["idle"],
    )
    lost = DealFactory(
        owner=rep, title="Gone", status=Deal.Status.LOST, lost_reason=lost_reason_entry(NASTY)
    )
    planned = DealFactory(owner=rep)
    ActivityFactory(owner=rep, deal=planned, subject=NASTY, due_at=timezone.now())

    cards = [board_card(rep, deal), board_card(rep, planned), board_card(rep, lost, status="lost")]

    escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quotes&quot;"
    for card in cards:
        assert "<script>" not in card
    assert f">{escaped}</a>" in cards[0]  # the title
    assert f'aria-label="Move or close “{escaped}”"' in cards[0]
    assert f'<div class="card-company">{escaped}</div>' in cards[0]
    assert f'<div class="card-next" title="Next step">→ {escaped}</div>' in cards[0]
    assert f'<span class="kind">Call</span> {escaped} · ' in cards[1]
    assert f'<span class="badge lost" title="{escaped}">Lost</span>' in cards[2]


def test_a_card_shows_its_facts_with_the_same_markup_as_before(rep, team_a):
    """Classes, data attributes and titles that board.js, the CSS and the tests rely on."""
    deal = DealFactory(
        owner=rep,
        title="Initech expansion",
        amount=Decimal("99.50"),
        currency="EUR",
        expected_close_date=timezone.localdate() - dt.timedelta(days=1),
        stage_entered_at=timezone.now() - dt.timedelta(days=3),
        stalled=True,
        stall_reasons=["idle", "no_next_step"],
    )
    ActivityFactory(
        owner=rep,
        deal=deal,
        kind="call",
        subject="Call back about the renewal terms, and then more",
        due_at=timezone.now() - dt.timedelta(hours=1),
    )

    card = board_card(rep, deal)

    closes = deal.expected_close_date
    assert card.startswith(
        f'<li class="card status-open is-stalled" id="deal-{deal.pk}" data-deal-id="{deal.pk}"'
        f' data-stage-id="{deal.stage_id}" data-version="1" data-status="open"'
        f' aria-label="Initech expansion, owner {rep}">'
    )
    assert '<span class="card-amount">€99.50</span>' in card
    assert (
        f'<span class="avatar avatar-c{rep.pk % 12} small" title="Owner: {rep}" role="img"'
        f' aria-label="Owner: {rep}">{rep.initials}</span>'
    ) in card
    assert (
        '<span class="fact late" title="Expected close date">'
        f"closes {closes:%b} {closes.day}</span>"
    ) in card
    assert '<span class="fact" title="Days in this stage">3 d in stage</span>' in card
    assert '<span class="badge stalled" title="Stalled: Idle, No next step">Stalled</span>' in card
    assert '<div class="card-next overdue" title="Next step (overdue)">' in card
    assert '<span class="kind">Call</span> Call back about the renewal terms, and… · ' in card
    assert f'<summary id="menu-{deal.pk}"' in card


def test_a_redrawn_card_shows_changes_that_leave_the_deal_version_alone(rep, team_a):
    """A card is reused only for an equal view: a renamed company or owner, a stall flagged by
    the sweep's bulk update and a newly planned activity all draw it afresh."""
    company = CompanyFactory(name="Old name")
    deal = DealFactory(owner=rep, company=company, next_step="")
    before = board_card(rep, deal)

    company.name = "New name"
    company.save()
    rep.first_name, rep.last_name = "Rita", "Quinn"
    rep.save()
    Deal.objects.filter(pk=deal.pk).update(stalled=True, stall_reasons=["idle"])
    ActivityFactory(owner=rep, deal=deal, subject="Send the quote", due_at=None)
    after = board_card(rep, deal)

    assert "Old name" in before
    assert "No next step" in before
    assert "is-stalled" not in before
    assert "New name" in after
    assert "Old name" not in after
    assert 'aria-label="Owner: Rita Quinn">RQ</span>' in after
    assert "is-stalled" in after
    assert "Send the quote" in after
    assert "No next step" not in after
    assert 'data-version="1"' in before
    assert 'data-version="1"' in after


def test_who_may_move_a_card_is_part_of_what_is_reused(people):
    deal = DealFactory(owner=people["rep"])

    mine = board_card(people["rep"], deal)
    theirs = board_card(people["teammate"], deal)

    assert f'id="menu-{deal.pk}"' in mine
    assert "readonly" not in mine
    assert f'id="menu-{deal.pk}"' not in theirs
    assert "readonly" in theirs


def test_a_card_drawn_out_of_band_is_not_reused_in_a_column_or_the_reverse(rep, team_a):
    deal = DealFactory(owner=rep)
    card = card_for(deal.pk, viewer=rep, writable={rep.pk}).card

    in_column = render_card(card, oob=False)
    out_of_band = render_card(card, oob=True)

    assert 'hx-swap-oob="true"' not in in_column
    assert out_of_band.count('hx-swap-oob="true"') == 1
    assert out_of_band.replace(' hx-swap-oob="true"', "") == in_column
    assert render_card(card, oob=False) == in_column


# --- shared between processes -------------------------------------------------------------------

SHARED_CARDS = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "cards": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cards"},
}


@pytest.fixture
def drawings(monkeypatch, settings):
    """The cards the template engine draws, in order; a shared "cards" cache and an empty
    process cache (as in a freshly started worker)."""
    settings.CACHES = SHARED_CARDS
    card_cache._kept.clear()
    drawn = []
    draw = card_cache._draw

    def counted(key):
        drawn.append(key[0].pk)
        return draw(key)

    monkeypatch.setattr(card_cache, "_draw", counted)
    yield drawn
    card_cache._kept.clear()


def test_a_card_another_worker_drew_is_not_drawn_again(rep, team_a, drawings):
    deals = DealFactory.create_batch(3, owner=rep)

    first = signed_in(rep).get(reverse("board")).content.decode()
    card_cache._kept.clear()  # another worker: nothing of its own yet, the same shared cache
    second = signed_in(rep).get(reverse("board")).content.decode()

    assert sorted(drawings) == sorted(deal.pk for deal in deals)  # each drawn once, not twice
    assert [card_html(second, deal) for deal in deals] == [card_html(first, deal) for deal in deals]


def test_a_moved_card_is_drawn_anew_for_every_worker_once(rep, team_a, drawings):
    deal = DealFactory(owner=rep)
    signed_in(rep).get(reverse("board"))
    Deal.objects.filter(pk=deal.pk).update(version=deal.version + 1, title="Renamed")

    card_cache._kept.clear()
    html = signed_in(rep).get(reverse("board")).content.decode()

    assert drawings == [deal.pk, deal.pk]
    assert "Renamed" in card_html(html, deal)
    assert f'data-version="{deal.version + 1}"' in card_html(html, deal)


def test_other_code_does_not_reuse_what_the_old_code_drew(rep, team_a, drawings, monkeypatch):
    deal = DealFactory(owner=rep)
    signed_in(rep).get(reverse("board"))

    card_cache._kept.clear()
    monkeypatch.setattr(card_cache, "code_digest", lambda: "after-a-deploy")
    signed_in(rep).get(reverse("board"))

    assert drawings == [deal.pk, deal.pk]


def test_equal_views_have_one_shared_key_and_a_changed_one_another(rep, team_a):
    deal = DealFactory(owner=rep)
    card = card_for(deal.pk, viewer=rep, writable={rep.pk}).card
    again = card_for(deal.pk, viewer=rep, writable={rep.pk}).card
    read_only = card_for(deal.pk, viewer=rep, writable=set()).card

    assert card is not again
    assert card_cache.shared_key((card, False)) == card_cache.shared_key((again, False))
    assert card_cache.shared_key((card, False)) != card_cache.shared_key((read_only, False))
    assert card_cache.shared_key((card, False)) != card_cache.shared_key((card, True))
