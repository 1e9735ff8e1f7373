"""The words of every searched name and title, for typo tolerance (PostgreSQL only).

`search_word` holds each distinct word (letters only, three or more, lower-case, as the
`simple` full-text configuration spells it) of deal titles, contact and lead names, lead
company names and company names, with a GiST trigram index. A query word with a typo is looked
up there first (`ORDER BY word <-> 'nortwind' LIMIT 3`, a few milliseconds over tens of
thousands of words) and the full-text query then runs with the words found: the trigram scan
never touches the million-row tables themselves, where common trigrams make it slow.

Statement-level triggers with transition tables add the words of inserted and updated rows in
one INSERT … SELECT per statement (a bulk import pays once, not per row). Words of deleted or
renamed records stay: a stale word only ever suggests a correction that then matches nothing.
"""

from django.db import migrations

SOURCES = {
    "deals_deal": "title",
    "contacts_contact": "first_name || ' ' || last_name",
    "contacts_lead": "first_name || ' ' || last_name || ' ' || company_name",
    "contacts_company": "name",
}

WORDS_OF = """
    SELECT DISTINCT word FROM (
        SELECT (unnest(to_tsvector('simple'::regconfig, {document}))).lexeme AS word
        FROM {rows}
    ) AS words
    WHERE word ~ '^[[:alpha:]]{{3,}}$'
"""


def _trigger_names(table: str) -> tuple[str, str, str]:
    return f"search_words_{table}", f"search_words_{table}_ins", f"search_words_{table}_upd"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    run("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    run("CREATE TABLE IF NOT EXISTS search_word (word text PRIMARY KEY)")
    for table, document in SOURCES.items():
        function, on_insert, on_update = _trigger_names(table)
        words = WORDS_OF.format(document=document, rows="new_rows")
        run(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN INSERT INTO search_word (word) {words} ON CONFLICT DO NOTHING; "
            "RETURN NULL; END $$"
        )
        for name, event in ((on_insert, "INSERT"), (on_update, "UPDATE")):
            run(f'DROP TRIGGER IF EXISTS {name} ON "{table}"')
            run(
                f'CREATE TRIGGER {name} AFTER {event} ON "{table}" '
                "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
                f"EXECUTE FUNCTION {function}()"
            )
        run(
            "INSERT INTO search_word (word) "
            + WORDS_OF.format(document=document, rows=f'"{table}"')
            + " ON CONFLICT DO NOTHING"
        )
    run(
        "CREATE INDEX IF NOT EXISTS search_word_trgm ON search_word "
        "USING gist (word gist_trgm_ops)"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in SOURCES:
        function, on_insert, on_update = _trigger_names(table)
        for name in (on_insert, on_update):
            schema_editor.execute(f'DROP TRIGGER IF EXISTS {name} ON "{table}"')
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()")
    schema_editor.execute("DROP TABLE IF EXISTS search_word")


class Migration(migrations.Migration):
    dependencies = [("search", "0001_full_text_indexes")]
    operations = [migrations.RunPython(create, drop)]
