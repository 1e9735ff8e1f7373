"""Workflows of the people pages: a lead carried into the pipeline, an activity logged on a
record (and on the right deal). Every function is one transaction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Final, Literal

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.visibility import require_write
from contacts.models import Company, Contact, Lead
from contacts.services import company_for_lead, contact_for_lead
from deals.models import Deal, Pipeline
from deals.services import create_deal
from followups.models import Activity
from followups.services import log_activity
from people.events import LeadConverted
from people.selectors import open_deals_to_log_on
from pipeline_crm.errors import DomainError, InvalidTransition
from pipeline_crm.events import announce


@transaction.atomic
def convert_lead(
    *,
    lead: Lead,
    by: User,
    pipeline: Pipeline | None = None,
    title: str = "",
    amount: Decimal | None = None,
) -> Deal:
    """Turn a lead into a deal, reusing a company (by domain) and contact (by e-mail): the deal
    closes when the lead decides (`timeline`), and the lead's activities move onto the deal and
    the contact (`contacts.selectors.conversion_preview` says beforehand what is reused)."""
    require_write(by, lead.owner_id, "lead")
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status == Lead.Status.DISQUALIFIED:
        raise InvalidTransition("This lead is disqualified; it cannot be converted.")
    if lead.converted_at is not None:
        raise InvalidTransition("This lead was already converted.")
    owner = lead.owner
    company = company_for_lead(lead, owner=owner)
    contact = contact_for_lead(lead, company=company, owner=owner)
    deal = create_deal(
        by=by,
        owner=owner,
        title=(title or lead.company_name or lead.full_name or f"Lead {lead.pk}")[:200],
        pipeline=pipeline,
        amount=amount if amount is not None else lead.budget,
        company=company,
        contact=contact,
        lead=lead,
        expected_close_date=lead.timeline,
    )
    # The lead's timeline goes with it: its activities show on the contact and the deal too.
    carried = Activity.objects.filter(lead=lead, deal__isnull=True)
    if contact is not None:
        carried.filter(contact__isnull=True).update(contact=contact)
    carried.update(deal=deal)
    lead.status = Lead.Status.QUALIFIED
    lead.converted_at = timezone.now()
    lead.save(update_fields=["status", "converted_at", "updated_at"])
    announce(LeadConverted(lead=lead, deal=deal, by=by))
    return deal


# The answer "on none of its deals" to "which deal is this about?".
NO_DEAL: Final = "none"
type DealChoice = int | Literal["none"] | None


def _deal_to_log_on(choice: DealChoice, candidates: list[Deal]) -> Deal | None:
    """The deal an activity logged on a record goes on: the one chosen among `candidates`, none
    when asked so, else the only one; with several and no choice, the caller must ask."""
    if choice == NO_DEAL:
        return None
    if choice is not None:
        chosen = next((deal for deal in candidates if deal.pk == choice), None)
        if chosen is None:
            raise DomainError("Choose one of the open deals listed, or no deal.", field="deal")
        return chosen
    if len(candidates) > 1:
        raise DomainError("Which deal is this about? Choose one, or no deal.", field="deal")
    return candidates[0] if candidates else None


@transaction.atomic
def log_on_record(
    *,
    by: User,
    record: Contact | Company | Lead,
    kind: str,
    subject: str,
    body: str = "",
    due_at: dt.datetime | None = None,
    done: bool = True,
    deal: DealChoice = None,
) -> Activity:
    """Log (or plan, with `due_at` and not `done`) an activity on a contact, company or lead
    page. On a contact or company it also goes on their open deal (one `by` may change) when
    there is exactly one; with several, `deal` says which (an id) or `NO_DEAL`."""
    linked = _deal_to_log_on(deal, open_deals_to_log_on(by, record))
    return log_activity(
        by=by,
        kind=kind,
        subject=subject,
        body=body,
        due_at=due_at,
        done=done,
        deal=linked,
        contact=record if isinstance(record, Contact) else None,
        company=record if isinstance(record, Company) else None,
        lead=record if isinstance(record, Lead) else None,
    )
