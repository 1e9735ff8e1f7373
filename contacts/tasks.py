"""Lead score jobs: the nightly recompute (the timeline rules depend on today's date) and the
rescoring of a range of leads after the scoring rules changed (`contacts.listeners`)."""

from __future__ import annotations

from celery import shared_task

from contacts.models import Lead
from contacts.scoring import rescore_leads
from pipeline_crm.celery import JOB_RETRY


@shared_task(name="contacts.tasks.recompute_lead_scores", **JOB_RETRY)
def recompute_lead_scores() -> int:
    """Score every lead still in play (not converted, not disqualified) again under the rules,
    in SQL; returns how many leads. Closed leads keep the score they closed with."""
    leads = Lead.objects.filter(converted_at__isnull=True).exclude(status=Lead.Status.DISQUALIFIED)
    return rescore_leads(leads)


@shared_task(name="contacts.tasks.rescore_lead_range", **JOB_RETRY)
def rescore_lead_range(first_id: int, last_id: int) -> int:
    """Score the leads with ids first_id..last_id again (idempotent: the same rules give the
    same scores); returns how many leads."""
    return rescore_leads(Lead.objects.filter(pk__gte=first_id, pk__lte=last_id))
