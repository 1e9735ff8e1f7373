"""One timeline of a contact or a company (SPEC §9 Timeline), for its page and its API.

What it lists, newest first: the done activities of the record, of its deals and, for a
company, of its contacts and their deals; the stage changes of those deals; their won and lost
(the status rows of `deals.FieldChange`). Planned activities of the same scope are listed
apart (`planned_of`). Everything goes through the visibility rules: the deals are
`Deal.objects.visible_to(viewer)`, the activities `Activity.objects.visible_to(viewer)` (which
also hides an activity of a deal out of sight), so an outsider's view simply lacks them.

Paging is a keyset over (at, kind, id), newest first: three queries a page, one per source
(activities, stage changes, status changes), each an ordered walk stopping after page + 1 rows
past the cursor, merged here. The kind names which table a row comes from ("stage" only stage
changes, "won"/"lost" only status rows, the others only activities), so (at, kind, id) is a
total order (kinds are lowercase ASCII words, which SQLite and PostgreSQL's usual collations
sort as Python does; the tie test in tests/people/test_timeline.py checks it). A UNION would
need the three tables cut to one shape and then a second round of queries to load the rows
with their deal and person: more queries for the same page. A kind filter queries one source
only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Q, QuerySet

from accounts.models import User
from contacts.models import Company, Contact
from deals.models import Deal, FieldChange, StageChange
from followups.models import Activity
from pipeline_crm.ids import parse_id, parse_int

PAGE_SIZE = 25
PLANNED_LIMIT = 50
STAGE, WON, LOST = "stage", "won", "lost"
ACTIVITY_KINDS: tuple[str, ...] = tuple(Activity.Kind.values)
KINDS: tuple[str, ...] = (*ACTIVITY_KINDS, STAGE, WON, LOST)
KIND_LABELS: dict[str, str] = {
    **dict(Activity.Kind.choices),
    STAGE: "Stage change",
    WON: "Won",
    LOST: "Lost",
}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last entry's (at, kind, id). As text: "<µs since 1970>.<kind>.<id>"
    (whole microseconds: no rounding between pages)."""

    at: dt.datetime
    kind: str
    pk: int

    def __str__(self) -> str:
        micros = (self.at - _EPOCH) // dt.timedelta(microseconds=1)
        return f"{micros}.{self.kind}.{self.pk}"

    @classmethod
    def parse(cls, raw: str | None) -> Cursor | None:
        """The cursor, or None (start from the newest) for anything malformed."""
        micros_text, _, rest = (raw or "").partition(".")
        kind, _, pk_text = rest.partition(".")
        micros, pk = parse_int(micros_text), parse_id(pk_text)
        if micros is None or pk is None or kind not in KINDS:
            return None
        try:
            at = _EPOCH + dt.timedelta(microseconds=micros)
        except OverflowError:
            return None
        return cls(at, kind, pk)


@dataclass(frozen=True)
class Entry:
    at: dt.datetime
    kind: str
    summary: str
    deal: Deal | None
    activity: Activity | None
    by: User | None
    pk: int  # the row's id in its own table

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.at, self.kind, self.pk)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass(frozen=True)
class TimelinePage:
    entries: list[Entry]
    next: Cursor | None  # None: nothing older


type TimelineRecord = Contact | Company


def deals_in_scope(viewer: User, record: TimelineRecord) -> QuerySet[Deal]:
    """The deals whose history a record's timeline shows: the contact's; for a company, its own
    and its contacts'. Only those `viewer` may see."""
    deals = Deal.objects.visible_to(viewer)
    if isinstance(record, Company):
        return deals.filter(Q(company=record) | Q(contact__in=_contacts_at(record)))
    return deals.filter(contact=record)


def _contacts_at(company: Company) -> QuerySet[Contact, Any]:
    # A subquery rather than a join: the OR of the scope stays a set of semi-joins.
    return Contact.objects.filter(company=company).values("pk")


def activities_in_scope(viewer: User, record: TimelineRecord) -> QuerySet[Activity]:
    """Activities of the record, of its deals and (company) of its contacts, in sight."""
    deal_ids = deals_in_scope(viewer, record).values("pk")
    linked = Q(deal__in=deal_ids)
    if isinstance(record, Company):
        linked |= Q(company=record) | Q(contact__in=_contacts_at(record))
    else:
        linked |= Q(contact=record)
    return Activity.objects.visible_to(viewer).filter(linked)


def planned_of(viewer: User, record: TimelineRecord) -> list[Activity]:
    """The planned (not done) follow-ups of the timeline's scope, soonest first."""
    return list(
        activities_in_scope(viewer, record)
        .filter(done_at__isnull=True)
        .select_related("owner", "deal")
        .order_by(F("due_at").asc(nulls_last=True), "id")[:PLANNED_LIMIT]
    )


def _older_than(cursor: Cursor | None, *, at: str, kind: str | None, constant: str = "") -> Q:
    """Rows after `cursor` in (at, kind, id) descending order. `kind` names the row's kind
    column; a source of one kind gives it as `constant` instead."""
    if cursor is None:
        return Q()
    if kind is not None:
        tie = Q(**{f"{kind}__lt": cursor.kind}) | Q(**{kind: cursor.kind, "pk__lt": cursor.pk})
    elif constant < cursor.kind:
        tie = Q()
    elif constant == cursor.kind:
        tie = Q(pk__lt=cursor.pk)
    else:
        tie = Q(pk__in=[])
    return Q(**{f"{at}__lt": cursor.at}) | (Q(**{at: cursor.at}) & tie)


def _activity_entries(
    viewer: User, record: TimelineRecord, kinds: Sequence[str], after: Cursor | None, n: int
) -> list[Entry]:
    rows = (
        activities_in_scope(viewer, record)
        .filter(done_at__isnull=False, kind__in=kinds)
        .filter(_older_than(after, at="done_at", kind="kind"))
        .select_related("owner", "deal")
        .order_by("-done_at", "-kind", "-id")[:n]
    )
    return [
        Entry(a.done_at, a.kind, a.subject, a.deal, a, a.owner, a.pk)
        for a in rows
        if a.done_at is not None
    ]


def _stage_entries(
    viewer: User, record: TimelineRecord, after: Cursor | None, n: int
) -> list[Entry]:
    rows = (
        StageChange.objects.filter(deal__in=deals_in_scope(viewer, record).values("pk"))
        .filter(_older_than(after, at="at", kind=None, constant=STAGE))
        .select_related("deal", "by")
        .order_by("-at", "-id")[:n]
    )
    return [Entry(c.at, STAGE, _stage_summary(c), c.deal, None, c.by, c.pk) for c in rows]


def _stage_summary(change: StageChange) -> str:
    if not change.from_stage_name:
        return f"{change.deal.title}: created in {change.to_stage_name}"
    return f"{change.deal.title}: {change.from_stage_name} → {change.to_stage_name}"


def _status_entries(
    viewer: User, record: TimelineRecord, kinds: Sequence[str], after: Cursor | None, n: int
) -> list[Entry]:
    rows = (
        FieldChange.objects.filter(
            deal__in=deals_in_scope(viewer, record).values("pk"),
            field="status",
            new_value__in=kinds,
        )
        .filter(_older_than(after, at="at", kind="new_value"))
        .select_related("deal", "deal__lost_reason", "by")
        .order_by("-at", "-new_value", "-id")[:n]
    )
    return [Entry(c.at, c.new_value, _status_summary(c), c.deal, None, c.by, c.pk) for c in rows]


def _status_summary(change: FieldChange) -> str:
    deal = change.deal
    if change.new_value == WON:
        return f"{deal.title} won"
    # The reason is the deal's current one: shown while it is still lost.
    reason = deal.lost_reason_text if deal.status == Deal.Status.LOST else ""
    return f"{deal.title} lost" + (f": {reason}" if reason else "")


def timeline_page(
    viewer: User,
    record: TimelineRecord,
    *,
    kind: str = "",
    after: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> TimelinePage:
    """One page of the record's timeline after `after`, newest first; `kind` (one of KINDS)
    keeps that kind only. At most three queries, whatever the number of rows."""
    kinds = (kind,) if kind in KINDS else KINDS
    n = size + 1
    entries: list[Entry] = []
    activity_kinds = [k for k in kinds if k in ACTIVITY_KINDS]
    if activity_kinds:
        entries += _activity_entries(viewer, record, activity_kinds, after, n)
    if STAGE in kinds:
        entries += _stage_entries(viewer, record, after, n)
    status_kinds = [k for k in kinds if k in (WON, LOST)]
    if status_kinds:
        entries += _status_entries(viewer, record, status_kinds, after, n)
    entries.sort(key=lambda e: (e.at, e.kind, e.pk), reverse=True)
    page = entries[:size]
    more = len(entries) > size
    return TimelinePage(page, page[-1].cursor if more and page else None)
