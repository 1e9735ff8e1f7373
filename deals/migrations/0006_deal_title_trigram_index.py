"""Trigram index for "contains" searches of deal titles (board filter, API `?q=`).

Django's `icontains` on PostgreSQL compares `UPPER(title::text) LIKE UPPER('%term%')`; a GIN
trigram index on that expression answers it without a scan. PostgreSQL only (pg_trgm).
"""

from django.db import migrations

INDEX = "deals_deal_title_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "deals_deal" '
        'USING gin ((UPPER("title"::text)) gin_trgm_ops)'
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):
    dependencies = [("deals", "0005_stall_notified")]
    operations = [migrations.RunPython(create_index, drop_index)]
