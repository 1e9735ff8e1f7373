"""`{% board_card deal %}`: one card of the board as HTML.

The board shows up to 7 × 30 cards. Through the template engine a card (about forty variable
and tag nodes, dates and truncation going through translation lookups) cost ~1 ms, i.e. most
of the page's time budget; built here with f-strings and `escape` it costs a few dozen
microseconds. `deals/board.html#card` wraps this tag, so htmx still swaps a card through the
template's `card` partial. Every value from the database goes through `_e` (HTML-escaped).

The "Move to…" menu of a card is filled from one `<template>` of the page when it opens
(static/js/board.js), rather than repeated on 200 cards.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from html import escape
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from deals.templatetags.board_format import field_label, money

register = template.Library()

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _short_date(value: dt.date | dt.datetime) -> str:
    """ "Mar 14" (the board's dates are near: the year would only add noise)."""
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value)
    return f"{MONTHS[value.month - 1]} {value.day}"


def _truncate(text: str, length: int = 40) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


@cache
def _deal_url_pattern() -> str:
    return reverse("deal-detail", args=[987654321]).replace("987654321", "{}")


def _menu(deal: Any) -> str:
    if not getattr(deal, "can_write", False):
        return ""
    return (
        '<details class="card-menu">'
        f'<summary id="menu-{deal.pk}" aria-label="Move or close “{_e(deal.title)}”"'
        ' title="Move to…"><span aria-hidden="true">⋯</span></summary>'
        '<div class="menu" role="group" aria-label="Move to"></div>'
        "</details>"
    )


def _facts(deal: Any, today: dt.date) -> str:
    parts = []
    close = deal.expected_close_date
    if close:
        late = " late" if close < today and deal.status == "open" else ""
        parts.append(
            f'<span class="fact{late}" title="Expected close date">'
            f"closes {_short_date(close)}</span>"
        )
    days = getattr(deal, "days_in_stage", 0)
    parts.append(f'<span class="fact" title="Days in this stage">{days} d in stage</span>')
    if deal.stalled:
        reasons = ", ".join(field_label(r) for r in deal.stall_reasons or [])
        parts.append(f'<span class="badge stalled" title="Stalled: {_e(reasons)}">Stalled</span>')
    if deal.status == "lost":
        parts.append(f'<span class="badge lost" title="{_e(deal.lost_reason)}">Lost</span>')
    return f'<div class="card-facts">{"".join(parts)}</div>'


def _next_step(deal: Any) -> str:
    if deal.status == "lost":
        return ""
    subject = getattr(deal, "next_activity_subject", None)
    if subject:
        due = getattr(deal, "next_activity_due", None)
        overdue = getattr(deal, "next_overdue", False)
        kind = field_label(getattr(deal, "next_activity_kind", "") or "")
        return (
            f'<div class="card-next{" overdue" if overdue else ""}"'
            f' title="Next step{" (overdue)" if overdue else ""}">'
            f'<span class="kind">{_e(kind)}</span> {_e(_truncate(subject))}'
            f"{f' · {_short_date(due)}' if due else ''}</div>"
        )
    if deal.next_step:
        return f'<div class="card-next" title="Next step">→ {_e(_truncate(deal.next_step))}</div>'
    return '<div class="card-next none">No next step</div>'


def render_card(deal: Any, *, today: dt.date | None = None, oob: bool = False) -> SafeString:
    today = today or timezone.localdate()
    classes = f"card status-{_e(deal.status)}"
    if deal.stalled:
        classes += " is-stalled"
    if not getattr(deal, "can_write", False):
        classes += " readonly"
    company = deal.company.name if deal.company_id and deal.company else ""
    company_html = f'<div class="card-company">{_e(company)}</div>' if company else ""
    oob_attr = ' hx-swap-oob="true"' if oob else ""
    owner = deal.owner
    html = (
        f'<li class="{classes}" id="deal-{deal.pk}" data-deal-id="{deal.pk}"'
        f' data-stage-id="{deal.stage_id}" data-version="{deal.version}"'
        f' data-status="{_e(deal.status)}"{oob_attr}>'
        f'<div class="card-top"><a class="card-title" id="title-{deal.pk}"'
        f' href="{_deal_url_pattern().format(deal.pk)}">{_e(deal.title)}</a>{_menu(deal)}</div>'
        f"{company_html}"
        f'<div class="card-row"><span class="card-amount">{_e(money(deal.amount, deal.currency))}'
        f'</span><span class="avatar small" title="Owner: {_e(owner)}">{_e(owner.initials)}</span>'
        f"</div>{_facts(deal, today)}{_next_step(deal)}</li>"
    )
    return mark_safe(html)  # every value interpolated above went through _e()


@register.simple_tag(takes_context=True)
def board_card(context: template.Context, deal: Any) -> SafeString:
    return render_card(deal, today=context.get("today"), oob=bool(context.get("oob")))
