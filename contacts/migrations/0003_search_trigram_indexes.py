"""Trigram indexes for the "contains" searches of the lead, contact and company lists.

Django's `icontains` on PostgreSQL compares `UPPER(column::text) LIKE UPPER('%term%')`, which no
b-tree index helps; a GIN trigram index on that same expression does. PostgreSQL only: on SQLite
(development) the search stays a scan, which is fine at development sizes.
"""

from django.db import migrations

SEARCHED = {
    "contacts_lead": ("first_name", "last_name", "company_name", "email"),
    "contacts_contact": ("first_name", "last_name", "email"),
    "contacts_company": ("name", "domain"),
}


def _index_name(table: str, column: str) -> str:
    return f"{table}_{column}_trgm"


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, columns in SEARCHED.items():
        for column in columns:
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{_index_name(table, column)}" ON "{table}" '
                f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
            )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, columns in SEARCHED.items():
        for column in columns:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{_index_name(table, column)}"')


class Migration(migrations.Migration):
    dependencies = [("contacts", "0002_list_order_indexes")]
    operations = [migrations.RunPython(create_trigram_indexes, drop_trigram_indexes)]
