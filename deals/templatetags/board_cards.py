"""`{% board_card deal %}`: one card of the board as HTML.

The board shows up to 7 × 30 cards; through the template engine each card (about forty
variable and tag nodes) costs ~1 ms, i.e. most of the page's time budget. Built here with
`format_html` a card costs a few dozen microseconds. `deals/board.html#card` wraps this tag, so
htmx still swaps a card through the template's `card` partial.

The "Move to…" menu of a card is filled from one `<template>` of the page when it opens
(static/js/board.js), rather than repeated on 200 cards.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from deals.templatetags.board_format import field_label, money

register = template.Library()


def _short_date(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        value = timezone.localtime(value)
    return date_format(value, "M j")


def _initials(user: Any) -> str:
    return str(getattr(user, "initials", "") or "")


def _menu(deal: Any) -> SafeString:
    if not getattr(deal, "can_write", False):
        return mark_safe("")
    return format_html(
        '<details class="card-menu">'
        '<summary id="menu-{}" aria-label="Move or close “{}”" title="Move to…">'
        '<span aria-hidden="true">⋯</span></summary>'
        '<div class="menu" role="group" aria-label="Move to"></div>'
        "</details>",
        deal.pk,
        deal.title,
    )


def _facts(deal: Any, today: dt.date) -> SafeString:
    parts = []
    close = deal.expected_close_date
    if close:
        late = close < today and deal.status == "open"
        parts.append(
            format_html(
                '<span class="fact{}" title="Expected close date">closes {}</span>',
                " late" if late else "",
                _short_date(close),
            )
        )
    parts.append(
        format_html(
            '<span class="fact" title="Days in this stage">{} d in stage</span>',
            getattr(deal, "days_in_stage", 0),
        )
    )
    if deal.stalled:
        reasons = ", ".join(field_label(r) for r in deal.stall_reasons or [])
        parts.append(
            format_html('<span class="badge stalled" title="Stalled: {}">Stalled</span>', reasons)
        )
    if deal.status == "lost":
        parts.append(
            format_html('<span class="badge lost" title="{}">Lost</span>', deal.lost_reason)
        )
    return format_html('<div class="card-facts">{}</div>', mark_safe("".join(parts)))


def _next_step(deal: Any) -> SafeString:
    if deal.status == "lost":
        return mark_safe("")
    subject = getattr(deal, "next_activity_subject", None)
    if subject:
        due = getattr(deal, "next_activity_due", None)
        overdue = getattr(deal, "next_overdue", False)
        return format_html(
            '<div class="card-next{}" title="Next step{}"><span class="kind">{}</span> {}{}</div>',
            " overdue" if overdue else "",
            " (overdue)" if overdue else "",
            field_label(getattr(deal, "next_activity_kind", "") or ""),
            Truncator(subject).chars(40),
            f" · {_short_date(due)}" if due else "",
        )
    if deal.next_step:
        return format_html(
            '<div class="card-next" title="Next step">→ {}</div>',
            Truncator(deal.next_step).chars(40),
        )
    return mark_safe('<div class="card-next none">No next step</div>')


def render_card(deal: Any, *, today: dt.date | None = None, oob: bool = False) -> SafeString:
    today = today or timezone.localdate()
    classes = ["card", f"status-{conditional_escape(deal.status)}"]
    if deal.stalled:
        classes.append("is-stalled")
    if not getattr(deal, "can_write", False):
        classes.append("readonly")
    company = deal.company.name if deal.company_id and deal.company else ""
    return format_html(
        '<li class="{classes}" id="deal-{pk}" data-deal-id="{pk}" data-stage-id="{stage}" '
        'data-version="{version}" data-status="{status}"{oob}>'
        '<div class="card-top"><a class="card-title" id="title-{pk}" href="{url}">{title}</a>'
        "{menu}</div>"
        "{company}"
        '<div class="card-row"><span class="card-amount">{amount}</span>'
        '<span class="avatar small" title="Owner: {owner}">{initials}</span></div>'
        "{facts}{next}</li>",
        classes=" ".join(classes),
        pk=deal.pk,
        stage=deal.stage_id,
        version=deal.version,
        status=deal.status,
        oob=mark_safe(' hx-swap-oob="true"') if oob else "",
        url=reverse("deal-detail", args=[deal.pk]),
        title=deal.title,
        menu=_menu(deal),
        company=format_html('<div class="card-company">{}</div>', company) if company else "",
        amount=money(deal.amount, deal.currency),
        owner=str(deal.owner),
        initials=_initials(deal.owner),
        facts=_facts(deal, today),
        next=_next_step(deal),
    )


@register.simple_tag(takes_context=True)
def board_card(context: template.Context, deal: Any) -> SafeString:
    return render_card(deal, today=context.get("today"), oob=bool(context.get("oob")))
