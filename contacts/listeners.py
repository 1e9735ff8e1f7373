"""What follows for companies, contacts and leads from other apps' events (see
`pipeline_crm.events`): a deactivated user's records go to the user the admin chose, in the same
transaction; changed scoring rules score every lead again."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Max, Min

from accounts.events import UserDeactivated
from contacts import scoring, services
from contacts.events import ScoringRulesChanged
from contacts.models import Lead
from contacts.tasks import rescore_lead_range
from pipeline_crm.events import DURING, listens_to


@listens_to(UserDeactivated, phase=DURING)
def hand_over_records(event: UserDeactivated) -> None:
    services.hand_over_records(from_owner=event.user, to_owner=event.reassign_to, by=event.by)


# Leads per rescoring task when there are too many to rescore in the request.
RESCORE_CHUNK = 5000


@listens_to(ScoringRulesChanged, phase=DURING)
def rescore_leads(event: ScoringRulesChanged) -> None:
    """Every lead scored again under the new rules: in the same transaction when there are few
    (`SCORING_RESCORE_INLINE_MAX`), else by Celery tasks over ranges of ids once it commits."""
    leads = Lead.objects.all()
    if leads.count() <= settings.SCORING_RESCORE_INLINE_MAX:
        scoring.rescore_leads(leads)
        return
    bounds = leads.aggregate(first=Min("pk"), last=Max("pk"))
    for start in range(bounds["first"], bounds["last"] + 1, RESCORE_CHUNK):
        rescore_lead_range.delay_on_commit(start, start + RESCORE_CHUNK - 1)
