"""What the people workflows announce (see `pipeline_crm.events`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User
    from contacts.models import Lead
    from deals.models import Deal


@dataclass(frozen=True)
class LeadConverted:
    """A lead became `deal` (its company and contact found or made). Listeners: webhooks."""

    lead: Lead
    deal: Deal
    by: User | None
