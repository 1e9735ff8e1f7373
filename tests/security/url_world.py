"""The records the access matrix fills URLs with: everything belongs to `rep` (team A).

Team A: managed by `manager`, members `rep` and `teammate`. Team B: managed by
`other_manager`, member `outsider`. `admin` is an admin. Webhooks are admins' only, so the
world's webhook is the admin's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from accounts.models import Team, User
from audit.models import Action, AuditEntry
from audit.services import record
from contacts.models import Company, Contact, Lead, ScoringRule
from currencies.models import ExchangeRate
from deals.models import Deal, LostReason, Pipeline, Stage
from followups.models import Activity, Notification
from forecasting.models import Quota
from imports.models import Import, RowError
from integrations.models import Delivery, Webhook
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadFactory,
    NotificationFactory,
    TeamFactory,
    UserFactory,
    default_pipeline,
    lost_reason_entry,
)

ACTORS = ("anonymous", "rep", "teammate", "outsider", "manager", "other_manager", "admin")


@dataclass
class World:
    people: dict[str, User]
    team: Team
    pipeline: Pipeline
    stage: Stage
    company: Company
    contact: Contact
    lead: Lead
    deal: Deal
    lost_reason: LostReason  # an entry of the list of lost reasons
    activity: Activity  # on the deal
    lead_activity: Activity
    contact_activity: Activity
    company_activity: Activity
    notification: Notification
    quota: Quota
    batch: Import
    webhook: Webhook
    delivery: Delivery
    scoring_rule: ScoringRule
    audit_entry: AuditEntry
    exchange_rate: ExchangeRate
    sessions: dict[str, str]  # actor -> a signed-in session's key

    def record(self, name: str) -> Any:
        """A URL kwarg's value: a record's pk, or a plain value (`"=title"`)."""
        if name.startswith("="):
            return name[1:]
        if name == "calendar_token":
            return self.people["rep"].calendar_token
        if name in self.people:
            return self.people[name].pk
        return getattr(self, name).pk


def _people() -> tuple[dict[str, User], Team]:
    people = {
        "rep": UserFactory(username="rep", role="rep"),
        "teammate": UserFactory(username="teammate", role="rep"),
        "outsider": UserFactory(username="outsider", role="rep"),
        "manager": UserFactory(username="manager", role="manager"),
        "other_manager": UserFactory(username="other_manager", role="manager"),
        "admin": UserFactory(username="admin", role="admin", is_staff=True),
    }
    team_a = TeamFactory(
        name="Team A",
        members=[people["rep"], people["teammate"]],
        managers=[people["manager"]],
    )
    TeamFactory(name="Team B", members=[people["outsider"]], managers=[people["other_manager"]])
    return people, team_a


def _sessions(people: dict[str, User]) -> dict[str, str]:
    """A session for each person, made once: signing in costs more than most requests."""
    sessions = {}
    for actor, user in people.items():
        client = Client()
        client.force_login(user)
        sessions[actor] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return sessions


def build_world() -> World:
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        people, team = _people()
    rep = people["rep"]
    pipeline = default_pipeline()
    stage = pipeline.stages.order_by("order").first()
    assert stage is not None
    company = CompanyFactory(owner=rep)
    contact = ContactFactory(owner=rep, company=company)
    lead = LeadFactory(owner=rep)
    deal = DealFactory(owner=rep, company=company, contact=contact, title="Rep's deal")
    due = timezone.now() + dt.timedelta(days=1)
    batch = Import.objects.create(
        kind=Import.Kind.LEADS, status=Import.Status.DONE, created_by=rep, file_name="a.csv"
    )
    RowError.objects.create(batch=batch, row=2, column="email", message="Not an e-mail.")
    webhook = Webhook.objects.create(
        url="https://hooks.example.com/crm", events=["deal.created"], created_by=people["admin"]
    )
    return World(
        people=people,
        team=team,
        pipeline=pipeline,
        stage=stage,
        company=company,
        contact=contact,
        lead=lead,
        deal=deal,
        lost_reason=lost_reason_entry("No budget"),
        activity=ActivityFactory(owner=rep, deal=deal, due_at=due),
        lead_activity=ActivityFactory(owner=rep, lead=lead, due_at=due),
        contact_activity=ActivityFactory(owner=rep, contact=contact, due_at=due),
        company_activity=ActivityFactory(owner=rep, company=company, due_at=due),
        notification=NotificationFactory(user=rep, deal=deal),
        quota=Quota.objects.create(
            user=rep,
            period=Quota.Period.MONTH,
            period_start=timezone.localdate().replace(day=1),
            amount=Decimal("10000.00"),
        ),
        batch=batch,
        webhook=webhook,
        delivery=Delivery.objects.create(webhook=webhook, event="deal.created", body="{}"),
        scoring_rule=ScoringRule.objects.create(field="need", operator="is_set", points=5),
        audit_entry=record(action=Action.ROLE_CHANGED, actor=people["admin"], target=rep),
        exchange_rate=ExchangeRate.objects.create(
            currency="EUR", rate=Decimal("1.08"), valid_from=dt.date(2026, 1, 1)
        ),
        sessions=_sessions(people),
    )
