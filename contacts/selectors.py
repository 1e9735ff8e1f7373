"""Reads of companies, contacts and leads that several pages share."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import User
from contacts.models import Company, Contact, Lead

# Addresses at these domains say nothing about the buyer's company.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "web.de",
        "mail.com",
    }
)


def company_names_matching(text: str, *, user: User, limit: int = 10) -> list[str]:
    """Names of companies `user` can see matching the typed text (any case): those that start
    with it first, then those that contain it, each alphabetically (the company autocomplete)."""
    # NUL cannot reach PostgreSQL (it would be an error); spaces are folded as names store them.
    text = " ".join(text.replace("\x00", "").split())[:200]
    if not text:
        return []
    companies = Company.objects.visible_to(user).order_by("name").values_list("name", flat=True)
    names = list(companies.filter(name__istartswith=text)[:limit])
    if len(names) < limit:
        names += companies.filter(name__icontains=text).exclude(name__istartswith=text)[
            : limit - len(names)
        ]
    return names


# --- what converting a lead will reuse or create (`services.company_for_lead`, contact_for_lead) --


def email_domain(email: str) -> str:
    """The company domain an address names ("" for free-mail providers and non-addresses)."""
    domain = email.rpartition("@")[2].strip().lower() if "@" in (email or "") else ""
    return "" if domain in FREE_MAIL_DOMAINS else domain


def company_reused_for_lead(lead: Lead) -> tuple[Company | None, str]:
    """The existing company converting `lead` takes (by its e-mail domain, else by name when
    neither side has another domain), or None and the name of the company it would create
    ("" for none)."""
    domain = email_domain(lead.email)
    name = lead.company_name.strip()
    if domain:
        existing = Company.objects.filter(domain__iexact=domain).first()
        if existing:
            return existing, ""
    if name:
        existing = Company.objects.filter(name__iexact=name).first()
        if existing and (not domain or not existing.domain):
            return existing, ""
        return None, name
    return None, domain


def contact_reused_for_lead(lead: Lead) -> tuple[Contact | None, str]:
    """The existing contact converting `lead` takes (same e-mail, any case), or None and the
    name of the contact it would create ("" for none)."""
    if lead.email:
        existing = Contact.objects.filter(email__iexact=lead.email).first()
        if existing:
            return existing, ""
    if not (lead.first_name or lead.last_name or lead.email):
        return None, ""
    first = lead.first_name or lead.email.partition("@")[0]
    return None, f"{first} {lead.last_name}".strip()


@dataclass(frozen=True)
class ConversionPreview:
    """What converting a lead will do now: reuse `company`/`contact`, or create the ones named
    `new_company`/`new_contact` (both empty: none)."""

    company: Company | None
    new_company: str
    contact: Contact | None
    new_contact: str


def conversion_preview(lead: Lead) -> ConversionPreview:
    company, new_company = company_reused_for_lead(lead)
    contact, new_contact = contact_reused_for_lead(lead)
    return ConversionPreview(company, new_company, contact, new_contact)
