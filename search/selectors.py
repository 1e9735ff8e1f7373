"""Global search (SPEC §9): the deals, leads, contacts and companies a few words find, ranked,
tolerant of a typo, within the caller's sight.

One entry point, `search(user=…, q=…)`, and one function per record type. Each type asks the
database for at most `CANDIDATES` rows, however many rows match:

1. the strong matches: every word of the query starts a word of the record (PostgreSQL
   full-text search, `simple` configuration, prefix terms, on the GIN indexes of migrations
   search 0001/0003), or the query is part of an e-mail address / domain (the trigram indexes
   contacts 0003 keep for `icontains`; with one `@`, the b-tree indexes of search 0005 on the
   address's two halves find the few rows for it to recheck);
2. only when (1) found fewer than `CANDIDATES`: the same full-text query with each word of four
   letters or more that is no known word also allowed to be one of the three known words
   closest to it.

The known words are `search_word` (migrations search 0002/0004: every word of every searched
name and title, kept by triggers). One query per search reads there, through a GiST trigram
index, the words closest to a typed one (`ORDER BY word <-> 'nortwind'`: the trigram work is
done on a list of words, never on the million-row tables) and, through a b-tree, the words
each typed word starts. Every word of every deal title is known, so the deal query matches
those words exactly (`'silver' | 'silverline'`) instead of the prefix `'silver':*`: GIN
intersects exact terms by skipping through them, while a prefix term first collects every
row of every word it covers.

Neither query sorts: GIN indexes find the rows, `LIMIT` stops the scan, and Python ranks the
few candidates (exact > whole-field prefix > word prefix > fuzzy). The planner is held to index
bitmaps so that it cannot trade them for a walk of the table (`_index_bitmaps_only`). A bitmap
still holds every matching row, which for a word in 30,000+ of 1,000,000 deals is most of the
cost: when the planner expects that many, the deals are first looked for among the newest
`RECENT_DEALS`, walked by primary key (`_newest_matches`), and the bitmap query only fills up.
A rep's deals are found through one GIN index on (owner, title words): a common word whose
deals are all out of the rep's sight is not read from the table to learn that.

A deal is also found through its company and its contact: the companies and contacts found
first lend their ids to the deal query (`company_id IN …`, `contact_id IN …`, b-tree indexes).

SQLite (development) has neither index kind: every word must be contained (`icontains`) in one
of the record's fields, and there is no typo tolerance.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache, reduce
from operator import and_, or_
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import BooleanField, Model, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.urls import reverse

from accounts.models import User
from accounts.visibility import is_admin, readable_owner_ids
from contacts.models import Company, Contact, Lead
from deals.models import Deal
from pipeline_crm.db import is_postgresql

if TYPE_CHECKING:
    from accounts.visibility import Caller

TYPES = ("deal", "contact", "company", "lead")
MIN_LENGTH = 2  # a shorter query finds nothing
MAX_LENGTH = 100  # a longer one is cut here
MAX_WORDS = 6
CANDIDATES = 40  # rows each query of a type fetches at most
RECENT_DEALS = 2000  # deals the walk over the newest looks at before the GIN bitmap query
COMMON = 20_000  # expected matching deals from which that walk is tried (40 in 2,000 of 1M)
MAX_STARTING = 16  # known words a typed one may stand for, exactly, in the deal query
FUZZY_MIN_WORD = 4  # shorter words are never corrected
ALTERNATIVES = 3  # known words tried in place of a word that may hold a typo
MIN_SIMILARITY = 0.25  # trigram similarity of such a word to the typed one ("acne" ~ "acme")

# The searched columns of each table. The trigram indexes (contacts 0003, deals 0006) cover each
# column as UPPER(column); the full-text index (search 0001) covers them joined by spaces.
FIELDS: dict[type[Model], tuple[str, ...]] = {
    Deal: ("title",),
    Contact: ("first_name", "last_name", "email"),
    Lead: ("first_name", "last_name", "email", "company_name"),
    Company: ("name", "domain"),
}
ADDRESS_FIELD: dict[type[Model], str] = {Contact: "email", Lead: "email", Company: "domain"}


Known = dict[str, list[str]]  # {typed word: known words}
_WORD = re.compile(r"[^\W_]+")  # a word as `parse` cuts them: letters and digits


@dataclass(frozen=True)
class Hit:
    type: str
    id: int
    title: str
    subtitle: str
    url: str
    score: float

    def sort_key(self) -> tuple[float, int, int, int]:
        return (-self.score, TYPES.index(self.type), len(self.title), -self.id)


@dataclass(frozen=True)
class Terms:
    """A query, cleaned: `text` as typed (trimmed), `words` its lower-case words."""

    text: str
    words: tuple[str, ...]

    @property
    def looks_like_address(self) -> bool:
        return "@" in self.text or ("." in self.text and " " not in self.text)

    @property
    def fuzzy_words(self) -> tuple[str, ...]:
        if self.looks_like_address:
            return ()
        return tuple(w for w in self.words if len(w) >= FUZZY_MIN_WORD and w.isalpha())

    def tsquery(self, alternatives: Known | None = None, starting: Known | None = None) -> str:
        """Every word as a prefix term, or'ed with its alternatives when given:
        `('nortwind':* | 'northwind') & 'sil':*`; a word with `starting` words is those words
        instead of the prefix: `('silver' | 'silverline')` (all of them hold letters and digits
        only, nothing the tsquery syntax reads)."""
        terms = []
        for word in self.words:
            exact = (starting or {}).get(word, [])
            options = [f"'{known}'" for known in exact] or [f"'{word}':*"]
            options += [
                f"'{alt}'" for alt in (alternatives or {}).get(word, []) if alt not in exact
            ]
            terms.append(options[0] if len(options) == 1 else f"({' | '.join(options)})")
        return " & ".join(terms)


@dataclass(frozen=True)
class Scope:
    """One search: who asks, what, and known words close to the query's (the fuzzy half)."""

    user: Caller
    terms: Terms
    alternatives: Known
    starting: Known  # the known words each typed word starts (deal titles only)

    def rows(self, model: type[Model]) -> QuerySet[Any]:
        rows: QuerySet[Any] = model.objects.visible_to(self.user)  # type: ignore[attr-defined]
        return rows.order_by()  # no sort: the indexes find the rows, LIMIT stops the scan


def parse(q: str | None) -> Terms | None:
    """The query cleaned of control characters (NUL included) and cut to MAX_LENGTH; None when
    fewer than MIN_LENGTH characters remain."""
    text = "".join(ch for ch in (q or "") if not unicodedata.category(ch).startswith("C"))
    text = " ".join(text.split())[:MAX_LENGTH].strip()
    if len(text) < MIN_LENGTH:
        return None
    words = tuple(dict.fromkeys(re.findall(r"[^\W_]+", text.casefold())))[:MAX_WORDS]
    return Terms(text=text, words=words)


def search(
    *, user: Caller, q: str | None, limit: int = 20, types: Iterable[str] | None = None
) -> list[Hit]:
    """What `q` finds among the records `user` may see: at most `limit` hits, best first, a
    few of every type that has any before the rest by score."""
    terms = parse(q)
    if terms is None or not (user and user.is_authenticated):
        return []
    wanted = set(types or TYPES)
    scope = Scope(user, terms, *known_words(terms))
    with _index_bitmaps_only():
        companies = find_companies(scope)
        contacts = find_contacts(scope)
        groups = {"company": companies, "contact": contacts}
        if "lead" in wanted:
            groups["lead"] = find_leads(scope)
        if "deal" in wanted:
            linked_companies = [hit.id for hit in companies]
            linked_contacts = [hit.id for hit in contacts]
            groups["deal"] = find_deals(scope, linked_companies, linked_contacts)
    return mix({kind: hits for kind, hits in groups.items() if kind in wanted}, limit)


@contextmanager
def _index_bitmaps_only() -> Iterator[None]:
    """The candidate queries in one transaction that lets PostgreSQL's planner read the big
    tables only through index bitmaps (the search's GIN indexes, the foreign keys).

    Otherwise `LIMIT 40` invites it to walk the table, or the owner index, filtering every row
    by the full-text condition until 40 pass: cheap on paper when it expects thousands of
    matches spread evenly, a walk over hundreds of thousands of rows when the matches are
    rarer than it thinks or out of the caller's sight (measured at 1,000,000 deals: 1.7 s and
    6.5 s against 20 ms). `SET LOCAL` ends with the transaction.
    """
    with transaction.atomic():
        _planner(seqscan=False, indexscan=False)
        yield


def _planner(**enable: bool) -> None:
    """`SET LOCAL enable_<name> = on|off` for each of `enable` (PostgreSQL; until the end of
    the transaction or the next call), in one round trip."""
    if not is_postgresql():
        return
    pairs = [(f"enable_{name}", "on" if on else "off") for name, on in enable.items()]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in pairs),
            [value for pair in pairs for value in pair],
        )


def known_words_near(terms: Terms) -> Known:
    """{typed word: up to ALTERNATIVES known words closest to it}, for the typed words that
    are not known words themselves. A query of known words only has no fuzzy half: it finds
    what it says."""
    return known_words(terms)[0]


def known_words(terms: Terms) -> tuple[Known, Known]:
    """The known words (`search_word`, PostgreSQL; one query) closest to each typed word that
    may hold a typo (see `known_words_near`; letters only, migration 0002's words), and those
    each typed word starts, when there are at most MAX_STARTING and all are letters and digits
    (migration 0004: every word of every deal title is known, so they are all it can start)."""
    if not is_postgresql() or terms.looks_like_address:
        return {}, {}
    fuzzy, typed = list(terms.fuzzy_words), list(terms.words)
    params: list[Any] = [fuzzy, ALTERNATIVES, MIN_SIMILARITY, typed, MAX_STARTING + 1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'near', typed, near.word FROM unnest(%s::text[]) AS typed CROSS JOIN LATERAL"
            " (SELECT word FROM search_word WHERE word <> typed AND word ~ '^[[:alpha:]]{3,}$'"
            " ORDER BY word <-> typed LIMIT %s) AS near WHERE similarity(near.word, typed) >= %s"
            " AND NOT EXISTS (SELECT FROM search_word known WHERE known.word = typed)"
            " UNION ALL SELECT 'start', typed, start.word FROM unnest(%s::text[]) AS typed"
            " CROSS JOIN LATERAL (SELECT word FROM search_word WHERE word ~>=~ typed"
            " AND word ~<~ (typed || chr(1114111)) LIMIT %s) AS start",
            params,
        )
        rows = cursor.fetchall()
    found: dict[str, Known] = {"near": {}, "start": {}}
    for kind, word_typed, word in rows:
        found[kind].setdefault(word_typed, []).append(word)
    starting = {
        typed: words
        for typed, words in found["start"].items()
        if len(words) <= MAX_STARTING and all(_WORD.fullmatch(word) for word in words)
    }
    return found["near"], starting


def mix(groups: dict[str, list[Hit]], limit: int) -> list[Hit]:
    """The best `limit` hits: first each type's best few (so that fifty deals named like a
    company cannot hide the company), then the rest by score."""
    ranked = [sorted(hits, key=Hit.sort_key) for hits in groups.values() if hits]
    if not ranked:
        return []
    share = max(1, limit // len(ranked) // 2)
    picked = [hit for hits in ranked for hit in hits[:share]]
    rest = sorted((hit for hits in ranked for hit in hits[share:]), key=Hit.sort_key)
    return sorted(picked + rest[: max(0, limit - len(picked))], key=Hit.sort_key)[:limit]


# --- one function per record type ---------------------------------------------------------------


def find_deals(scope: Scope, company_ids: Sequence[int], contact_ids: Sequence[int]) -> list[Hit]:
    """Deals whose title matches, or whose company or contact was found."""
    terms = scope.terms
    linked = Q(company_id__in=list(company_ids)) | Q(contact_id__in=list(contact_ids))
    rows = _candidates(
        scope,
        Deal,
        also=linked if (company_ids or contact_ids) else None,
        fields=(
            "id", "title", "status", "stage__name", "company__name",
            "contact__first_name", "contact__last_name",
        ),
    )  # fmt: skip
    page_of = _pages("deal-detail")
    hits = []
    for row in rows:
        contact = _full_name(row["contact__first_name"], row["contact__last_name"])
        company = row["company__name"] or ""
        score = max(
            rank(terms, [row["title"]]),
            0.75 * rank(terms, [company, contact, *contact.split()]),
        )
        status = "" if row["status"] == Deal.Status.OPEN else Deal.Status(row["status"]).label
        subtitle = _join(company, contact, row["stage__name"], status)
        url = page_of(row["id"])
        hits.append(Hit("deal", row["id"], row["title"], subtitle, url, score))
    return hits


def find_contacts(scope: Scope) -> list[Hit]:
    terms = scope.terms
    rows = _candidates(
        scope,
        Contact,
        fields=("id", "first_name", "last_name", "email", "company__name"),
    )
    page_of = _pages("contact-detail")
    hits = []
    for row in rows:
        name = _full_name(row["first_name"], row["last_name"]) or row["email"]
        score = rank(terms, [name, row["email"], row["first_name"], row["last_name"]])
        subtitle = _join(row["email"], row["company__name"])
        url = page_of(row["id"])
        hits.append(Hit("contact", row["id"], name, subtitle, url, score))
    return hits


def find_leads(scope: Scope) -> list[Hit]:
    terms = scope.terms
    rows = _candidates(
        scope,
        Lead,
        fields=("id", "first_name", "last_name", "email", "company_name", "status"),
    )
    page_of = _pages("lead-detail")
    hits = []
    for row in rows:
        name = _full_name(row["first_name"], row["last_name"])
        title = name or row["company_name"] or row["email"] or f"Lead {row['id']}"
        fields = [title, row["email"], row["company_name"], row["first_name"], row["last_name"]]
        subtitle = _join(row["company_name"], row["email"], Lead.Status(row["status"]).label)
        url = page_of(row["id"])
        hits.append(Hit("lead", row["id"], title, subtitle, url, rank(terms, fields)))
    return hits


def find_companies(scope: Scope) -> list[Hit]:
    terms = scope.terms
    rows = _candidates(scope, Company, fields=("id", "name", "domain", "industry"))
    page_of = _pages("company-detail")
    hits = []
    for row in rows:
        score = rank(terms, [row["name"], row["domain"]])
        url = page_of(row["id"])
        subtitle = _join(row["domain"], row["industry"])
        hits.append(Hit("company", row["id"], row["name"], subtitle, url, score))
    return hits


# --- the queries ----------------------------------------------------------------------------------


def _candidates(
    scope: Scope, model: type[Model], *, fields: Sequence[str], also: Q | None = None
) -> list[dict[str, Any]]:
    """At most CANDIDATES rows of `model` within the caller's sight that match: strong
    matches first, fuzzy ones only to fill up."""
    rows = scope.rows(model)
    starting = scope.starting if model is Deal else None  # every title word is known
    strong = _strong_match(model, scope.terms, starting)
    if also is not None:
        strong = strong | also if strong is not None else also
    found: list[dict[str, Any]] = []
    matching = rows.filter(strong) if strong is not None else None
    if matching is not None and model is Deal and _is_common(matching):
        found = _newest_matches(matching, fields, scope.user)
    if matching is not None and len(found) < CANDIDATES:
        more = matching.exclude(pk__in=[row["id"] for row in found]) if found else matching
        found += more.values(*fields)[: CANDIDATES - len(found)]
    fuzzy = _fuzzy_match(model, scope.terms, scope.alternatives, starting)
    if fuzzy is not None and len(found) < CANDIDATES:
        more = rows.filter(fuzzy).exclude(pk__in=[row["id"] for row in found])
        found += more.values(*fields)[: CANDIDATES - len(found)]
    return found


def _is_common(matches: QuerySet[Any]) -> bool:
    """Whether PostgreSQL's planner expects COMMON or more `matches` (its statistics of the
    words in the full-text index; a planning round trip, no execution)."""
    if not is_postgresql():
        return False
    sql, params = matches.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return float(plan[0]["Plan"]["Plan Rows"]) >= COMMON


def _newest_matches(
    matches: QuerySet[Any], fields: Sequence[str], user: Caller
) -> list[dict[str, Any]]:
    """Up to CANDIDATES of `matches` among the newest RECENT_DEALS deals, walked by primary key
    and filtered row by row: a common word is in enough of them, and this stops after 40
    matches where the GIN bitmap would collect every one of the 30,000 to 100,000 deals that
    have it (20–40 ms). A rarer word finds fewer here and the bitmap query fills up, so the
    walk's cost is bounded by RECENT_DEALS rows (a few ms)."""
    newest = Deal.objects.order_by("-pk").values("pk")[:1]  # a bound only: nothing shown
    recent = matches.filter(pk__gt=Subquery(newest) - RECENT_DEALS)
    if isinstance(user, User) and not is_admin(user):
        # The caller's owner ids once more, as an array the scan checks row by row before the
        # dearer word match (the visibility rule's IN joins only after it): half the cost.
        owners, params = readable_owner_ids(user).query.sql_with_params()
        recent = recent.filter(
            RawSQL(  # noqa: S611  (Django's own SQL for the owner ids, with its parameters)
                f"{Deal._meta.db_table}.owner_id = ANY(ARRAY({owners}))",
                params,
                output_field=BooleanField(),
            )
        )
    _planner(indexscan=True, bitmapscan=False)  # the walk, not the bitmap
    found = list(recent.values(*fields)[:CANDIDATES])
    _planner(indexscan=False, bitmapscan=True)
    return found


def _strong_match(model: type[Model], terms: Terms, starting: Known | None) -> Q | None:
    conditions = []
    address = ADDRESS_FIELD.get(model)
    if terms.looks_like_address:
        if not address:
            # An e-mail address or a domain finds a deal through its contact or company: the
            # words of an address (`keystone`, `example`…) would only add title noise.
            return None
        conditions.append(_address_match(model, address, terms.text))
    if terms.words and is_postgresql():
        conditions.append(Q(_full_text_match(model, terms.tsquery(starting=starting))))
    elif terms.words:
        conditions.append(
            reduce(
                and_,
                (
                    reduce(or_, (Q(**{f"{field}__icontains": word}) for field in FIELDS[model]))
                    for word in terms.words
                ),
            )
        )
    return reduce(or_, conditions) if conditions else None


def _address_match(model: type[Model], field: str, text: str) -> Q:
    """`field` contains `text`. With one `@` in both, the address's part before its `@` ends
    with the text's and the part after starts with the text's: b-tree range scans on those
    (migration search 0005) find the few rows for the trigram `icontains` to recheck."""
    contains = Q(**{f"{field}__icontains": text})
    if text.count("@") != 1 or model not in (Contact, Lead) or not is_postgresql():
        return contains
    column = f"{connection.ops.quote_name(model._meta.db_table)}.{connection.ops.quote_name(field)}"
    local, _, domain = text.partition("@")
    parts = (
        (f"reverse(upper(split_part({column}::text, '@', 1)))", local[::-1]),
        (f"upper(split_part({column}::text, '@', 2))", domain),
    )
    for expression, start in parts:
        if start:  # `expression` starts with `start` (any case; no LIKE wildcard to escape)
            contains &= Q(
                RawSQL(  # noqa: S611  (our own column names; the text is a parameter)
                    f"({expression} ~>=~ upper(%s) "
                    f"AND {expression} ~<~ (upper(%s) || chr(1114111)))",
                    [start, start],
                    output_field=BooleanField(),
                )
            )
    return contains


def document_sql(model: type[Model]) -> str:
    """The text the full-text index of `model` covers: its searched columns joined by spaces
    (the same expression as migration search 0001's, which PostgreSQL needs to use it)."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [f"{table}.{connection.ops.quote_name(f)}" for f in FIELDS[model]]
    return " || ' ' || ".join(columns)


def _full_text_match(model: type[Model], tsquery: str) -> RawSQL:
    # Quoted names of our own columns are pasted in; the query's words are a parameter.
    return RawSQL(  # noqa: S611
        f"to_tsvector('simple'::regconfig, {document_sql(model)}) "
        "@@ to_tsquery('simple'::regconfig, %s)",
        [tsquery],
        output_field=BooleanField(),
    )


def _fuzzy_match(
    model: type[Model], terms: Terms, alternatives: Known, starting: Known | None = None
) -> Q | None:
    """The full-text match with known words close to the typed ones allowed in their place."""
    if not alternatives:
        return None
    return Q(_full_text_match(model, terms.tsquery(alternatives, starting)))


# --- ranking --------------------------------------------------------------------------------------


def rank(terms: Terms, fields: Sequence[str]) -> float:
    """How well `terms` match a record with these fields, 0–1: 1 for a field equal to the
    query, 0.9 for a field starting with it, 0.8 when every word starts a word of the record,
    0.6 when the query is inside a field, else up to 0.5 by the closest words' likeness."""
    query = terms.text.casefold()
    texts = [field.casefold() for field in fields if field]
    if query in texts:
        return 1.0
    if any(text.startswith(query) for text in texts):
        return 0.9
    words = {word for text in texts for word in re.findall(r"[^\W_]+", text)}
    if terms.words and all(any(w.startswith(t) for w in words) for t in terms.words):
        return 0.8
    if any(query in text for text in texts):
        return 0.6
    if not (terms.words and words):
        return 0.0
    likeness = [max(_likeness(term, word) for word in words) for term in terms.words]
    return 0.5 * sum(likeness) / len(likeness)


@lru_cache(maxsize=16384)
def _likeness(term: str, word: str) -> float:
    # Cached: the candidates of one search share most of their words (a company's name in 40
    # deal titles), and difflib is the dearest part of ranking them.
    return SequenceMatcher(None, term, word[: len(term) + 1]).ratio()


def _pages(url_name: str) -> Callable[[int], str]:
    """The page of a record of one type by its id, `reverse()`d once per search, not per row."""
    marker = "2147483647"
    before, after = reverse(url_name, args=[int(marker)]).split(marker, 1)
    return lambda pk: f"{before}{pk}{after}"


def _full_name(first: str | None, last: str | None) -> str:
    return f"{first or ''} {last or ''}".strip()


def _join(*parts: str | None) -> str:
    return " · ".join(part for part in parts if part)
