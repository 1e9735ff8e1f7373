"""The known words of deal titles (`search_word`, PostgreSQL only; see `search.selectors`).

A statement trigger on the deals adds the words of every title written (migrations search 0002
and 0004, which share `TITLE_WORDS` with this module). A bulk load that ran without the triggers
(`demo.bulk_load`) adds the words of every title once afterwards.

Those migrations import `TITLE_WORDS` from here: a change to it also changes what they run on a
database migrated afresh, so a new meaning needs a new migration.
"""

from __future__ import annotations

from django.db import connection

from pipeline_crm.db import is_postgresql

# Every word of the titles in `{rows}`, as the `simple` full-text configuration spells it.
TITLE_WORDS = """
    SELECT DISTINCT (unnest(to_tsvector('simple'::regconfig, title))).lexeme FROM {rows}
"""
# Every deal title's words that the list lacks.
ADD_DEAL_TITLE_WORDS = (
    "INSERT INTO search_word (word) "
    + TITLE_WORDS.format(rows='"deals_deal"')
    + " ON CONFLICT DO NOTHING"
)


def add_deal_title_words() -> None:
    """Add the words of every deal title that `search_word` lacks (words are never removed:
    a stale word only suggests a correction that then matches nothing)."""
    if not is_postgresql():
        return
    with connection.cursor() as cursor:
        cursor.execute(ADD_DEAL_TITLE_WORDS)
