"""Demo data for `manage.py seed_demo`: people in two teams, companies, contacts, leads, quotas
and deals with 18 months of history (the deal walk lives in `demo_deals`, its writing in
`deal_loading`).

Everything is found again by a stable key (username, team name, company domain, e-mail, the
quota's unique period), so a second run creates nothing twice and only tops deals up.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import Group
from django.db import models, transaction
from django.utils import timezone

from accounts.models import Role, Team, User
from contacts.models import Company, Contact, Lead
from contacts.scoring import current_rules
from contacts.services import score_lead
from deals.models import Deal, Pipeline
from demo import deal_loading, demo_deals
from demo.demo_deals import HISTORY_DAYS
from followups.models import Activity
from forecasting.models import Quota
from forecasting.services import snapshot_from_history
from forecasting.tasks import store_forecast_backtests
from pipeline_crm.db import bulk_insert, refresh_planner_statistics

# Development only: printed on purpose, and set only on users the demo creates.
DEMO_PASSWORD = "demo1234!"  # noqa: S105
DEMO_EMAIL_DOMAIN = "example"  # reserved TLD: demo addresses never reach anyone


@dataclass(frozen=True)
class DemoPerson:
    username: str
    first_name: str
    last_name: str
    role: str
    team: str = ""  # member of
    manages: str = ""  # manager of
    deal_share: int = 0  # relative share of the deals they own


PEOPLE = (
    DemoPerson("admin", "Ada", "Admin", Role.ADMIN),
    DemoPerson("maria", "Maria", "Novak", Role.MANAGER, manages="Team North", deal_share=1),
    DemoPerson("rita", "Rita", "Reyes", Role.REP, team="Team North", deal_share=6),
    DemoPerson("ravi", "Ravi", "Rao", Role.REP, team="Team North", deal_share=5),
    DemoPerson("mark", "Mark", "Stone", Role.MANAGER, manages="Team South", deal_share=1),
    DemoPerson("sam", "Sam", "Sutton", Role.REP, team="Team South", deal_share=5),
    DemoPerson("sara", "Sara", "Silva", Role.REP, team="Team South", deal_share=6),
)
DEMO_USERNAMES = tuple(p.username for p in PEOPLE)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Anna Ben Carla David Elena Farid Grace Hugo Ines Jonas Kara Liam Mona Nils Olga Pablo "
    "Quinn Rosa Stefan Tara Umar Vera Will Xenia Yusuf Zoe Aiko Bruno Chloe Dmitri Emma Felix"
)
LAST_NAMES = _words(
    "Adler Berg Costa Dubois Evans Fischer Garcia Hansen Ito Jensen Kowalski Larsen Moreau "
    "Nakamura Olsen Petrov Quint Rossi Schmidt Tanaka Ueda Vogel Weber Xu Young Zimmermann"
)
COMPANY_WORDS = _words(
    "Northwind Bluepeak Cedar Harbor Ironleaf Juniper Keystone Lumen Meridian Nimbus Oakridge "
    "Pioneer Quarry Redwood Summit Tidewater Umbra Vertex Willow Zenith Atlas Beacon Copper "
    "Delta Ember Falcon Granite Horizon Indigo Jasper Kestrel Lantern Maple Nova Orbit Prism"
)
COMPANY_KINDS = _words(
    "Logistics Foods Health Energy Robotics Media Retail Labs Capital Systems Pharma Motors "
    "Textiles Analytics Security Travel Builders Software Farms Insurance"
)
INDUSTRIES = (
    "Logistics",
    "Food & beverage",
    "Healthcare",
    "Energy",
    "Manufacturing",
    "Media",
    "Retail",
    "Software",
    "Finance",
    "Education",
)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# --- people -----------------------------------------------------------------------------------


@dataclass
class Cast:
    users: dict[str, User]
    teams: dict[str, Team]
    created_usernames: list[str]

    def owners_with_weights(self) -> tuple[list[User], list[int]]:
        owners = [self.users[p.username] for p in PEOPLE if p.deal_share]
        return owners, [p.deal_share for p in PEOPLE if p.deal_share]


@transaction.atomic
def ensure_people() -> Cast:
    """The demo users and teams, created when missing; existing ones keep their password."""
    groups = {g.name: g for g in Group.objects.filter(name__in=Role.values)}
    for name in Role.values:
        if name not in groups:
            groups[name] = Group.objects.create(name=name)
    users: dict[str, User] = {}
    created_usernames = []
    for person in PEOPLE:
        user, created = User.objects.get_or_create(
            username=person.username,
            defaults={
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": f"{person.username}@crm.{DEMO_EMAIL_DOMAIN}",
                "is_staff": person.role == Role.ADMIN,
                "is_superuser": person.role == Role.ADMIN,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            created_usernames.append(user.username)
        user.groups.add(groups[person.role])
        users[person.username] = user
    teams: dict[str, Team] = {}
    for person in PEOPLE:
        for team_name, relation in ((person.team, "members"), (person.manages, "managers")):
            if team_name:
                team = teams.get(team_name) or Team.objects.get_or_create(name=team_name)[0]
                teams[team_name] = team
                getattr(team, relation).add(users[person.username])
    return Cast(users=users, teams=teams, created_usernames=created_usernames)


# --- companies, contacts, leads ----------------------------------------------------------------


def company_name(index: int) -> str:
    word = COMPANY_WORDS[index % len(COMPANY_WORDS)]
    kind = COMPANY_KINDS[(index // len(COMPANY_WORDS)) % len(COMPANY_KINDS)]
    round_ = index // (len(COMPANY_WORDS) * len(COMPANY_KINDS))
    return f"{word} {kind}" + (f" {round_ + 1}" if round_ else "")


def _random_past(rng: random.Random, now: dt.datetime, days: float = HISTORY_DAYS) -> dt.datetime:
    return now - dt.timedelta(seconds=rng.uniform(0, days * 86400))


def ensure_companies(rng: random.Random, cast: Cast, count: int, now: dt.datetime) -> None:
    owners, weights = cast.owners_with_weights()
    wanted = {}
    for i in range(count):
        name = company_name(i)
        wanted[f"{slug(name)}.{DEMO_EMAIL_DOMAIN}"] = name
    existing = set(Company.objects.filter(domain__in=list(wanted)).values_list("domain", flat=True))
    sizes = [choice[0] for choice in Company.Size.choices]
    rows = [
        Company(
            name=name,
            domain=domain,
            industry=rng.choice(INDUSTRIES),
            size=rng.choice(sizes),
            owner=rng.choices(owners, weights)[0],
            created_at=_random_past(rng, now),
        )
        for domain, name in wanted.items()
        if domain not in existing
    ]
    bulk_insert(Company, rows)
    _ensure_contacts(rng, list(wanted), now)


def _ensure_contacts(rng: random.Random, domains: Sequence[str], now: dt.datetime) -> None:
    """Two people at every demo company, owned by the company's owner."""
    companies = Company.objects.filter(domain__in=list(domains)).only("pk", "domain", "owner_id")
    have = set(
        Contact.objects.filter(company__domain__in=list(domains)).values_list("email", flat=True)
    )
    rows = []
    titles = ("CEO", "Head of Sales", "CTO", "Procurement lead", "Operations manager", "CFO")
    for company in companies:
        for n in range(2):
            first = FIRST_NAMES[(company.pk * 7 + n * 3) % len(FIRST_NAMES)]
            last = LAST_NAMES[(company.pk * 5 + n) % len(LAST_NAMES)]
            email = f"{first}.{last}@{company.domain}".lower()
            if email in have:
                continue
            have.add(email)
            rows.append(
                Contact(
                    first_name=first,
                    last_name=last,
                    email=email,
                    phone=f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                    title=rng.choice(titles),
                    company_id=company.pk,
                    owner_id=company.owner_id,
                    created_at=_random_past(rng, now),
                )
            )
    bulk_insert(Contact, rows)


def ensure_leads(rng: random.Random, cast: Cast, count: int, now: dt.datetime) -> None:
    """Leads at prospect companies, every status and source, scored like the service scores."""
    owners, weights = cast.owners_with_weights()
    existing = set(
        Lead.objects.filter(email__endswith=f".leads.{DEMO_EMAIL_DOMAIN}").values_list(
            "email", flat=True
        )
    )
    statuses = (
        (Lead.Status.NEW, 3),
        (Lead.Status.WORKING, 3),
        (Lead.Status.QUALIFIED, 3),
        (Lead.Status.DISQUALIFIED, 1),
    )
    sources = [s for s, _ in Lead.Source.choices if s != Lead.Source.IMPORT]
    rows = []
    rules = current_rules()
    for i in range(count):
        first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i * 7) % len(LAST_NAMES)]
        prospect = company_name(i + 5000)
        email = f"{first}.{last}.{i}@{slug(prospect)}.leads.{DEMO_EMAIL_DOMAIN}".lower()
        if email in existing:
            continue
        created = _random_past(rng, now, days=120)
        status = rng.choices([s for s, _ in statuses], [w for _, w in statuses])[0]
        lead = Lead(
            first_name=first,
            last_name=last,
            email=email,
            phone=f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            company_name=prospect,
            source=rng.choice(sources),
            status=status,
            need=rng.choice(("", "", "Replace spreadsheets", "Faster reporting", "Scale the team")),
            budget=rng.choice((None, Decimal(rng.randint(2, 80) * 1000))),
            authority=rng.random() < 0.4,
            timeline=rng.choice((None, (now + dt.timedelta(days=rng.randint(-10, 200))).date())),
            owner=rng.choices(owners, weights)[0],
            disqualified_reason="No budget" if status == Lead.Status.DISQUALIFIED else "",
            created_at=created,
            updated_at=created + dt.timedelta(days=rng.uniform(0, (now - created).days or 1)),
        )
        lead.score, lead.score_breakdown = score_lead(lead, rules=rules)
        rows.append(lead)
    bulk_insert(Lead, rows)


def ensure_quotas(cast: Cast, now: dt.datetime) -> None:
    """Monthly quotas per rep and quarterly per team, 18 months back and 6 ahead."""
    first = (now - dt.timedelta(days=HISTORY_DAYS)).date().replace(day=1)
    months: list[dt.date] = []
    month = first
    while len(months) < 25:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    rows = []
    for person in PEOPLE:
        if person.role != Role.REP:
            continue
        base = 50_000 if person.deal_share >= 6 else 40_000
        for m in months:
            rows.append(
                Quota(
                    user=cast.users[person.username],
                    period=Quota.Period.MONTH,
                    period_start=m,
                    amount=Decimal(base),
                )
            )
    for team in cast.teams.values():
        for m in months:
            if m.month in (1, 4, 7, 10):
                rows.append(
                    Quota(
                        team=team,
                        period=Quota.Period.QUARTER,
                        period_start=m,
                        amount=Decimal(280_000),
                    )
                )
    # The unique constraints make a second run a no-op.
    Quota.objects.bulk_create(rows, ignore_conflicts=True)


# --- deals --------------------------------------------------------------------------------------


def demo_deals_queryset() -> models.QuerySet[Deal]:
    return Deal.objects.filter(owner__username__in=DEMO_USERNAMES)


def _demo_world(cast: Cast, now: dt.datetime) -> demo_deals.World:
    pipeline = Pipeline.objects.filter(is_default=True).first()
    if pipeline is None:
        raise ValueError("There is no default pipeline: run migrate first.")
    contacts: dict[int, list[int]] = defaultdict(list)
    demo_companies = Company.objects.filter(domain__endswith=f".{DEMO_EMAIL_DOMAIN}")
    for contact_id, company_id in Contact.objects.filter(company__in=demo_companies).values_list(
        "pk", "company_id"
    ):
        contacts[company_id].append(contact_id)
    companies = [
        (pk, name, contacts.get(pk, []))
        for pk, name in demo_companies.order_by("pk").values_list("pk", "name")
    ]
    converted_leads = Lead.objects.filter(
        email__endswith=f".leads.{DEMO_EMAIL_DOMAIN}", status=Lead.Status.QUALIFIED
    )
    owners = [(cast.users[p.username], p.deal_share) for p in PEOPLE if p.deal_share]
    return demo_deals.make_world(
        pipeline_id=pipeline.pk,
        stages=list(pipeline.stages.order_by("order")),
        owners=owners,
        companies=companies,
        lead_ids=list(converted_leads.values_list("pk", flat=True)),
        now=now,
    )


def top_up_deals(cast: Cast, target: int, now: dt.datetime, seed: int) -> int:
    """Create deals until the demo users own `target`; returns how many were created.

    Raises ValueError when the default pipeline is not the one the demo knows.
    """
    missing = target - demo_deals_queryset().count()
    if missing <= 0:
        return 0
    world = _demo_world(cast, now)
    if not world.companies:
        raise ValueError("No demo companies yet: ensure_companies runs first.")
    # A different stream for each top-up, so topped-up deals are not copies of the first ones.
    deal_loading.create_deals(world, missing, seed=seed * 1_000_003 + target - missing)
    return missing


# --- reset --------------------------------------------------------------------------------------


def _delete_deals(deals: models.QuerySet[Deal]) -> None:
    """Delete deals with their dependants table by table, each one DELETE statement.

    The ORM's collector would load every deal first; with 100,000 of them that takes minutes.
    """
    ids = deals.values("pk")
    for relation in Deal._meta.related_objects:
        if not (relation.one_to_many or relation.one_to_one):
            continue
        dependants = relation.related_model._base_manager.filter(
            **{f"{relation.field.name}__in": ids}
        )
        if relation.on_delete is models.CASCADE:
            dependants.delete()
        elif relation.on_delete is models.SET_NULL:
            dependants.update(**{relation.field.name: None})
    # Nothing refers to these deals any more: one DELETE, without loading them or sending
    # per-deal signals (live board updates) for demo data that is being thrown away.
    deals._raw_delete(deals.db)


@transaction.atomic
def remove_demo_data() -> None:
    """Everything the demo users own; the users and teams stay, so the logins keep working."""
    owners = User.objects.filter(username__in=DEMO_USERNAMES)
    _delete_deals(Deal.objects.filter(owner__in=owners))
    for model in (Activity, Lead, Contact, Company):
        model._default_manager.filter(owner__in=owners).delete()
    team_names = {p.team or p.manages for p in PEOPLE} - {""}
    Quota.objects.filter(user__in=owners).delete()
    Quota.objects.filter(team__name__in=team_names).delete()


# --- the whole seed -----------------------------------------------------------------------------


# A year of daily forecast snapshots, so forecast vs actual has something to show on first run;
# above this many deals (the benchmarks' big databases) none unless asked for.
SNAPSHOT_DAYS = 365
SNAPSHOT_MAX_DEALS = 20_000


def ensure_snapshots(days: int, today: dt.date) -> int:
    """The daily snapshots of the `days` days up to `today`, rebuilt from the demo deals'
    history (those missing only); returns how many rows were added."""
    wanted = [today - dt.timedelta(days=back) for back in range(days - 1, -1, -1)]
    return snapshot_from_history(days=wanted, deals=demo_deals_queryset())


@dataclass
class SeedResult:
    cast: Cast
    deals_total: int
    deals_created: int
    snapshots_created: int = 0


def seed(
    *, deals: int, reset: bool = False, random_seed: int = 2024, snapshot_days: int | None = None
) -> SeedResult:
    """Create what is missing of the demo, deals until the demo users own `deals`, and (default:
    a year, for up to `SNAPSHOT_MAX_DEALS` deals) the daily forecast snapshots of past days."""
    if reset:
        remove_demo_data()
    now = timezone.now()
    cast = ensure_people()
    # Seeded on purpose: the same demo data every time (nothing secret comes from it).
    rng = random.Random(random_seed)  # noqa: S311
    ensure_companies(rng, cast, count=min(max(deals // 25, 30), 4000), now=now)
    ensure_leads(rng, cast, count=min(max(deals // 10, 40), 10_000), now=now)
    ensure_quotas(cast, now)
    created = top_up_deals(cast, deals, now, seed=random_seed)
    if snapshot_days is None:
        snapshot_days = SNAPSHOT_DAYS if deals <= SNAPSHOT_MAX_DEALS else 0
    snapshots = ensure_snapshots(snapshot_days, timezone.localdate()) if snapshot_days else 0
    if created or snapshots:
        # Else the planner keeps the empty tables' row counts: at 1,000,000 deals a manager's
        # forecast dashboard took 1.7 s that way instead of 0.8 s.
        refresh_planner_statistics()
        # What the nightly job would have stored: the accuracy panel reads it from the start.
        store_forecast_backtests()
    return SeedResult(cast, demo_deals_queryset().count(), created, snapshots)
