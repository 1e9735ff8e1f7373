"""The watchlist's two partial indexes, in its order (largest amount first, no amount last), so
PostgreSQL reads the largest stalled, and open, deals until enough match instead of sorting every
one of them. PostgreSQL only: SQLite cannot index NULLS LAST (and sorts its few deals anyway)."""

from django.db import migrations

INDEXES = {
    "deal_stalled_amount_idx": "stalled AND NOT (status = 'lost')",
    "deal_open_amount_idx": "status = 'open'",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, condition in INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON deals_deal "
                f"(amount DESC NULLS LAST, id) WHERE {condition}"
            )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("deals", "0015_stage_change_stay_ends")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
