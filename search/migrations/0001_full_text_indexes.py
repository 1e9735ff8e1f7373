"""Full-text indexes for global search (search/selectors.py), PostgreSQL only.

One GIN index per searched table over `to_tsvector('simple', <the record's searchable text>)`:
the `simple` configuration keeps every word as written (lower-cased, no stemming, no stop
words), which suits names, titles and e-mail addresses. The expressions are the ones
`search.selectors.DOCUMENTS` filters on, character for character: PostgreSQL uses an expression
index only for the very same expression (a test compares them).

The typo-tolerant half of the search reuses the trigram indexes the list filters already have
(deals 0006, contacts 0003: `UPPER(column) gin_trgm_ops`), so no second trigram index is kept
on any column. SQLite (development) has neither: the search falls back to `icontains` there.
"""

from django.db import migrations

DOCUMENTS = {
    "deals_deal": "title",
    "contacts_contact": "first_name || ' ' || last_name || ' ' || email",
    "contacts_lead": "first_name || ' ' || last_name || ' ' || email || ' ' || company_name",
    "contacts_company": "name || ' ' || domain",
}


def _index_name(table: str) -> str:
    return f"search_{table}_fts"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, document in DOCUMENTS.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{_index_name(table)}" ON "{table}" '
            f"USING gin (to_tsvector('simple'::regconfig, {document}))"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in DOCUMENTS:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{_index_name(table)}"')


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0003_search_trigram_indexes"),
        ("deals", "0006_deal_title_trigram_index"),
    ]
    operations = [migrations.RunPython(create_indexes, drop_indexes)]
