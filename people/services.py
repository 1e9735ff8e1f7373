"""Workflows that carry a lead into the pipeline. Every function is one transaction."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.visibility import require_write
from contacts.models import Lead
from contacts.services import company_for_lead, contact_for_lead
from deals.models import Deal, Pipeline
from deals.services import create_deal
from followups.models import Activity
from people.events import LeadConverted
from pipeline_crm.errors import InvalidTransition
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
