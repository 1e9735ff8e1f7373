"""Nightly lead score recompute: the timeline part of a score depends on today's date."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from contacts.models import Lead
from contacts.services import refresh_lead_score

CHUNK = 1000


@shared_task(
    name="contacts.tasks.recompute_lead_scores",
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    max_retries=5,
    ignore_result=True,
)
def recompute_lead_scores() -> int:
    """Refresh the score of every lead still in play; returns how many changed."""
    leads = Lead.objects.filter(converted_at__isnull=True).exclude(status=Lead.Status.DISQUALIFIED)
    changed = 0
    for lead in leads.order_by("pk").iterator(chunk_size=CHUNK):
        before = (lead.score, lead.score_breakdown)
        refresh_lead_score(lead=lead)
        changed += (lead.score, lead.score_breakdown) != before
    return changed
