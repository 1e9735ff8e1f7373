"""Every word of every deal title in `search_word`, and a prefix index on it (PostgreSQL only).

Migration 0002 keeps the words of three letters or more, letters only, for typo correction.
The deal query now also asks it which known words start with a typed word (`renew` →
renewal, renewals) and matches those words exactly instead of the prefix `renew:*`: GIN reads a
prefix term by collecting every row of every matching word into a bitmap before it can
intersect anything (35–55 ms for `northwind:* & silver:* & logistics:*` at 1,000,000 deals),
while exact terms are intersected by skipping through the index (4 ms). That is only right
when every word of every title is listed, so the deals' trigger now adds all of them (digits,
`acme.com`, two letters); the typo lookup keeps to the letters-only words, as before.
"""

from django.db import migrations

from search.word_list import ADD_DEAL_TITLE_WORDS, TITLE_WORDS  # shared with the bulk load's rebuild

LETTERS_ONLY = "^[[:alpha:]]{3,}$"  # migration 0002's rule


def _function(words: str) -> str:
    return (
        "CREATE OR REPLACE FUNCTION search_words_deals_deal() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"INSERT INTO search_word (word) {words} ON CONFLICT DO NOTHING; "
        "RETURN NULL; END $$"
    )


def every_word(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    run(_function(TITLE_WORDS.format(rows="new_rows")))
    run(ADD_DEAL_TITLE_WORDS)
    run(
        "CREATE INDEX IF NOT EXISTS search_word_prefix ON search_word "
        "(word text_pattern_ops)"
    )


def letters_only(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    words = (
        "SELECT DISTINCT word FROM (SELECT (unnest(to_tsvector('simple'::regconfig, title)))"
        f".lexeme AS word FROM new_rows) AS words WHERE word ~ '{LETTERS_ONLY}'"
    )
    run(_function(words))
    run(f"DELETE FROM search_word WHERE word !~ '{LETTERS_ONLY}'")
    run("DROP INDEX IF EXISTS search_word_prefix")


class Migration(migrations.Migration):
    dependencies = [("search", "0003_deal_owner_full_text_index")]
    operations = [migrations.RunPython(every_word, letters_only)]
