"""Global search (SPEC §9): the deals, leads, contacts and companies a few words find, ranked,
tolerant of a typo, within the caller's sight.

One entry point, `search(user=…, q=…)`, and one function per record type. Each type asks the
database for at most `CANDIDATES` rows, in at most two queries however many rows match:

1. the strong matches: every word of the query starts a word of the record (PostgreSQL
   full-text search, `simple` configuration, prefix terms, on the GIN indexes of migration
   search 0001), or the query is part of an e-mail address / domain (the trigram indexes
   contacts 0003 keep for `icontains`);
2. only when (1) found fewer than `CANDIDATES`: the fuzzy matches, each word of the query close
   to a word of the record (pg_trgm word similarity `<%` on the same trigram indexes, its
   threshold set for this transaction from the length of the shortest word: one wrong letter
   of a four-letter word still passes).

Neither query sorts: GIN indexes find the rows, `LIMIT` stops the scan, and Python ranks the
few candidates (exact > whole-field prefix > word prefix > fuzzy). A common word at 1,000,000
deals therefore costs what its first rows cost, not what all its rows cost.

A deal is also found through its company and its contact: the companies and contacts found
first lend their ids to the deal query (`company_id IN …`, `contact_id IN …`, b-tree indexes).

SQLite (development) has neither index kind: every word must be contained (`icontains`) in one
of the record's fields, and there is no typo tolerance.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import reduce
from operator import and_, or_
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import BooleanField, Model, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse

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
FUZZY_MIN_WORD = 4  # shorter words take no part in the fuzzy match

# The searched columns of each table. The trigram indexes (contacts 0003, deals 0006) cover each
# column as UPPER(column); the full-text index (search 0001) covers them joined by spaces.
FIELDS: dict[type[Model], tuple[str, ...]] = {
    Deal: ("title",),
    Contact: ("first_name", "last_name", "email"),
    Lead: ("first_name", "last_name", "email", "company_name"),
    Company: ("name", "domain"),
}
ADDRESS_FIELD: dict[type[Model], str] = {Contact: "email", Lead: "email", Company: "domain"}


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
        return tuple(word for word in self.words if len(word) >= FUZZY_MIN_WORD)

    def tsquery(self) -> str:
        """Every word as a prefix term: `'anna':* & 'ber':*` (words hold letters and digits
        only, nothing the tsquery syntax reads)."""
        return " & ".join(f"'{word}':*" for word in self.words)

    def similarity_threshold(self) -> float:
        """pg_trgm word similarity a one-letter typo of the shortest fuzzy word still reaches:
        a word of n letters has n + 1 trigrams, a wrong letter spoils up to 3 of them and two
        swapped letters up to 4 (at least 0.39, so two of a four-letter word's five)."""
        shortest = min(len(word) for word in self.fuzzy_words)
        return round(max(0.39, min(0.6, (shortest - 3) / (shortest + 1) - 0.01)), 2)


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
    with _fuzzy_threshold(terms):
        companies = find_companies(user, terms)
        contacts = find_contacts(user, terms)
        groups = {"company": companies, "contact": contacts}
        if "lead" in wanted:
            groups["lead"] = find_leads(user, terms)
        if "deal" in wanted:
            linked_companies = [hit.id for hit in companies]
            linked_contacts = [hit.id for hit in contacts]
            groups["deal"] = find_deals(user, terms, linked_companies, linked_contacts)
    return mix({kind: hits for kind, hits in groups.items() if kind in wanted}, limit)


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


def find_deals(
    user: Caller, terms: Terms, company_ids: Sequence[int], contact_ids: Sequence[int]
) -> list[Hit]:
    """Deals whose title matches, or whose company or contact was found."""
    linked = Q(company_id__in=list(company_ids)) | Q(contact_id__in=list(contact_ids))
    rows = _candidates(
        Deal.objects.visible_to(user),
        terms,
        also=linked if (company_ids or contact_ids) else None,
        fields=(
            "id", "title", "status", "stage__name", "company__name",
            "contact__first_name", "contact__last_name",
        ),
    )  # fmt: skip
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
        url = reverse("deal-detail", args=[row["id"]])
        hits.append(Hit("deal", row["id"], row["title"], subtitle, url, score))
    return hits


def find_contacts(user: Caller, terms: Terms) -> list[Hit]:
    rows = _candidates(
        Contact.objects.visible_to(user),
        terms,
        fields=("id", "first_name", "last_name", "email", "company__name"),
    )
    hits = []
    for row in rows:
        name = _full_name(row["first_name"], row["last_name"]) or row["email"]
        score = rank(terms, [name, row["email"], row["first_name"], row["last_name"]])
        subtitle = _join(row["email"], row["company__name"])
        url = reverse("contact-detail", args=[row["id"]])
        hits.append(Hit("contact", row["id"], name, subtitle, url, score))
    return hits


def find_leads(user: Caller, terms: Terms) -> list[Hit]:
    rows = _candidates(
        Lead.objects.visible_to(user),
        terms,
        fields=("id", "first_name", "last_name", "email", "company_name", "status"),
    )
    hits = []
    for row in rows:
        name = _full_name(row["first_name"], row["last_name"])
        title = name or row["company_name"] or row["email"] or f"Lead {row['id']}"
        fields = [title, row["email"], row["company_name"], row["first_name"], row["last_name"]]
        subtitle = _join(row["company_name"], row["email"], Lead.Status(row["status"]).label)
        url = reverse("lead-detail", args=[row["id"]])
        hits.append(Hit("lead", row["id"], title, subtitle, url, rank(terms, fields)))
    return hits


def find_companies(user: Caller, terms: Terms) -> list[Hit]:
    rows = _candidates(
        Company.objects.visible_to(user), terms, fields=("id", "name", "domain", "industry")
    )
    hits = []
    for row in rows:
        score = rank(terms, [row["name"], row["domain"]])
        url = reverse("company-detail", args=[row["id"]])
        subtitle = _join(row["domain"], row["industry"])
        hits.append(Hit("company", row["id"], row["name"], subtitle, url, score))
    return hits


# --- the queries ----------------------------------------------------------------------------------


def _candidates(
    rows: QuerySet[Any], terms: Terms, *, fields: Sequence[str], also: Q | None = None
) -> list[dict[str, Any]]:
    """At most CANDIDATES rows of `rows` (already within the caller's sight) that match:
    strong matches first, fuzzy ones only to fill up."""
    model = rows.model
    rows = rows.order_by()  # no sort: the indexes find the rows, LIMIT stops the scan
    strong = _strong_match(model, terms)
    if also is not None:
        strong = strong | also if strong is not None else also
    found: list[dict[str, Any]] = []
    if strong is not None:
        found = list(rows.filter(strong).values(*fields)[:CANDIDATES])
    fuzzy = _fuzzy_match(model, terms)
    if fuzzy is not None and len(found) < CANDIDATES:
        more = rows.filter(fuzzy).exclude(pk__in=[row["id"] for row in found])
        found += more.values(*fields)[: CANDIDATES - len(found)]
    return found


def _strong_match(model: type[Model], terms: Terms) -> Q | None:
    conditions = []
    address = ADDRESS_FIELD.get(model)
    if address and terms.looks_like_address:
        conditions.append(Q(**{f"{address}__icontains": terms.text}))
    if terms.words and is_postgresql():
        conditions.append(Q(_full_text_match(model, terms)))
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


def document_sql(model: type[Model]) -> str:
    """The text the full-text index of `model` covers: its searched columns joined by spaces
    (the same expression as migration search 0001's, which PostgreSQL needs to use it)."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [f"{table}.{connection.ops.quote_name(f)}" for f in FIELDS[model]]
    return " || ' ' || ".join(columns)


def _full_text_match(model: type[Model], terms: Terms) -> RawSQL:
    # Quoted names of our own columns are pasted in; the query's words are a parameter.
    return RawSQL(  # noqa: S611
        f"to_tsvector('simple'::regconfig, {document_sql(model)}) "
        "@@ to_tsquery('simple'::regconfig, %s)",
        [terms.tsquery()],
        output_field=BooleanField(),
    )


def _fuzzy_match(model: type[Model], terms: Terms) -> Q | None:
    """Each long enough word close to a word of one of the searched columns (PostgreSQL)."""
    if not (terms.fuzzy_words and is_postgresql()):
        return None
    table = connection.ops.quote_name(model._meta.db_table)
    per_word = []
    for word in terms.fuzzy_words:
        # Quoted names of our own columns are pasted in; the word is a parameter.
        columns = [
            RawSQL(  # noqa: S611
                f"%s <%% UPPER({table}.{connection.ops.quote_name(field)}::text)",
                [word.upper()],
                output_field=BooleanField(),
            )
            for field in FIELDS[model]
        ]
        per_word.append(reduce(or_, (Q(column) for column in columns)))
    return reduce(and_, per_word)


@contextmanager
def _fuzzy_threshold(terms: Terms) -> Iterator[None]:
    """One transaction for the search's queries, with pg_trgm's word similarity threshold set
    for it alone (`set_config(…, is_local => true)`)."""
    with transaction.atomic():
        if terms.fuzzy_words and is_postgresql():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
                    [str(terms.similarity_threshold())],
                )
        yield


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


def _likeness(term: str, word: str) -> float:
    return SequenceMatcher(None, term, word[: len(term) + 1]).ratio()


def _full_name(first: str | None, last: str | None) -> str:
    return f"{first or ''} {last or ''}".strip()


def _join(*parts: str | None) -> str:
    return " · ".join(part for part in parts if part)
