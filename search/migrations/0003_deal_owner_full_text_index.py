"""The deals' full-text index with the owner in front (PostgreSQL only; btree_gin).

A rep's search filters deals by owner as well as by words. With the title-only index of
migration 0001, PostgreSQL found every deal with a common word first and then read each of
them from the table to learn its owner: for a word in 66,000 deals, none of them the rep's,
that was 150–200 ms at 1,000,000 deals. With `(owner_id, to_tsvector('simple', title))` in one
GIN index it intersects the owner's entries and the word's inside the index and reads only
deals the rep may see (about 35 ms for that word). The admin's search, with no owner
condition, uses the same index on its second column alone, as fast as the title-only index,
which this migration therefore replaces (one GIN index to keep up on deal writes, not two).
"""

from django.db import migrations

INDEX = "search_deals_deal_owner_fts"
TITLE_ONLY = "search_deals_deal_fts"  # migration 0001's
DOCUMENT = "to_tsvector('simple'::regconfig, title)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "deals_deal" USING gin (owner_id, {DOCUMENT})'
    )
    schema_editor.execute(f'DROP INDEX IF EXISTS "{TITLE_ONLY}"')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{TITLE_ONLY}" ON "deals_deal" USING gin ({DOCUMENT})'
    )
    schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):
    dependencies = [("search", "0002_word_list")]
    operations = [migrations.RunPython(create, drop)]
