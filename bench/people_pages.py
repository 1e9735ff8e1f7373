"""Leads, contacts and companies pages as their tables grow.

    .venv/bin/python bench/people_pages.py [--sizes 1000,100000] [--repeat 15]

Works in a database of its own (`crm_people_bench` unless BENCH_DATABASE_URL says otherwise;
created and migrated here, never the one behind DATABASE_URL). For each size it tops up leads,
contacts and companies to that many rows each with bulk inserts (owned by two teams' reps), then
prints (labelled with the rows the tables really hold, so use a fresh bench database to see
the small size) for a rep and for the admin the median server time and query count of the list pages
(first page, a search, a filter/sort, a deep page) and of a lead and a company page. Requests
go through the Django test client, as a signed-in browser would call them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from _common import fail_unless, people, use_bench_database
from _common import setup as _setup

BENCH_URL = use_bench_database("crm_people_bench")
os.environ.setdefault("DEBUG", "true")

SOURCES = ["cold_call", "email_campaign", "social", "referral", "web_form", "event", "other"]
STATUSES = ["new", "working", "qualified", "disqualified"]


def setup() -> None:
    _setup(BENCH_URL)


def _bulk(model, make, have: int, size: int) -> None:
    batch = []
    for i in range(have, size):
        batch.append(make(i))
        if len(batch) == 5000:
            model.objects.bulk_create(batch)
            batch = []
    model.objects.bulk_create(batch)


def top_up(size: int, reps) -> None:
    from django.db import connection

    from contacts.models import Company, Contact, Lead
    from contacts.scoring import current_rules
    from contacts.services import score_lead

    def company(i: int) -> Company:
        return Company(name=f"Bench Co {i}", domain=f"bench{i}.example", owner=reps[i % len(reps)])

    _bulk(Company, company, Company.objects.count(), size)
    company_ids = list(Company.objects.order_by("id").values_list("id", flat=True)[:size])

    def contact(i: int) -> Contact:
        return Contact(
            first_name=f"Person{i}",
            last_name=f"Bench{i % 997}",
            email=f"person{i}@bench{i % len(company_ids)}.example",
            company_id=company_ids[i % len(company_ids)],
            owner=reps[i % len(reps)],
        )

    _bulk(Contact, contact, Contact.objects.count(), size)

    rules = current_rules()

    def lead(i: int) -> Lead:
        made = Lead(
            first_name=f"Lead{i}",
            last_name=f"Bench{i % 991}",
            email=f"lead{i}@prospect{i % 5000}.example",
            company_name=f"Prospect {i % 5000}",
            source=SOURCES[i % len(SOURCES)],
            status=STATUSES[i % len(STATUSES)],
            need="Wants a CRM" if i % 3 else "",
            authority=bool(i % 2),
            owner=reps[i % len(reps)],
        )
        made.score, made.score_breakdown = score_lead(made, rules=rules)
        return made

    _bulk(Lead, lead, Lead.objects.count(), size)
    with connection.cursor() as cursor:
        for table in ("contacts_company", "contacts_contact", "contacts_lead"):
            cursor.execute(f"ANALYZE {table}")  # fresh statistics, as autovacuum would soon give


def measure(client, url: str, repeat: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - start)
        fail_unless(response.status_code == 200, url, response.status_code)
        queries = len(captured)
    return statistics.median(times) * 1000, queries


def bench(reps, admin, repeat: int) -> None:
    from django.test import Client

    from contacts.models import Company, Lead

    # Label rows with what the tables hold: a database kept from a bigger run has more rows.
    size = Lead.objects.count()
    lead = Lead.objects.filter(owner=reps[0]).order_by("id").first()
    company = Company.objects.filter(owner=reps[0]).order_by("id").first()
    pages = [
        ("/leads/", "/leads/"),
        ("/leads/?q=lead12 bench", "/leads/?q=lead12%20bench"),
        ("/leads/?status=new&sort=-score", "/leads/?status=new&source=referral&sort=-score"),
        ("/leads/?page=20", "/leads/?page=20"),
        ("/contacts/", "/contacts/"),
        ("/contacts/?q=bench co 7", "/contacts/?q=bench%20co%207"),
        ("/companies/", "/companies/"),
        ("/companies/?q=bench7", "/companies/?q=bench7"),
        ("/leads/<id>/", f"/leads/{lead.pk}/"),
        ("/companies/<id>/", f"/companies/{company.pk}/"),
    ]
    for label, user in (("rep", reps[0]), ("admin", admin)):
        client = Client()
        client.force_login(user)
        for name, url in pages:
            ms, queries = measure(client, url, repeat)
            print(f"{size:>8,} leads  {label:<5}  {name:<34} {ms:8.1f} ms  {queries:>2} queries")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    setup()
    reps, admin = people()
    for size in sorted(int(s) for s in args.sizes.split(",")):
        top_up(size, reps)
        bench(reps, admin, args.repeat)


if __name__ == "__main__":
    main()
