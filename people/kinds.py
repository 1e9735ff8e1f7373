"""The three kinds of record the people pages show (leads, contacts, companies), described once.

`people.views` serves every kind with the same views and `templates/people/record_*.html`;
a `RecordKind` says only what differs: the model and its forms, the list's selector, the
template partials of its own (`templates/people/_<name>.html`), what its detail page adds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.forms import BaseForm
from django.http import QueryDict

from accounts.models import User
from contacts.models import Company, Contact, Lead
from people import selectors
from people.forms import (
    CompanyFilterForm,
    CompanyForm,
    ContactFilterForm,
    ContactForm,
    ConvertForm,
    DisqualifyForm,
    LeadFilterForm,
    LeadForm,
    ListFilterForm,
    OwnedRecordForm,
)
from pipeline_crm.csv_files import Column
from pipeline_crm.ids import parse_id

type Record = Company | Contact | Lead
# The forms a detail page shows filled in (a rejected one comes back with its errors), by name.
type FormsGiven = Mapping[str, BaseForm | None]

ACTIONS = (
    "create",
    "detail",
    "edit",
    "delete",
    "activity",
    "activity-done",
    "duplicates",
    "merge",
    "similar",
)
# Slots of the shared templates that a kind fills with a partial of its own template.
REQUIRED_PARTS = ("columns", "row", "summary", "facts")
OPTIONAL_PARTS = ("badges", "main", "side")


def _nothing_more(record: Any, forms: FormsGiven) -> dict[str, Any]:
    return {}


def _no_initial(query: QueryDict, user: User) -> dict[str, Any]:
    return {}


def _no_linked_fields(form: OwnedRecordForm) -> dict[str, Any]:
    return {}


@dataclass(frozen=True, kw_only=True, eq=False)
class RecordKind[R: (Company, Contact, Lead)]:
    """One kind of record: what its pages need beyond what all three share. (One instance a
    kind: compared and hashed by identity.)"""

    name: str  # "lead": URL names lead-detail…, the related name on deals and activities
    plural: str  # "leads": the list's URL name and path, the top bar's `nav`
    model: type[R]
    form: type[OwnedRecordForm]
    filter_form: type[ListFilterForm]
    # The list's rows for a user: called with the filter form's criteria().
    rows: Callable[..., QuerySet[Any]]
    # The list's CSV (`?format=csv`): one row per record the filters select.
    csv_columns: tuple[Column, ...]
    related: tuple[str, ...]  # select_related of the record on its own pages
    search_placeholder: str
    extra_parts: tuple[str, ...] = ()  # the OPTIONAL_PARTS its template fills
    created_message: str  # str.format(record=…)
    deleted_message: str
    delete_confirm: str
    # Anyone who can read the record may log an activity on it (else: those who may write it).
    anyone_may_log: bool = False
    # Its page shows one timeline of its own, its deals' (and its contacts') history
    # (`people.timeline`) instead of its own activities alone.
    timeline: bool = False
    empty_deals: str = "No deals you can see."
    page_extras: Callable[[R, FormsGiven], dict[str, Any]] = _nothing_more
    # The create form's initial values, from its query string, for the user.
    initial: Callable[[QueryDict, User], dict[str, Any]] = _no_initial
    # Model fields the form names rather than holds (a contact's company, by name).
    linked_fields: Callable[[OwnedRecordForm], dict[str, Any]] = _no_linked_fields
    urls: dict[str, str] = field(init=False)
    partials: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        if unknown := set(self.extra_parts) - set(OPTIONAL_PARTS):
            raise ValueError(f"The shared templates have no slot {', '.join(sorted(unknown))}.")
        own = f"people/_{self.name}.html"
        partials = {slot: f"{own}#{slot}" for slot in (*REQUIRED_PARTS, *self.extra_parts)}
        urls = {"list": self.plural} | {action: f"{self.name}-{action}" for action in ACTIONS}
        # A frozen dataclass: the derived fields are set once, here.
        object.__setattr__(self, "partials", partials)
        object.__setattr__(self, "urls", urls)


# --- what a lead, a contact and a company add -------------------------------------------------


def _owner(record: Any) -> str:
    return str(record.owner)


LEAD_COLUMNS = (
    Column("ID", lambda lead: lead.pk),
    Column("First name", lambda lead: lead.first_name),
    Column("Last name", lambda lead: lead.last_name),
    Column("E-mail", lambda lead: lead.email),
    Column("Phone", lambda lead: lead.phone),
    Column("Company", lambda lead: lead.company_name),
    Column("Source", lambda lead: lead.get_source_display()),
    Column("Status", lambda lead: lead.get_status_display()),
    Column("Score", lambda lead: lead.score),
    Column("Budget", lambda lead: lead.budget),
    Column("Decision maker", lambda lead: lead.authority),
    Column("Decides by", lambda lead: lead.timeline),
    Column("Owner", _owner),
    Column("Created", lambda lead: lead.created_at),
    Column("Converted", lambda lead: lead.converted_at),
)
CONTACT_COLUMNS = (
    Column("ID", lambda contact: contact.pk),
    Column("First name", lambda contact: contact.first_name),
    Column("Last name", lambda contact: contact.last_name),
    Column("E-mail", lambda contact: contact.email),
    Column("Phone", lambda contact: contact.phone),
    Column("Title", lambda contact: contact.title),
    Column("Company", lambda contact: contact.company.name if contact.company else ""),
    Column("Owner", _owner),
    Column("Created", lambda contact: contact.created_at),
)
COMPANY_COLUMNS = (
    Column("ID", lambda company: company.pk),
    Column("Name", lambda company: company.name),
    Column("Domain", lambda company: company.domain),
    Column("Industry", lambda company: company.industry),
    Column("Size", lambda company: company.get_size_display()),
    Column("Contacts", lambda company: company.contact_count),
    Column("Open deals", lambda company: company.open_deal_count),
    Column("Owner", _owner),
    Column("Created", lambda company: company.created_at),
)


def _lead_extras(lead: Lead, forms: FormsGiven) -> dict[str, Any]:
    return {
        "convert_form": forms.get("convert_form") or ConvertForm(),
        "disqualify_form": forms.get("disqualify_form") or DisqualifyForm(),
        # What converting would reuse or create, shown beside the Convert button.
        "conversion": selectors.preview_body(lead) if lead.converted_at is None else None,
        # A converted lead shows its deals' section even when the deal is out of sight.
        "empty_deals": "The deal is not visible to you." if lead.converted_at else None,
    }


def _company_extras(company: Company, forms: FormsGiven) -> dict[str, Any]:
    contacts = selectors.contacts_at(company)
    return {"contacts": contacts[: selectors.DETAIL_LIMIT], "contact_count": contacts.count()}


def _company_from_query(query: QueryDict, user: User) -> dict[str, Any]:
    """The company that "Add contact" on a company page names, for the new contact's form."""
    company_id = parse_id(query.get("company"))
    companies = Company.objects.visible_to(user)
    company = companies.filter(pk=company_id).first() if company_id is not None else None
    return {"company_name": company.name} if company is not None else {}


def _company_by_name(form: OwnedRecordForm) -> dict[str, Any]:
    """The company typed by name (the service finds it, or creates it with the contact)."""
    return {"company": form.cleaned_data["company_name"]}


LEADS: RecordKind[Lead] = RecordKind(
    name="lead",
    plural="leads",
    model=Lead,
    form=LeadForm,
    filter_form=LeadFilterForm,
    rows=selectors.leads_for,
    csv_columns=LEAD_COLUMNS,
    related=("owner",),
    search_placeholder="Search name, company or e-mail",
    extra_parts=("badges", "side"),
    created_message="Lead {record} created (score {record.score}).",
    deleted_message="Lead {record} deleted.",
    delete_confirm="Delete this lead and its activities?",
    page_extras=_lead_extras,
)

CONTACTS: RecordKind[Contact] = RecordKind(
    name="contact",
    plural="contacts",
    model=Contact,
    form=ContactForm,
    filter_form=ContactFilterForm,
    rows=selectors.contacts_for,
    csv_columns=CONTACT_COLUMNS,
    related=("company", "owner"),
    search_placeholder="Search name, e-mail, phone, title or company",
    created_message="Contact {record} created.",
    deleted_message="Contact {record} deleted.",
    delete_confirm="Delete this contact? Their deals stay, without a contact.",
    # Any signed-in user may note a call with a contact they can read; it is theirs.
    anyone_may_log=True,
    timeline=True,
    initial=_company_from_query,
    linked_fields=_company_by_name,
)

COMPANIES: RecordKind[Company] = RecordKind(
    name="company",
    plural="companies",
    model=Company,
    form=CompanyForm,
    filter_form=CompanyFilterForm,
    rows=selectors.companies_for,
    csv_columns=COMPANY_COLUMNS,
    related=("owner",),
    search_placeholder="Search name, domain or industry",
    extra_parts=("main",),
    created_message="Company {record} created.",
    deleted_message="Company {record} deleted; its contacts and deals remain.",
    delete_confirm=(
        "Delete this company? Its contacts and deals stay, without a company; "
        "notes logged on it are deleted."
    ),
    anyone_may_log=True,
    timeline=True,
    page_extras=_company_extras,
)
