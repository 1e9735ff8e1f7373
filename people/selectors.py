"""Read-side queries for the leads, contacts and companies pages.

Every queryset starts from `visible_to(user)` so a page can never show what SPEC §4 hides, and
every list is built so its query count does not depend on how many rows it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Lower

from accounts.models import User
from contacts.models import Company, Contact, Lead
from contacts.selectors import conversion_preview
from deals.models import Deal
from followups.models import Activity

LEAD_SORTS = {
    "-score": ("-score", "-created_at", "-id"),
    "score": ("score", "-created_at", "-id"),
    "-created": ("-created_at", "-id"),
    "name": ("last_name", "first_name", "id"),
    "company": ("company_name", "id"),
}
CONTACT_SORTS = {
    "name": ("last_name", "first_name", "id"),
    "-created": ("-created_at", "-id"),
    "company": ("company__name", "last_name", "id"),
}
COMPANY_SORTS: dict[str, tuple[Any, ...]] = {
    # Lower(name) sorts "acme" beside "Acme" and walks company_name_lower_idx: no full sort.
    "name": (Lower("name"), "id"),
    "-created": ("-created_at", "-id"),
}

# Bounded lists on detail pages: a company with 5,000 contacts must not make a 5,000-row page.
DETAIL_LIMIT = 50


@dataclass(frozen=True)
class ScorePart:
    label: str
    points: int


def score_parts(breakdown: Any) -> list[ScorePart]:
    """The scoring rules a lead meets (`score_breakdown`: [{rule, points}]), in rule order."""
    if not isinstance(breakdown, list):
        return []
    return [
        ScorePart(str(part.get("rule", "")), int(part.get("points") or 0)) for part in breakdown
    ]


def _search_terms(q: str) -> list[str]:
    return [term for term in q.split() if term][:6]


def _matching_every_term(qs: QuerySet[Any], q: str, fields: tuple[str, ...]) -> QuerySet[Any]:
    """Each word must appear in at least one field: "jane acme" finds Jane at Acme."""
    for term in _search_terms(q):
        match = Q()
        for field in fields:
            match |= Q(**{f"{field}__icontains": term})
        qs = qs.filter(match)
    return qs


def leads_for(
    user: User,
    *,
    q: str = "",
    status: str = "",
    source: str = "",
    owner: User | None = None,
    sort: str = "-score",
) -> QuerySet[Any]:
    leads: QuerySet[Any] = Lead.objects.visible_to(user).select_related("owner")
    if q:
        leads = _matching_every_term(leads, q, ("first_name", "last_name", "company_name", "email"))
    if status:
        leads = leads.filter(status=status)
    if source:
        leads = leads.filter(source=source)
    if owner is not None:
        leads = leads.filter(owner=owner)
    return leads.order_by(*LEAD_SORTS.get(sort, LEAD_SORTS["-score"]))


def contacts_for(user: User, *, q: str = "", sort: str = "name") -> QuerySet[Any]:
    contacts: QuerySet[Any] = Contact.objects.visible_to(user).select_related("company", "owner")
    if q:
        contacts = _matching_every_term(
            contacts, q, ("first_name", "last_name", "email", "phone", "title", "company__name")
        )
    return contacts.order_by(*CONTACT_SORTS.get(sort, CONTACT_SORTS["name"]))


def _count_of(queryset: QuerySet[Any], outer_field: str) -> Coalesce:
    """A correlated COUNT subquery: one SQL statement whatever the number of rows listed."""
    counted = (
        queryset.filter(**{outer_field: OuterRef("pk")})
        .order_by()
        .values(outer_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def companies_for(user: User, *, q: str = "", sort: str = "name") -> QuerySet[Any]:
    companies: QuerySet[Any] = Company.objects.visible_to(user).select_related("owner")
    if q:
        companies = _matching_every_term(companies, q, ("name", "domain", "industry"))
    companies = companies.annotate(
        contact_count=_count_of(Contact.objects.all(), "company"),
        open_deal_count=_count_of(
            Deal.objects.visible_to(user).filter(status=Deal.Status.OPEN), "company"
        ),
    )
    return companies.order_by(*COMPANY_SORTS.get(sort, COMPANY_SORTS["name"]))


def contacts_at(company: Company) -> QuerySet[Contact]:
    """A company's contacts (readable by everyone signed in), in the order of the contacts list."""
    return company.contacts.select_related("owner").order_by(*CONTACT_SORTS["name"])


def deals_of(user: User, **related: Any) -> QuerySet[Any]:
    """Deals linked to a company/contact/lead that `user` may see, open ones first."""
    deals: QuerySet[Any] = (
        Deal.objects.visible_to(user)
        .filter(**related)
        .select_related("stage", "owner")
        .annotate(
            status_rank=Case(
                When(status=Deal.Status.OPEN, then=Value(0)),
                When(status=Deal.Status.WON, then=Value(1)),
                default=Value(2),
            )
        )
        .order_by("status_rank", "expected_close_date", "-id")[:DETAIL_LIMIT]
    )
    return deals


def activities_of(user: User, **related: Any) -> QuerySet[Any]:
    """Activities on a record that `user` may see: planned ones first, then the latest done."""
    activities: QuerySet[Any] = (
        Activity.objects.visible_to(user)
        .filter(**related)
        .select_related("owner")
        .order_by(F("done_at").desc(nulls_first=True), "due_at", "-created_at", "-id")[
            :DETAIL_LIMIT
        ]
    )
    return activities


def open_deals_to_log_on(user: User, record: Contact | Company | Lead) -> list[Deal]:
    """The open deals an activity logged on `record` may be linked to: the contact's or the
    company's own open deals that `user` may change (logging on a deal is a change of it).
    A lead's activities stay on the lead."""
    if isinstance(record, Lead):
        return []
    related: dict[str, Any] = {"company" if isinstance(record, Company) else "contact": record}
    return list(
        Deal.objects.writable_by(user)
        .filter(status=Deal.Status.OPEN, **related)
        .order_by("-updated_at", "-id")[:DETAIL_LIMIT]
    )


def preview_body(lead: Lead) -> dict[str, Any]:
    """What converting `lead` would do now: for the company and the contact, the record reused
    (`record`, `reused` its id) or the name of the one created; the deal's expected close date
    and how many of the lead's activities move to the deal."""
    preview = conversion_preview(lead)
    parts = {
        "company": (preview.company, preview.new_company),
        "contact": (preview.contact, preview.new_contact),
    }
    return {
        **{
            part: {"record": record, "reused": record.pk if record else None, "created": name}
            for part, (record, name) in parts.items()
        },
        "expected_close_date": lead.timeline,
        "activities": Activity.objects.filter(lead=lead, deal__isnull=True).count(),
    }
