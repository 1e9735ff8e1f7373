"""Which announced events become webhook deliveries (SPEC §9) — the one place they start.

After the service's transaction commits (`AFTER_COMMIT`: a rolled-back change sends nothing),
each event is mapped to its webhook event name and the record as the API shows it:

- deals.events: DealCreated → deal.created, DealChanged → deal.updated, DealMoved into another
  stage → deal.moved, DealWon → deal.won (not also deal.moved), DealLost → deal.lost,
  DealReopened → deal.updated (its status changed back to open), DealDeleted → deal.deleted
  (the deal as it was before deletion).
- PipelineChanged naming deals (a deleted stage's deals moved to another) → one deal.moved
  per deal.
- followups.events.ActivityLogged → activity.created; people.events.LeadConverted →
  lead.converted (`data` is the lead, with the new deal under `"deal"`).

Not sent: a card reordered within its column (position only), and the bookkeeping a logged
activity does to its deal (last activity time, stall flag): activity.created says it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from deals.events import (
    DealChanged,
    DealCreated,
    DealDeleted,
    DealEvent,
    DealLost,
    DealMoved,
    DealReopened,
    DealWon,
    PipelineChanged,
)
from deals.models import Deal
from deals.serializers import DealSerializer
from followups.events import ActivityLogged
from followups.serializers import ActivitySerializer
from integrations import services
from integrations.models import Event
from people.events import LeadConverted
from people.serializers import LeadSerializer
from pipeline_crm.events import AFTER_COMMIT, listens_to

# What a logged activity or the stall sweep changes on a deal: not news of their own.
BOOKKEEPING_FIELDS = frozenset({"last_activity_at", "stalled", "stall_reasons", "stalled_since"})


def deal_event_name(event: DealEvent) -> str | None:
    """The webhook event for a deal event, or None when it is not sent."""
    if isinstance(event, DealWon):  # a DealMoved too: checked first
        return Event.DEAL_WON
    if isinstance(event, DealMoved):
        return Event.DEAL_MOVED if event.from_stage_id != event.deal.stage_id else None
    if isinstance(event, DealChanged):
        return Event.DEAL_UPDATED if set(event.fields) - BOOKKEEPING_FIELDS else None
    names: dict[type, str] = {
        DealCreated: Event.DEAL_CREATED,
        DealLost: Event.DEAL_LOST,
        DealReopened: Event.DEAL_UPDATED,
        DealDeleted: Event.DEAL_DELETED,
    }
    return names.get(type(event))


def deal_data(deal: Deal, *, deleted: bool = False) -> dict[str, Any]:
    """The deal as `GET /api/deals/{id}/` shows it."""
    if deleted:
        # Gone from the database, where the serializer reads the effective probability:
        # the same rule (`deals.models.effective_probability`) on the instance as it was.
        override = deal.probability_override
        deal.effective_probability = override if override is not None else deal.stage.probability  # type: ignore[attr-defined]
    return dict(DealSerializer(deal).data)


@listens_to(DealEvent, phase=AFTER_COMMIT)
def send_deal_event(event: DealEvent) -> None:
    name = deal_event_name(event)
    hooks = services.subscribers(name) if name else []
    if name and hooks:
        data = deal_data(event.deal, deleted=isinstance(event, DealDeleted))
        services.record_events(events=[(name, data)], hooks=hooks)


@listens_to(PipelineChanged, phase=AFTER_COMMIT)
def send_bulk_moves(event: PipelineChanged) -> None:
    hooks = services.subscribers(Event.DEAL_MOVED) if event.deal_ids else []
    if hooks:
        moves = [(Event.DEAL_MOVED, data) for data in _deals_data(event.deal_ids)]
        services.record_events(events=moves, hooks=hooks)


def _deals_data(deal_ids: Iterable[int]) -> list[dict[str, Any]]:
    deals = (
        Deal.objects.filter(pk__in=list(deal_ids))
        .with_effective_probability()
        .order_by("stage_id", "position", "id")
    )
    return [dict(item) for item in DealSerializer(deals, many=True).data]


@listens_to(ActivityLogged, phase=AFTER_COMMIT)
def send_activity_created(event: ActivityLogged) -> None:
    hooks = services.subscribers(Event.ACTIVITY_CREATED)
    if hooks:
        data = dict(ActivitySerializer(event.activity).data)
        services.record_events(events=[(Event.ACTIVITY_CREATED, data)], hooks=hooks)


@listens_to(LeadConverted, phase=AFTER_COMMIT)
def send_lead_converted(event: LeadConverted) -> None:
    hooks = services.subscribers(Event.LEAD_CONVERTED)
    if hooks:
        data = {**LeadSerializer(event.lead).data, "deal": deal_data(event.deal)}
        services.record_events(events=[(Event.LEAD_CONVERTED, data)], hooks=hooks)
