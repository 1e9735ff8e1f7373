"""What the contacts services announce (see `pipeline_crm.events`).

`RecordsMerged` is the hook for merging duplicates (companies, contacts, leads): the merge
service, once it has moved everything onto the record it keeps and removed the others, announces
it inside its transaction, and the audit log (`audit.listeners`) records it with the merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class RecordsMerged:
    """`by` merged the records `merged` (id → how it read, e.g. its name) of `kind` ("company",
    "contact" or "lead") into the record `kept_id` (`kept_label`), which stays; the others are
    gone."""

    kind: str
    kept_id: int
    kept_label: str
    merged: dict[int, str]
    by: User


@dataclass(frozen=True)
class ScoringRulesChanged:
    """`by` added, changed or removed a lead scoring rule: every lead is scored again."""

    by: User
