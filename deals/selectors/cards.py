"""What a card of the board shows: the deal's columns, its owner, company and next activity."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import F, QuerySet

from accounts.models import User
from contacts.models import Company
from deals.models import Deal
from followups.models import Activity

# The columns a card reads: loading whole rows for 200 cards costs more than the query itself.
CARD_FIELDS = (
    "id",
    "title",
    "pipeline_id",
    "stage_id",
    "status",
    "amount",
    "currency",
    "expected_close_date",
    "owner_id",
    "company_id",
    "position",
    "version",
    "stage_entered_at",
    "next_step",
    "stalled",
    "stall_reasons",
    "lost_reason",
    "lost_reason_detail",
    "lost_reason__name",  # joined (a short list): the lost badge's title
)
OWNER_FIELDS = ("id", "username", "first_name", "last_name")


def with_card_fields[Q: QuerySet[Deal]](deals: Q) -> Q:
    """The deal columns a card shows (owner and company come from `attach_card_relations`)."""
    return deals.select_related("lost_reason").only(*CARD_FIELDS)


def one_card(deal_id: int, *, viewer: User) -> Deal:
    """One card's deal with its owner, company and next activity (joined: one card is cheaper
    that way than fetched apart)."""
    relations = (*(f"owner__{name}" for name in OWNER_FIELDS), "company__name")
    deal: Deal = (
        Deal.objects.filter(pk=deal_id)
        .select_related("owner", "company", "lost_reason")
        .only(*CARD_FIELDS, *relations)
        .get()
    )
    attach_next_activities([deal], viewer=viewer)
    return deal


def attach_card_relations(
    cards: Sequence[Deal], *, viewer: User, known_owners: Iterable[User] = ()
) -> None:
    """Set each card's owner, company and next planned activity, one query each at most.

    Owners usually come from the board's owner filter, which loaded them already; companies
    are a handful of names. Joined into the columns' query instead, they made it wider and
    slower.
    """
    owners = {user.pk: user for user in known_owners}
    missing = {card.owner_id for card in cards} - set(owners)
    if missing:
        owners.update((u.pk, u) for u in User.objects.filter(pk__in=missing).only(*OWNER_FIELDS))
    company_ids = {card.company_id for card in cards if card.company_id}
    companies = (
        {c.pk: c for c in Company.objects.filter(pk__in=company_ids).only("id", "name")}
        if company_ids
        else {}
    )
    for card in cards:
        card.owner = owners[card.owner_id]
        card.company = companies.get(card.company_id) if card.company_id else None
    attach_next_activities(cards, viewer=viewer)


def attach_next_activities(cards: Sequence[Deal], *, viewer: User) -> None:
    """Set `next_activity_*` on each card: its earliest planned activity `viewer` may see, in
    one query."""
    by_id = {card.pk: card for card in cards}
    for card in cards:
        card.next_activity_subject = None  # type: ignore[attr-defined]
        card.next_activity_kind = None  # type: ignore[attr-defined]
        card.next_activity_due = None  # type: ignore[attr-defined]
    if not by_id:
        return
    planned = (
        Activity.objects.visible_to(viewer)
        .filter(deal_id__in=list(by_id), done_at__isnull=True)
        .order_by("deal_id", F("due_at").asc(nulls_last=True), "id")
        .values_list("deal_id", "subject", "kind", "due_at")
    )
    seen: set[int] = set()
    for deal_id, subject, kind, due in planned:
        if deal_id in seen:
            continue
        seen.add(deal_id)
        card = by_id[deal_id]
        card.next_activity_subject = subject  # type: ignore[attr-defined]
        card.next_activity_kind = kind  # type: ignore[attr-defined]
        card.next_activity_due = due  # type: ignore[attr-defined]
