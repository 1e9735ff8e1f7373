"""Leave room in each page of the deal table for updated row versions.

Moves, edits and the stall sweep rewrite deal rows all day. With free space on the page and no
indexed column changed (the stall flags, next step, timestamps are not indexed), PostgreSQL
updates in place (a HOT update) instead of adding an entry to each of the table's indexes.
PostgreSQL only; applies to pages written from now on.
"""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE deals_deal SET (fillfactor = 80)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE deals_deal RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("deals", "0006_deal_title_trigram_index")]
    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
