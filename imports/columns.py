"""What each kind of import reads: its fields, how a cell becomes a value, which are required,
and how the file's headers map onto them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contacts.models import Company, Lead
from imports import parsing
from pipeline_crm.errors import DomainError


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    parse: Callable[[str], Any] | None = None  # None: text up to max_length
    max_length: int = 200
    required: bool = False
    help: str = ""


def _choice(choices: Sequence[tuple[str, str]], what: str) -> Callable[[str], str]:
    """A choice given by its value or its label, in any case."""
    by_word = {word.lower(): value for value, label in choices for word in (value, label)}

    def parse(text: str) -> str:
        found = by_word.get(text.strip().lower())
        if found is None:
            options = ", ".join(value for value, _ in choices)
            raise ValueError(f"“{text}” is not a {what} (one of: {options}).")
        return found

    return parse


OWNER = Field("owner", "Owner", help="username or e-mail; the importer when empty")

FIELDS: dict[str, tuple[Field, ...]] = {
    "companies": (
        Field("name", "Name", required=True),
        Field("domain", "Domain", parsing.parse_domain, help="example.com; dedupes companies"),
        Field("industry", "Industry", max_length=100),
        Field("size", "Size", _choice(Company.Size.choices, "company size"), max_length=10),
        OWNER,
    ),
    "contacts": (
        Field("first_name", "First name", max_length=100, required=True),
        Field("last_name", "Last name", max_length=100),
        Field("email", "E-mail", parsing.parse_email, max_length=254, help="dedupes contacts"),
        Field("phone", "Phone", max_length=40),
        Field("title", "Job title", max_length=120),
        Field("company", "Company", help="company name: found, or created"),
        OWNER,
    ),
    "leads": (
        Field("first_name", "First name", max_length=100),
        Field("last_name", "Last name", max_length=100),
        Field("email", "E-mail", parsing.parse_email, max_length=254, help="dedupes leads"),
        Field("phone", "Phone", max_length=40),
        Field("company_name", "Company name"),
        Field("source", "Source", _choice(Lead.Source.choices, "lead source"), help="import"),
        Field("status", "Status", _choice(Lead.Status.choices, "lead status")),
        Field("need", "Need", max_length=5000),
        Field("budget", "Budget", parsing.parse_amount),
        Field("authority", "Authority", parsing.parse_bool, help="yes/no"),
        Field("timeline", "Timeline", parsing.parse_date, help="a date"),
        OWNER,
    ),
    "deals": (
        Field("title", "Title", required=True),
        Field("pipeline", "Pipeline", max_length=120, help="name; the default pipeline if empty"),
        Field("stage", "Stage", max_length=80, help="name; the first open stage if empty"),
        OWNER,
        Field("amount", "Amount", parsing.parse_amount),
        Field("currency", "Currency", parsing.parse_currency, max_length=3),
        Field("expected_close_date", "Expected close date", parsing.parse_date),
        Field("probability", "Probability", parsing.parse_percent, help="0-100 override"),
        Field("company", "Company", help="company name: found, or created"),
        Field("contact", "Contact", help="contact name: found, or created"),
        Field("contact_email", "Contact e-mail", parsing.parse_email, max_length=254),
        Field("next_step", "Next step", max_length=300),
    ),
}

# A lead needs at least one of these (a row of only a phone number names nobody).
LEAD_NAMING_FIELDS = ("first_name", "last_name", "email", "company_name")
KINDS = tuple(FIELDS)


def fields_of(kind: str) -> dict[str, Field]:
    if kind not in FIELDS:
        raise DomainError(f"“{kind}” is not a kind of import.", field="kind")
    return {field.name: field for field in FIELDS[kind]}


def normalise(header: str) -> str:
    """`First Name`, `first-name` and `first_name` all name the field `first_name`."""
    return re.sub(r"[\s\-]+", "_", header.strip().lower())


def header_mapping(
    kind: str, headers: Sequence[str], given: Mapping[str, str] | None
) -> dict[str, str]:
    """CSV header → field: the caller's mapping (a header mapped to "" is ignored), completed
    by the headers that name a field (its name or label, in any case). Refuses a mapping
    naming an unknown header or field, two headers for one field, and a missing required
    field."""
    fields = fields_of(kind)
    by_word = {
        word: field.name
        for field in fields.values()
        for word in (field.name, normalise(field.label))
    }
    mapping: dict[str, str] = {}
    for header, field in (given or {}).items():
        if header not in headers:
            raise DomainError(f"The file has no column “{header}”.", field="mapping")
        if field and field not in fields:
            raise DomainError(f"“{field}” is not a field of {kind}.", field="mapping")
        mapping[header] = field
    for header in headers:
        if header and header not in mapping and normalise(header) in by_word:
            mapping[header] = by_word[normalise(header)]
    mapping = {header: field for header, field in mapping.items() if field}
    _check_mapping(kind, fields, mapping)
    return mapping


def _check_mapping(kind: str, fields: Mapping[str, Field], mapping: Mapping[str, str]) -> None:
    mapped: dict[str, str] = {}
    for header, field in mapping.items():
        if field in mapped:
            raise DomainError(
                f"Both “{mapped[field]}” and “{header}” are mapped to {field}.", field="mapping"
            )
        mapped[field] = header
    missing = [f.label for f in fields.values() if f.required and f.name not in mapped]
    if missing:
        raise DomainError(
            f"The file has no column for the required field: {', '.join(missing)}.",
            field="mapping",
        )
    if kind == "leads" and not set(LEAD_NAMING_FIELDS) & set(mapped):
        raise DomainError(
            "A leads file needs a column for a first name, last name, e-mail or company name.",
            field="mapping",
        )
