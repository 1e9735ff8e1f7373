"""What follows for imports from other apps' events (see `pipeline_crm.events`).

A merge (`contacts.events.RecordsMerged`) moves the import notes of the merged records to the
record kept, in the same transaction: undoing the import then looks at the kept record, and
refuses (409, changed since) rather than losing track of what the import wrote.
"""

from __future__ import annotations

from contacts.events import RecordsMerged
from imports.models import ImportedRecord
from pipeline_crm.events import DURING, listens_to


@listens_to(RecordsMerged, phase=DURING)
def follow_merged_records(event: RecordsMerged) -> None:
    ImportedRecord.objects.filter(model=event.kind, object_id__in=list(event.merged)).update(
        object_id=event.kept_id
    )
