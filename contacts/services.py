"""Business rules for companies, contacts and leads. Every function is one transaction.

Converting a lead into a deal crosses into the pipeline: `people.services.convert_lead`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from accounts.models import User
from accounts.visibility import require_admin, require_assignable, require_write
from contacts.events import ScoringRulesChanged
from contacts.learned import learned_score
from contacts.models import Company, Contact, Lead, ScoringRule
from contacts.scoring import clean_value
from contacts.scoring import score_lead as score_lead  # imports, demo and benches use it here
from contacts.selectors import company_reused_for_lead, contact_reused_for_lead, email_domain
from pipeline_crm.db import serialize_on
from pipeline_crm.errors import DomainError, InvalidTransition
from pipeline_crm.events import announce


def _require_write(by: User, record: models.Model, what: str) -> None:
    require_write(by, getattr(record, "owner_id", None), what)


def _save_unique(record: models.Model) -> None:
    """Save, turning a unique-constraint clash (e-mail, domain) into a field error."""
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError as exc:
        text = str(exc).lower()
        field = "email" if "email" in text else "domain" if "domain" in text else "detail"
        raise DomainError(f"Another record already uses this {field}.", field=field) from exc


@transaction.atomic
def create_record[Owned: (Company, Contact, Lead)](
    model: type[Owned], *, by: User, fields: Mapping[str, Any]
) -> Owned:
    """Create a company, contact or lead owned by `fields['owner']` or the caller. A contact's
    `company` may be given by name: found, or created in the same transaction."""
    owner = fields.get("owner") or by
    require_assignable(by, owner, what="records")
    record = model(**{**_company_found(fields, by=by), "owner": owner})
    _save_unique(record)
    if isinstance(record, Lead):
        refresh_lead_score(lead=record)
    return record


@transaction.atomic
def update_record[Owned: (Company, Contact, Lead)](
    record: Owned, *, by: User, changes: Mapping[str, Any]
) -> Owned:
    _require_write(by, record, str(record._meta.verbose_name))
    if "owner" in changes and changes["owner"].pk != record.owner_id:
        require_assignable(by, changes["owner"], what="records")
    for name, value in _company_found(changes, by=by).items():
        setattr(record, name, value)
    _save_unique(record)
    if isinstance(record, Lead):
        refresh_lead_score(lead=record)
    return record


def _company_found(fields: Mapping[str, Any], *, by: User) -> dict[str, Any]:
    """`fields` with a company given by name replaced by the company (`company_named`)."""
    company = fields.get("company")
    if isinstance(company, str):
        return {**fields, "company": company_named(company, by=by)}
    return dict(fields)


@transaction.atomic
def delete_record(record: models.Model, *, by: User) -> None:
    _require_write(by, record, str(record._meta.verbose_name))
    record.delete()


@transaction.atomic
def hand_over_records(*, from_owner: User, to_owner: User, by: User) -> dict[str, int]:
    """Give `from_owner`'s companies, contacts and leads still in play (not converted, not
    disqualified) to `to_owner`: a deactivated user's accounts keep someone looking after
    them. Closed leads keep their owner, the record of who worked them."""
    require_assignable(by, to_owner, what="records")
    leads_in_play = Lead.objects.filter(owner=from_owner, converted_at__isnull=True).exclude(
        status=Lead.Status.DISQUALIFIED
    )
    return {
        "companies": Company.objects.filter(owner=from_owner).update(owner=to_owner),
        "contacts": Contact.objects.filter(owner=from_owner).update(owner=to_owner),
        "leads": leads_in_play.update(owner=to_owner, updated_at=timezone.now()),
    }


# --- lead scoring (rules: contacts.scoring; the learned score: contacts.learned) ------------


def refresh_lead_score(*, lead: Lead) -> Lead:
    score, breakdown = score_lead(lead)
    learned = learned_score(lead)
    if (score, breakdown, learned) != (lead.score, lead.score_breakdown, lead.learned_score):
        Lead.objects.filter(pk=lead.pk).update(
            score=score, score_breakdown=breakdown, learned_score=learned
        )
        lead.score, lead.score_breakdown, lead.learned_score = score, breakdown, learned
    return lead


def _rule_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    field, operator = fields.get("field", ""), fields.get("operator", "")
    value = clean_value(field, operator, fields.get("value"))
    points = fields.get("points")
    if not isinstance(points, int) or isinstance(points, bool) or not -100 <= points <= 100:
        raise DomainError("Give whole points between -100 and 100.", field="points")
    return {"field": field, "operator": operator, "value": value, "points": points}


@transaction.atomic
def save_scoring_rule(
    *, by: User, fields: Mapping[str, Any], rule: ScoringRule | None = None
) -> ScoringRule:
    """Add a rule (or change `rule`) after checking its field, operator and value; every lead
    is then scored again (`contacts.listeners`)."""
    require_admin(by, "Only admins change the scoring rules.")
    rule = rule or ScoringRule()
    for name, value in _rule_fields(fields).items():
        setattr(rule, name, value)
    rule.save()
    announce(ScoringRulesChanged(by=by))
    return rule


@transaction.atomic
def delete_scoring_rule(*, by: User, rule: ScoringRule) -> None:
    require_admin(by, "Only admins change the scoring rules.")
    rule.delete()
    announce(ScoringRulesChanged(by=by))


# --- companies and contacts found again, or created once --------------------------------------
#
# Check-then-create is serialized per key (`pipeline_crm.db.serialize_on`): two requests asking
# for the same new company at the same moment get one company, not two (a name is not unique,
# so no database constraint can settle it) and never a clash on a unique domain or e-mail.


@transaction.atomic
def company_named(name: str, *, by: User) -> Company | None:
    """The company called `name` (ignoring case), created for `by` when there is none yet."""
    name = (name or "").strip()
    if not name:
        return None
    serialize_on("company-name", name.lower())
    existing = Company.objects.filter(name__iexact=name).order_by("id").first()
    if existing is not None:
        return existing
    return create_record(Company, by=by, fields={"name": name})


@transaction.atomic
def company_for_lead(lead: Lead, *, owner: User) -> Company | None:
    """The lead's company: found by its e-mail domain, else by name, else created for `owner`."""
    domain = email_domain(lead.email)
    name = lead.company_name.strip()
    if domain:
        serialize_on("company-domain", domain)
    if name:
        serialize_on("company-name", name.lower())
    existing, new_name = company_reused_for_lead(lead)
    if existing is not None or not new_name:
        return existing
    return _company_with_domain(name=new_name, domain=domain, owner=owner)


def _company_with_domain(*, name: str, domain: str, owner: User) -> Company:
    """Create the company; if another writer (one that did not serialize on the domain: a form,
    the API, an import) committed the same domain meanwhile, take that one instead of a 500."""
    try:
        with transaction.atomic():  # a savepoint: the clash must not spoil the caller's work
            return Company.objects.create(name=name, domain=domain, owner=owner)
    except IntegrityError:
        existing = Company.objects.filter(domain__iexact=domain).first() if domain else None
        if existing is None:
            raise
        return existing


@transaction.atomic
def contact_for_lead(lead: Lead, *, company: Company | None, owner: User) -> Contact | None:
    """The lead's person: found by e-mail (any case), else created for `owner`."""
    if lead.email:
        serialize_on("contact-email", lead.email.lower())
    existing, new_name = contact_reused_for_lead(lead)
    if existing is not None or not new_name:
        return existing
    return Contact.objects.create(
        first_name=lead.first_name or lead.email.partition("@")[0],
        last_name=lead.last_name,
        email=lead.email,
        phone=lead.phone,
        company=company,
        owner=owner,
    )


@transaction.atomic
def disqualify_lead(*, lead: Lead, by: User, reason: str) -> Lead:
    _require_write(by, lead, "lead")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why the lead is disqualified.", field="reason")
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.converted_at is not None:
        raise InvalidTransition("This lead was already converted into a deal.")
    lead.status = Lead.Status.DISQUALIFIED
    lead.disqualified_reason = reason[:300]
    lead.save(update_fields=["status", "disqualified_reason", "updated_at"])
    return lead
