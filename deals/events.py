"""What the pipeline's services announce (see `pipeline_crm.events`).

Each event names the pipeline and the columns (stage ids) it touched, so open boards reload just
those; `by` is who did it. Listeners: `deals.listeners` (open boards, the new owner's
notification) and, next, webhooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User
    from deals.models import Deal


@dataclass(frozen=True)
class DealEvent:
    """Something happened to one deal. `stage_ids`: the columns it touched."""

    deal: Deal
    by: User | None
    stage_ids: tuple[int, ...] = ()

    @property
    def pipeline_id(self) -> int:
        return self.deal.pipeline_id


@dataclass(frozen=True)
class DealCreated(DealEvent):
    pass


@dataclass(frozen=True)
class DealChanged(DealEvent):
    """Fields other than stage and status changed (`fields` names them; when the owner
    changed, `previous_owner_id` is who had the deal)."""

    fields: tuple[str, ...] = ()
    previous_owner_id: int | None = None


@dataclass(frozen=True)
class DealMoved(DealEvent):
    """Into another stage, or to another place in its column (`from_stage_id` == its stage)."""

    from_stage_id: int | None = None


@dataclass(frozen=True)
class DealWon(DealMoved):
    pass


@dataclass(frozen=True)
class DealLost(DealEvent):
    pass


@dataclass(frozen=True)
class DealReopened(DealEvent):
    pass


@dataclass(frozen=True)
class DealDeleted(DealEvent):
    """The deal is gone from the database; `deal` is the instance as it was."""


@dataclass(frozen=True)
class DealRestored(DealCreated):
    """A deleted deal came back from the trash with its id, history and activities: to the
    outside world (webhooks) it exists again, as when it was created."""


@dataclass(frozen=True)
class PipelineChanged:
    """A pipeline or its stages changed (added, edited, reordered, deleted) or many of its deals
    moved at once: every open board of it reloads whole. `deal_ids`: deals that moved."""

    pipeline_id: int
    by: User | None
    deal_ids: tuple[int, ...] = field(default=())
