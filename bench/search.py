"""Global search speed at 1,000,000 deals on PostgreSQL.

    .venv/bin/python bench/search.py [--deals 1000000] [--repeat 25] [--explain]

Works in a database of its own (`crm_search_bench` unless BENCH_DATABASE_URL says otherwise,
e.g. the forecast bench's `crm_forecast_bench`; created and migrated here, never the one behind
DATABASE_URL). It tops the database up, in plain SQL (a minute or two), to:
- 60,000 companies ("Northwind Silver Logistics", domain northwind-silver-logistics.example),
- 300,000 contacts and 200,000 leads (150 first names × 150 last names, numbered e-mails),
- --deals deals titled "<company> – <product>" (30 products, so a product word is in about
  one deal in 30), each with a company and a contact, owned by the bench's four reps (two
  teams) and admin; plus five deals with a rare word in their title. All deals of a product
  have the same owner, so a rep has none of some products ("rollout"): the slow case, a
  common word whose every match is out of the caller's sight.
and runs VACUUM (ANALYZE) after loading.

Prints, for the admin (every deal) and for a rep (their team's half), the median and 95th
percentile of --repeat warm runs of `search.selectors.search(limit=20)` and of the whole API
request (`GET /api/search/?q=`, Django test client) for a set of realistic queries: a title
word, a company name, a contact name, an e-mail, a one-letter typo, a rare and a common term.
With --explain, also prints EXPLAIN ANALYZE of each query the search runs for two of them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import ROOT, ensure_database, fail_unless, people, use_bench_database

HERE = Path(__file__).resolve().parent

# This file is called search.py like the app it measures: take its own folder off the import
# path so that `search` is the app.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() not in (HERE, ROOT)]

BENCH_URL = use_bench_database("crm_search_bench")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")

ensure_database(BENCH_URL)

import django  # noqa: E402

import search as _the_app  # noqa: E402, F401  (the app, found first: not this file)

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import User  # noqa: E402
from search import selectors  # noqa: E402

COMPANIES, CONTACTS, LEADS = 60_000, 300_000, 200_000
RARE_WORD = "Quetzalcoatl"


def _words(text: str, sep: str | None = None) -> list[str]:
    return text.split(sep)


WORD_A = _words(
    "Northwind Bluepeak Cedar Harbor Ironleaf Juniper Keystone Lumen Meridian Nimbus Oakridge "
    "Pioneer Quarry Redwood Summit Tidewater Umbra Vertex Willow Zenith Atlas Beacon Copper "
    "Delta Ember Falcon Granite Horizon Indigo Jasper Kestrel Lantern Maple Nova Orbit Prism "
    "Aurora Basalt Cobalt Driftwood Evergreen Fjord Glacier Heron Ivory Jade Krypton Lotus "
    "Magnolia Nordic Obsidian Pinnacle Quartz Raven Sapphire Thistle Ultra Valley Westwind Yarrow"
)
WORD_B = _words(
    "Silver Golden Blue Red Green Global United First Bright Swift Prime Grand Royal Smart "
    "Open Clear Bold True Pure Rapid North South East West Central Pacific Atlantic Alpine "
    "Urban Rural Digital Modern Classic Future Metro Coastal Mountain River Lake Forest"
)
KINDS = _words(
    "Logistics Foods Health Energy Robotics Media Retail Labs Capital Systems Pharma Motors "
    "Textiles Analytics Security Travel Builders Software Farms Insurance Consulting Telecom "
    "Foundry Outfitters Ventures"
)
FIRST = _words(
    "Anna Ben Carla David Elena Farid Grace Hugo Ines Jonas Kara Liam Mona Nils Olga Pablo "
    "Quinn Rosa Stefan Tara Umar Vera Will Xenia Yusuf Zoe Aiko Bruno Chloe Dmitri Emma Felix "
    "Greta Hamid Iris Jakob Kofi Lena Marco Nadia Oscar Priya Rafael Sofia Tomas Ulla Viktor "
    "Wanda Yara Zeno Amara Boris Celine Dario Eva Filip Gina Henrik Ida Joel Katja Luca Maya "
    "Noah Ola Petra Rhea Simon Thea Uma Valentin Wen Yasmin Zara Adam Bianca Conor Diana Emil "
    "Fatima Gabriel Hana Igor Julia Kenji Laura Mateo Nina Omar Paula Rami Sara Theo Ursula "
    "Victor Wilma Xavier Yann Zoran Alba Bodhi Cyrus Daria Elias Fiona Gustav Helena Ivo Jana "
    "Karim Lucia Milan Nora Otto Pia Ruben Selma Timo Una Vivian Walter Ximena Yoshi Zuzana "
    "Arne Beatriz Cosmin Dagny Enzo Freya Goran Hilde Ilya Jorge Kaia Leif Mirela Nuno Orla"
)
LAST = _words(
    "Adler Berg Costa Dubois Evans Fischer Garcia Hansen Ito Jensen Kowalski Larsen Moreau "
    "Nakamura Olsen Petrov Quint Rossi Schmidt Tanaka Ueda Vogel Weber Xu Young Zimmermann "
    "Andersen Bauer Castillo Dimitrov Eriksen Ferreira Gruber Horvat Ibrahim Jovanovic Keller "
    "Lindqvist Marino Novak Oliveira Popescu Quiroga Richter Santos Takahashi Urbanek Varga "
    "Wagner Yamamoto Zielinski Almeida Brandt Conti Dvorak Esposito Falk Gomez Huber Ivanova "
    "Janssen Koch Lehmann Mendes Nilsson Ortega Pavlov Ricci Sorensen Torres Ulrich Vasquez "
    "Wolf Yilmaz Ziegler Arnold Blanco Carvalho Dahl Engel Fontaine Greco Hoffmann Iversen "
    "Jansen Kraus Lopez Meyer Nowak Ott Peters Ramos Schulz Thomsen Unger Vidal Walsh Zeller "
    "Aalto Becker Cruz Delgado Eklund Fuchs Gallo Haas Ikeda Juarez Klein Lund Molina Neumann "
    "Orlov Perez Reyes Steiner Tamm Umbra Vogt Werner Yates Zapata Abbott Bishop Clarke Doyle"
)
PRODUCTS = _words(
    "Renewal|Expansion|Pilot|Onboarding|Annual licence|Support plan|Upgrade|Fleet rollout|"
    "Analytics add-on|Training|Consulting hours|Data migration|Security audit|API access|"
    "Enterprise tier|Starter plan|Hardware refresh|Integration|Managed service|Cloud hosting|"
    "Premium support|Seats top-up|Multi-year deal|Proof of concept|Field service|Maintenance|"
    "Partner bundle|Regional rollout|Custom module|Warranty extension",
    sep="|",
)


def log(message: str) -> None:
    print(message, flush=True)


# The bench's SQL pastes in only its own word lists and numbers; values go as parameters.
def sql(statement: str, params: Any = None) -> None:
    """Run `statement`; its modulo operators are written " % " (doubled here for the driver)."""
    with connection.cursor() as cursor:
        cursor.execute(statement.replace(" % ", " %% ") if params else statement, params)


def count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 (a table name of ours)
        return int(cursor.fetchone()[0])


def pick(words: list[str], index_sql: str) -> str:
    """SQL: the element of `words` at `index_sql` (0-based, taken modulo its length)."""
    literal = "ARRAY[" + ",".join("'" + w.replace("'", "''") + "'" for w in words) + "]"
    return f"({literal})[1 + (({index_sql})::bigint % {len(words)})]"


# --- seeding -------------------------------------------------------------------------------------


def owners_sql(owner_ids: list[int]) -> str:
    return "ARRAY[" + ",".join(str(int(pk)) for pk in owner_ids) + "]::bigint[]"


def seed_companies(owner_ids: list[int]) -> None:
    have = count("contacts_company")
    if have >= COMPANIES:
        return
    a, b = len(WORD_A), len(WORD_B)
    words = (pick(WORD_A, "i"), pick(WORD_B, f"i / {a}"), pick(KINDS, f"i / {a * b}"))
    name = " || ' ' || ".join(words)
    sql(
        f"""INSERT INTO contacts_company (name, domain, industry, size, owner_id, created_at)
        SELECT name, lower(replace(name, ' ', '-')) || '.example', '', '',
               ({owners_sql(owner_ids)})[1 + i % {len(owner_ids)}], now()
        FROM (SELECT i, {name} AS name FROM generate_series(%s::bigint, %s::bigint) AS i) AS s
        ON CONFLICT DO NOTHING""",  # noqa: S608
        [have, COMPANIES - 1],
    )
    log(f"  companies: {count('contacts_company'):,}")


def seed_contacts(owner_ids: list[int]) -> None:
    have = count("contacts_contact")
    if have >= CONTACTS:
        return
    first = pick(FIRST, "i")
    last = pick(LAST, f"i * 31 + i / {len(FIRST)}")
    sql(
        f"""WITH companies AS (SELECT id, domain, owner_id,
                                  row_number() OVER (ORDER BY id) - 1 AS n FROM contacts_company)
        INSERT INTO contacts_contact
            (first_name, last_name, email, phone, title, company_id, owner_id, created_at)
        SELECT s.first, s.last, lower(s.first || '.' || s.last || '.' || s.i || '@' || co.domain),
               '', '', co.id, co.owner_id, now()
        FROM (SELECT i, {first} AS first, {last} AS last,
                     (i * 7919) % (SELECT count(*) FROM contacts_company) AS company_n
              FROM generate_series(%s::bigint, %s::bigint) AS i) AS s
        JOIN companies co ON co.n = s.company_n
        ON CONFLICT DO NOTHING""",  # noqa: S608
        [have, CONTACTS - 1],
    )
    log(f"  contacts: {count('contacts_contact'):,}")


def seed_leads(owner_ids: list[int]) -> None:
    have = count("contacts_lead")
    if have >= LEADS:
        return
    first = pick(FIRST, "i * 7")
    last = pick(LAST, f"i * 17 + i / {len(FIRST)}")
    company = (
        f"{pick(WORD_B, 'i * 3')} || ' ' || {pick(WORD_A, 'i * 11')} || ' ' || {pick(KINDS, 'i')}"
    )
    sql(
        f"""INSERT INTO contacts_lead
            (first_name, last_name, email, phone, company_name, source, status, need, authority,
             owner_id, score, score_breakdown, disqualified_reason, created_at, updated_at)
        SELECT first, last, lower(first || '.' || last || '.' || i || '@' ||
               replace(company, ' ', '') || '.example'), '', company, 'other', 'new', '', false,
               ({owners_sql(owner_ids)})[1 + (i * 13) % {len(owner_ids)}], 0, '{{}}', '', now(),
               now()
        FROM (SELECT i, {first} AS first, {last} AS last, {company} AS company
              FROM generate_series(%s::bigint, %s::bigint) AS i) AS s""",  # noqa: S608
        [have, LEADS - 1],
    )
    log(f"  leads: {count('contacts_lead'):,}")


def _gin_indexes(table: str) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
            "AND indexdef LIKE '%%USING gin%%'",
            [table],
        )
        return list(cursor.fetchall())


def seed_deals(owner_ids: list[int], target: int) -> None:
    have = count("deals_deal")
    if have >= target:
        return
    from django.conf import settings

    # Built in one go after the load: far faster than keeping GIN indexes up row by row.
    gin = _gin_indexes("deals_deal")
    for name, _ in gin:
        sql(f'DROP INDEX "{name}"')
    step = 200_000
    for start in range(have, target, step):
        end = min(start + step, target) - 1
        sql(
            f"""WITH companies AS (SELECT id, name, row_number() OVER (ORDER BY id) - 1 AS n
                                   FROM contacts_company),
                 contacts AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n
                              FROM contacts_contact),
                 stages AS (SELECT array_agg(s.id ORDER BY s."order") AS ids,
                                   count(*) FILTER (WHERE s.kind = 'open') AS open
                            FROM deals_stage s
                            JOIN deals_pipeline p ON p.id = s.pipeline_id AND p.is_default)
            INSERT INTO deals_deal
                (title, status, amount, currency, expected_close_date, position, version,
                 stage_entered_at, won_at, lost_at, lost_reason_detail, next_step, stalled,
                 stall_reasons, close_date_pushes, created_at, updated_at, company_id,
                 contact_id, owner_id, pipeline_id, stage_id, stall_notified)
            SELECT co.name || ' – ' || {pick(PRODUCTS, "s.i")},
                   s.status, 1000 + (s.i * 37) % 90000, %s, current_date + (s.i % 365)::int,
                   s.i * 1024, 1, now(),
                   CASE WHEN s.status = 'won' THEN now() END,
                   CASE WHEN s.status = 'lost' THEN now() END,
                   '', '', false, '[]', 0, now(), now(), co.id, ct.id,
                   ({owners_sql(owner_ids)})[1 + (s.i * 7) % {len(owner_ids)}],
                   st.pipeline_id, st.id, 0
            FROM (SELECT i,
                         (i * 7919 + i / 13) % (SELECT count(*) FROM contacts_company)
                             AS company_n,
                         (i * 104729) % (SELECT count(*) FROM contacts_contact) AS contact_n,
                         stages.ids[1 + i % cardinality(stages.ids)] AS stage_id,
                         CASE WHEN 1 + i % cardinality(stages.ids) > stages.open THEN 'won'
                              WHEN i % 6 = 0 THEN 'lost' ELSE 'open' END AS status
                  FROM generate_series(%s::bigint, %s::bigint) AS i, stages) AS s
            JOIN companies co ON co.n = s.company_n
            JOIN contacts ct ON ct.n = s.contact_n
            JOIN deals_stage st ON st.id = s.stage_id""",  # noqa: S608
            [settings.DEFAULT_CURRENCY, start, end],
        )
        log(f"  deals: {end + 1:,}")
    sql(
        "UPDATE deals_deal SET title = %s || ' pilot – ' || title WHERE id IN "
        "(SELECT id FROM deals_deal ORDER BY id LIMIT 5)",
        [RARE_WORD],
    )
    for name, definition in gin:
        log(f"  index {name}…")
        sql(definition)


def seed(target: int) -> tuple[list[User], User]:
    reps, admin = people()
    owner_ids = [rep.pk for rep in reps] + [admin.pk]
    started = time.perf_counter()
    seed_companies(owner_ids)
    seed_contacts(owner_ids)
    seed_leads(owner_ids)
    seed_deals(owner_ids, target)
    if time.perf_counter() - started > 5:
        log("  VACUUM (ANALYZE)…")
        sql("VACUUM (ANALYZE)")
    log(f"Data ready in {time.perf_counter() - started:.0f} s: {count('deals_deal'):,} deals.")
    return reps, admin


# --- measuring -----------------------------------------------------------------------------------


def queries() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT email FROM contacts_contact ORDER BY id LIMIT 1 OFFSET 1234")
        email = cursor.fetchone()[0]
    return [
        ("title word", "rollout"),
        ("company name", "Northwind Silver Logistics"),
        ("contact name", "Ines Moreau"),
        ("e-mail", email),
        ("e-mail start", email.split("@")[0] + "@"),
        ("typo", "Nortwind"),
        ("typo, 2 words", "Bluepeak Silvr"),
        ("rare term", RARE_WORD.lower()),
        ("common term", "renewal"),
        ("common, 2 chars", "an"),
    ]


def timed(function: Callable[[], Any], repeat: int) -> tuple[float, float]:
    function()  # warm
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        runs.append((time.perf_counter() - started) * 1000)
    runs.sort()
    p95 = runs[min(len(runs) - 1, round(0.95 * (len(runs) - 1)))]
    return statistics.median(runs), p95


def measure(user: User, label: str, repeat: int) -> None:
    client = Client()
    client.force_login(user)
    log(f"\nAs {label} ({user.username}), {repeat} warm runs, ms:")
    log(f"  {'query':<16} {'q':<42} {'hits':>4} {'SQL':>3}  search() med/p95   API med/p95")
    for name, q in queries():
        reset_queries()  # a full query log (DEBUG keeps 9,000) would make the count read 0
        with CaptureQueriesContext(connection) as captured:
            hits = selectors.search(user=user, q=q, limit=20)
        response = client.get("/api/search/", {"q": q})
        fail_unless(response.status_code == 200, q, response.status_code)
        direct = timed(lambda q=q: selectors.search(user=user, q=q, limit=20), repeat)
        api = timed(lambda q=q: client.get("/api/search/", {"q": q}), repeat)
        log(
            f"  {name:<16} {q[:42]:<42} {len(hits):>4} {len(captured):>3}  "
            f"{direct[0]:6.1f} / {direct[1]:6.1f}   {api[0]:6.1f} / {api[1]:6.1f}"
        )


def explain(user: User, q: str) -> None:
    """EXPLAIN ANALYZE of the search's queries, replayed in order in one transaction (so with
    the planner settings the search itself makes)."""
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        selectors.search(user=user, q=q, limit=20)
    log(f"\nEXPLAIN ANALYZE of every query `{q}` runs ({user.username}):")
    with transaction.atomic(), connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql_text = query["sql"]
            if "set_config" in sql_text:
                cursor.execute(sql_text)
            if not sql_text.lstrip().upper().startswith("SELECT") or "set_config" in sql_text:
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql_text}")
            plan = [row[0] for row in cursor.fetchall()]
            log("  " + sql_text[:160].replace("\n", " ") + " …")
            for line in plan:
                log("      " + line)


def cpu_check() -> int:
    """bench/board.py's measure of how busy the machine is: about 19 ms when it is idle."""
    return sum(range(1_000_000))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--seed-only", action="store_true")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    reps, admin = seed(args.deals)
    if args.seed_only:
        return
    log(f"CPU check: 1M-iteration Python loop {timed(cpu_check, 5)[0]:.0f} ms (idle: ~19 ms)")
    log(
        f"{count('deals_deal'):,} deals, {count('contacts_contact'):,} contacts, "
        f"{count('contacts_company'):,} companies, {count('contacts_lead'):,} leads."
    )
    measure(admin, "the admin (every record)", args.repeat)
    measure(reps[0], "a rep (their team's half of the deals and leads)", args.repeat)
    if args.explain:
        for q in ("renewal", "Nortwind"):
            explain(reps[0], q)


if __name__ == "__main__":
    main()
