"""Writing checked rows, a chunk at a time, inside the commit's one transaction.

New records go in by COPY (`pipeline_crm.db.bulk_insert`), as the demo loader's do, with the
services' rules: a deal gets its stage's status, a place at the bottom of its column
(`deals.services.positions`, as a bulk load places deals) and its first history row
(`stage_change_row`); PostgreSQL's triggers keep the board's column totals. A company named by
a row is found by name (any case, oldest first, as `contacts.services.company_named`) or
created for the importer; a deal's contact by e-mail or name, or created for the deal's owner.
A lead gets its score (`contacts.services.score_lead`). Every record created or updated is
noted (`ImportedRecord`) for undo.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat, Lower, Trim
from django.utils import timezone

from accounts.models import User
from contacts.models import Company, Contact, Lead
from contacts.scoring import current_rules
from contacts.services import score_lead
from deals.models import Deal, StageChange
from deals.services.common import stage_change_row
from deals.services.positions import column_edge, positions_below
from imports.checking import CREATE, SKIP, UPDATE, Checked
from imports.models import Import, ImportedRecord
from pipeline_crm.db import bulk_insert

MODELS: dict[str, type[models.Model]] = {
    "company": Company,
    "contact": Contact,
    "lead": Lead,
    "deal": Deal,
}
# The record each kind of import makes, and the fields a row may set on it (attnames).
RECORD = {"companies": "company", "contacts": "contact", "leads": "lead", "deals": "deal"}


def jsonable(value: Any) -> Any:
    """A field value as an import's record notes it (and compares it at undo)."""
    if isinstance(value, Decimal | dt.date):
        return str(value)
    return value


def split_name(full: str) -> tuple[str, str]:
    first, _, last = full.strip().partition(" ")
    return first[:100], last.strip()[:100]


class Writer:
    def __init__(self, batch: Import, by: User) -> None:
        self.batch, self.by, self.kind = batch, by, batch.kind
        self.now = timezone.now()
        self.companies: dict[str, int] = {}  # lower name → id
        self.contacts: dict[str, int] = {}  # lower e-mail or "name:<lower name>" → id
        self.bottom: dict[int, int | None] = {}  # stage id → its column's last sort key
        self.created = self.updated = self.skipped = 0
        self.scoring_rules = current_rules()  # read once: every lead row is scored with them
        self.pipeline_ids: set[int] = set()

    def write(self, rows: Sequence[Checked]) -> None:
        self.skipped += sum(1 for row in rows if row.action == SKIP)
        if self.kind == "deals":
            self._write_deals(rows)
            return
        if self.kind == "contacts":
            self._name_companies(rows, "company")
        new = [row for row in rows if row.action == CREATE]
        model = MODELS[RECORD[self.kind]]
        instances = [model(**self._fields(row), owner_id=row.owner_id or self.by.pk) for row in new]
        for instance in instances:
            if isinstance(instance, Lead):
                instance.score, instance.score_breakdown = score_lead(
                    instance, rules=self.scoring_rules
                )
        self._insert(RECORD[self.kind], instances, written=self._written)
        self._update([row for row in rows if row.action == UPDATE], model)

    def _fields(self, row: Checked) -> dict[str, Any]:
        values = dict(row.values)
        if self.kind == "contacts" and "company" in values:
            values["company_id"] = self.companies[values.pop("company").lower()]
        if self.kind == "leads" and "source" not in values and row.action == CREATE:
            values["source"] = Lead.Source.IMPORT
        return values

    def _written(self, instance: models.Model) -> dict[str, Any]:
        names = [f.attname for f in instance._meta.concrete_fields if not f.primary_key]
        skip = {"created_at", "updated_at", "score", "score_breakdown"}
        return {name: jsonable(getattr(instance, name)) for name in names if name not in skip}

    def _insert(
        self,
        model_name: str,
        instances: Sequence[models.Model],
        *,
        written: Any,
    ) -> list[int]:
        if not instances:
            return []
        ids = bulk_insert(MODELS[model_name], instances, need_ids=True)
        self._note(
            ImportedRecord.Action.CREATED,
            model_name,
            [(pk, written(instance), None) for pk, instance in zip(ids, instances, strict=True)],
        )
        if model_name == RECORD[self.kind]:
            self.created += len(ids)
        return ids

    def _note(self, action: str, model_name: str, records: Iterable[tuple[int, Any, Any]]) -> None:
        rows = [
            {
                "batch_id": self.batch.pk,
                "model": model_name,
                "object_id": pk,
                "action": action,
                "written": written,
                "previous": previous,
            }
            for pk, written, previous in records
        ]
        bulk_insert(ImportedRecord, rows)

    def _update(self, rows: Sequence[Checked], model: type[models.Model]) -> None:
        """Set the row's non-empty cells on the existing record, noting what they were."""
        if not rows:
            return
        current = model._default_manager.in_bulk([row.existing_id for row in rows])
        changed: list[models.Model] = []
        notes: list[tuple[int, Any, Any]] = []
        names: set[str] = set()
        for row in rows:
            record = current[row.existing_id]
            values = self._fields(row)
            if row.owner_id:
                values["owner_id"] = row.owner_id
            previous = {name: jsonable(getattr(record, name)) for name in values}
            for name, value in values.items():
                setattr(record, name, value)
            if isinstance(record, Lead):
                record.updated_at = self.now
                record.score, record.score_breakdown = score_lead(record, rules=self.scoring_rules)
                names |= {"updated_at", "score", "score_breakdown"}
            names |= set(values)
            changed.append(record)
            written = {name: jsonable(getattr(record, name)) for name in values}
            notes.append((record.pk, written, previous))
        model._default_manager.bulk_update(changed, sorted(names), batch_size=1000)
        self._note(ImportedRecord.Action.UPDATED, RECORD[self.kind], notes)
        self.updated += len(changed)

    # --- companies and contacts named by a row ---------------------------------------------

    def _name_companies(self, rows: Sequence[Checked], field: str) -> None:
        """Every company the rows name, found by name or created for the importer."""
        wanted = {
            row.values[field].lower(): row.values[field]
            for row in rows
            if row.action != SKIP and row.values.get(field)
        }
        missing = {key for key in wanted if key not in self.companies}
        if not missing:
            return
        found = (
            Company.objects.annotate(key=Lower("name"))
            .filter(key__in=missing)
            .order_by("-pk")
            .values_list("key", "pk")
        )
        self.companies.update(dict(found))  # the oldest (lowest id) wins, coming last
        new = [
            Company(name=wanted[key], owner_id=self.by.pk)
            for key in sorted(missing - self.companies.keys())
        ]
        ids = self._insert("company", new, written=lambda c: {"name": c.name})
        for company, pk in zip(new, ids, strict=True):
            self.companies[company.name.lower()] = pk

    def _name_contacts(self, rows: Sequence[Checked]) -> None:
        """Every contact the deal rows name: by e-mail (any case) when given, else by full
        name; created for the deal's owner, at the deal's company, when new."""
        wanted: dict[str, Checked] = {}
        for row in rows:
            key = self._contact_key(row.values)
            if key and key not in self.contacts:
                wanted.setdefault(key, row)
        if not wanted:
            return
        emails = {key for key in wanted if not key.startswith("name:")}
        names = {key.removeprefix("name:") for key in wanted if key.startswith("name:")}
        self.contacts.update(_existing_contacts(emails, names))
        new: list[Contact] = []
        for key, row in wanted.items():
            if key in self.contacts:
                continue
            email = row.values.get("contact_email", "")
            first, last = split_name(row.values.get("contact") or email.partition("@")[0])
            company = row.values.get("company")
            new.append(
                Contact(
                    first_name=first,
                    last_name=last,
                    email=email,
                    company_id=self.companies[company.lower()] if company else None,
                    owner_id=row.owner_id or self.by.pk,
                )
            )
        written = ["first_name", "last_name", "email", "company_id"]
        ids = self._insert("contact", new, written=lambda c: {n: getattr(c, n) for n in written})
        for contact, pk in zip(new, ids, strict=True):
            key = contact.email.lower() or f"name:{contact.first_name} {contact.last_name}"
            self.contacts[key.strip().lower()] = pk

    @staticmethod
    def _contact_key(values: Mapping[str, Any]) -> str:
        if values.get("contact_email"):
            return str(values["contact_email"]).lower()
        if values.get("contact"):
            first, last = split_name(values["contact"])
            return f"name:{first} {last}".strip().lower()
        return ""

    # --- deals ------------------------------------------------------------------------------

    def _write_deals(self, rows: Sequence[Checked]) -> None:
        self._name_companies(rows, "company")
        self._name_contacts(rows)
        deals = [self._deal_row(row) for row in rows]
        ids = bulk_insert(Deal, deals, need_ids=True)
        history = []
        for row, deal_id in zip(rows, ids, strict=True):
            assert row.stage is not None  # noqa: S101 - every checked deal has its stage
            change = stage_change_row(None, row.stage, by=self.by, at=self.now)
            history.append({**change, "deal_id": deal_id})
        bulk_insert(StageChange, history)
        # A deal's changes since are told by its version (`undo`): nothing more to note.
        self._note(ImportedRecord.Action.CREATED, "deal", [(pk, {}, None) for pk in ids])
        self.created += len(ids)

    def _deal_row(self, row: Checked) -> dict[str, Any]:
        stage = row.stage
        assert stage is not None  # noqa: S101
        values = row.values
        self.pipeline_ids.add(stage.pipeline_id)
        if stage.pk not in self.bottom:
            self.bottom[stage.pk] = column_edge(stage, top=False)
        position = positions_below(self.bottom[stage.pk], 1)[0]
        self.bottom[stage.pk] = position
        company = values.get("company")
        contact_key = self._contact_key(values)
        status = stage.deal_status
        deal: dict[str, Any] = {
            "title": values["title"],
            "pipeline_id": stage.pipeline_id,
            "stage_id": stage.pk,
            "status": status,
            "owner_id": row.owner_id or self.by.pk,
            "amount": values.get("amount"),
            "expected_close_date": values.get("expected_close_date"),
            "probability_override": values.get("probability"),
            "company_id": self.companies[company.lower()] if company else None,
            "contact_id": self.contacts[contact_key] if contact_key else None,
            "next_step": values.get("next_step", ""),
            "stage_entered_at": self.now,
            "won_at": self.now if status == Deal.Status.WON else None,
            "position": position,
        }
        if "currency" in values:
            deal["currency"] = values["currency"]
        return deal


def _existing_contacts(emails: set[str], names: set[str]) -> dict[str, int]:
    """Contacts holding these e-mails (lower case) or full names (lower case): key → id."""
    found: dict[str, int] = {}
    if emails:
        by_email = (
            Contact.objects.exclude(email="")  # the partial index on lower(email)
            .annotate(key=Lower("email"))
            .filter(key__in=emails)
            .values_list("key", "pk")
        )
        found.update(dict(by_email))
    if names:
        full = Lower(Trim(Concat("first_name", Value(" "), "last_name")))
        by_name = (
            Contact.objects.annotate(key=full)
            .filter(key__in=names)
            .order_by("-pk")
            .values_list("key", "pk")
        )
        found.update({f"name:{key}": pk for key, pk in by_name})
    return found
