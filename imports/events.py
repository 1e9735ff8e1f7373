"""What imports announce (see `pipeline_crm.events`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class RecordsImported:
    """An import was committed (or, `undone`, undone): `created` and `updated` records of its
    `kind`; `by` ran it (or undid it). A deals import also announces
    `deals.events.PipelineChanged` for each pipeline it filled, so open boards reload whole
    (one event, not one per deal)."""

    import_id: int
    kind: str
    by: User | None
    created: int = 0
    updated: int = 0
    undone: bool = False
