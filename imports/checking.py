"""Validating every row of a file before anything is written, chunk by chunk.

A row becomes a `Checked` row (its parsed values, its owner, whether it creates, updates or
skips a record) or row errors `{row, column, message}`. The rules are the services' own: the
owner must be someone the importer may give records to (`accounts.visibility`), an update
needs the right to change the existing record, a deal's stage must accept it
(`deals.services.common.missing_required`). The commit runs the same checks again inside its
transaction, so what it writes is what the database holds at that moment.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from accounts.models import User
from accounts.visibility import assignable_people, is_admin
from contacts.models import Company, Contact, Lead
from deals.models import Pipeline, Stage
from deals.services.common import first_open_stage, missing_required
from imports import columns
from imports.parsing import Row
from pipeline_crm.errors import DomainError, MissingRequiredFields

if TYPE_CHECKING:
    from deals.models import Deal

CHUNK = 2000  # rows looked up (duplicates) and written together

CREATE, UPDATE, SKIP = "create", "update", "skip"


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str
    message: str


@dataclass
class Checked:
    """A valid row: its values by field name (empty cells left out), the owner it gives, and
    what it does: create a record, update `existing_id`, or skip a duplicate."""

    number: int
    values: dict[str, Any]
    owner_id: int | None = None
    action: str = CREATE
    existing_id: int | None = None
    stage: Stage | None = None


@dataclass
class Chunk:
    rows: list[Checked] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    bad_rows: int = 0


# What dedupes each kind: the field, and the model that already may hold it.
DEDUPE = {"companies": "domain", "contacts": "email", "leads": "email"}
DUPLICATE_WORDS = {"domain": "domain", "email": "e-mail"}
RECORD_NOUN = {"companies": "company", "contacts": "contact", "leads": "lead", "deals": "deal"}


class People:
    """The users a file may name as owners (by username or e-mail, any case), and whom the
    importer may give records to."""

    def __init__(self, by: User) -> None:
        self.by = by
        self.ids: dict[str, int] = {}
        for pk, username, email in User.objects.filter(is_active=True).values_list(
            "pk", "username", "email"
        ):
            self.ids[username.lower()] = pk
            if email:
                self.ids.setdefault(email.lower(), pk)
        self.assignable = set(assignable_people(by).values_list("pk", flat=True))
        self.all_writable = is_admin(by)

    def owner(self, text: str) -> int:
        pk = self.ids.get(text.strip().lower())
        if pk is None:
            raise ValueError(f"There is no active user “{text}”.")
        if pk not in self.assignable:
            raise ValueError(f"You cannot give records to “{text}”: they are outside your reach.")
        return pk

    def may_write(self, owner_id: int) -> bool:
        return self.all_writable or owner_id in self.assignable


class Placement:
    """Deals' pipelines and stages by name (any case)."""

    def __init__(self) -> None:
        self.pipelines = {p.name.lower(): p for p in Pipeline.objects.all()}
        self.default = Pipeline.default()
        self.stages: dict[tuple[int, str], Stage] = {}
        for stage in Stage.objects.select_related("pipeline"):
            self.stages.setdefault((stage.pipeline_id, stage.name.lower()), stage)
        self.first: dict[int, Stage] = {}

    def stage(self, pipeline_name: str | None, stage_name: str | None) -> Stage:
        if pipeline_name:
            pipeline = self.pipelines.get(pipeline_name.lower())
            if pipeline is None:
                raise _Problem("pipeline", f"There is no pipeline “{pipeline_name}”.")
        elif self.default is None:
            raise _Problem("pipeline", "There is no pipeline yet.")
        else:
            pipeline = self.default
        if not stage_name:
            if pipeline.pk not in self.first:
                self.first[pipeline.pk] = first_open_stage(pipeline)
            return self.first[pipeline.pk]
        stage = self.stages.get((pipeline.pk, stage_name.lower()))
        if stage is None:
            raise _Problem("stage", f"Pipeline “{pipeline.name}” has no stage “{stage_name}”.")
        return stage


class _Problem(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class Checker:
    """Checks the rows of one import for `by`; `seen` remembers the dedupe keys met so far, so
    a later row repeating one is an error naming the first."""

    def __init__(self, *, by: User, kind: str, mapping: dict[str, str], on_duplicate: str) -> None:
        self.by, self.kind, self.mapping, self.on_duplicate = by, kind, mapping, on_duplicate
        self.fields = columns.fields_of(kind)
        self.header_of = {name: header for header, name in mapping.items()}
        self.people = People(by)
        self.placement = Placement() if kind == "deals" else None
        self.dedupe = DEDUPE.get(kind)
        self.seen: dict[str, int] = {}

    def chunks(self, rows: Iterable[Row]) -> Iterator[Chunk]:
        batch: list[Row] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= CHUNK:
                yield self.check_chunk(batch)
                batch = []
        if batch:
            yield self.check_chunk(batch)

    def check_chunk(self, rows: list[Row]) -> Chunk:
        chunk = Chunk()
        for row in rows:
            problems = self._check_row(row)
            if isinstance(problems, Checked):
                chunk.rows.append(problems)
            else:
                chunk.problems += problems
                chunk.bad_rows += 1
        if self.dedupe:
            self._match_existing(chunk)
        return chunk

    def _column(self, name: str) -> str:
        return self.header_of.get(name, name)

    def _check_row(self, row: Row) -> Checked | list[RowProblem]:
        if row.problem:
            return [RowProblem(row.number, "", row.problem)]
        values: dict[str, Any] = {}
        problems: list[RowProblem] = []
        for header, name in self.mapping.items():
            try:
                value = self._value(self.fields[name], row.cells.get(header, ""))
            except ValueError as exc:
                problems.append(RowProblem(row.number, header, str(exc)))
                continue
            if value is not None:
                values[name] = value
        checked = Checked(row.number, values)
        if not problems:
            try:
                self._check_record(checked)
            except _Problem as exc:
                problems.append(RowProblem(row.number, self._column(exc.field), exc.message))
        return problems or checked

    def _value(self, spec: columns.Field, text: str) -> Any:
        if not text:
            if spec.required:
                raise ValueError(f"{spec.label} is required.")
            return None
        if spec.name == "owner":
            return self.people.owner(text)
        if spec.parse is not None:
            return spec.parse(text)
        if len(text) > spec.max_length:
            raise ValueError(f"{spec.label} is longer than {spec.max_length} characters.")
        return text

    def _check_record(self, checked: Checked) -> None:
        values = checked.values
        checked.owner_id = values.pop("owner", None)
        if self.kind == "leads" and not any(values.get(n) for n in columns.LEAD_NAMING_FIELDS):
            raise _Problem("", "A lead needs a first name, last name, e-mail or company name.")
        if self.placement is not None:
            self._check_deal(checked)
        if self.dedupe and self.dedupe in values:
            key = str(values[self.dedupe]).lower()
            first = self.seen.setdefault(key, checked.number)
            if first != checked.number:
                word = DUPLICATE_WORDS[self.dedupe]
                raise _Problem(self.dedupe, f"Row {first} has the same {word}.")

    def _check_deal(self, checked: Checked) -> None:
        values = checked.values
        assert self.placement is not None  # noqa: S101 - deals only
        try:
            stage = self.placement.stage(values.get("pipeline"), values.get("stage"))
        except DomainError as exc:  # a pipeline without stages
            raise _Problem("pipeline", exc.message) from exc
        has = SimpleNamespace(
            amount=values.get("amount"),
            expected_close_date=values.get("expected_close_date"),
            company_id=values.get("company"),
            contact_id=values.get("contact") or values.get("contact_email"),
            next_step=values.get("next_step", ""),
        )
        missing = missing_required(stage, cast("Deal", has))
        if missing:
            raise _Problem(missing[0], MissingRequiredFields(stage.name, missing).message)
        checked.stage = stage

    # --- duplicates already in the database ------------------------------------------------

    def _match_existing(self, chunk: Chunk) -> None:
        assert self.dedupe is not None  # noqa: S101
        keyed = [row for row in chunk.rows if self.dedupe in row.values]
        existing = self.existing({str(row.values[self.dedupe]).lower() for row in keyed})
        kept: list[Checked] = []
        for row in chunk.rows:
            match = existing.get(str(row.values.get(self.dedupe, "")).lower())
            if match is not None:
                problem = self._duplicate(row, *match)
                if problem:
                    chunk.problems.append(problem)
                    chunk.bad_rows += 1
                    continue
            kept.append(row)
        chunk.rows = kept

    def existing(self, keys: set[str]) -> dict[str, tuple[int, int]]:
        """Records already holding these dedupe keys (lower case): key → (id, owner id). Leads
        count only where the importer sees them: a lead out of sight is none of theirs."""
        dedupe = str(self.dedupe)
        if not keys:
            return {}
        model = {"companies": Company, "contacts": Contact, "leads": Lead}[self.kind]
        records: QuerySet[Any] = (
            Lead.objects.visible_to(self.by) if model is Lead else model._default_manager.all()
        )
        found = (
            records.exclude(**{dedupe: ""})  # as the partial unique indexes say
            .annotate(key=Lower(dedupe))
            .filter(Q(key__in=keys))
            .order_by("-pk")
            .values_list("key", "pk", "owner_id")
        )
        return {key: (pk, owner_id) for key, pk, owner_id in found}

    def _duplicate(self, row: Checked, pk: int, owner_id: int) -> RowProblem | None:
        if self.on_duplicate != "update":
            row.action = SKIP
            row.existing_id = pk
            return None
        if not self.people.may_write(owner_id):
            word = DUPLICATE_WORDS[str(self.dedupe)]
            record = RECORD_NOUN[self.kind]
            return RowProblem(
                row.number,
                self._column(str(self.dedupe)),
                f"The {record} with this {word} belongs to someone outside your reach: "
                "you cannot update it.",
            )
        row.action = UPDATE
        row.existing_id = pk
        return None
