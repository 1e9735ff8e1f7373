"""Likely duplicates among companies, contacts and leads (SPEC §9 Merge): reads only.

Two records look alike when they share an e-mail address (any case: leads, and a lead with a
contact), a web domain (companies, "www." ignored), or a name: the same name once spaces and
case are folded on every database, and on PostgreSQL also a similar one (pg_trgm similarity of
the whole name ≥ `SIMILAR`: among all records, names sharing their last name's first three
letters; for one typed name, through the pg_trgm extension the search migrations installed).

`duplicate_groups` joins the pairs into groups (a with b, b with c: one group) among the
records the user can see; `looks_like` names the records a new or edited one resembles.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import CharField, Count, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat, Lower, Trim

from accounts.models import User
from contacts.models import Company, Contact, Lead

SIMILAR = 0.6  # trigram similarity of two whole names that counts as "similar"
MAX_PAIRS = 2000  # per rule: a bounded amount of work whatever the table's size
MAX_GROUPS = 100
LOOKS_LIKE_LIMIT = 5

# Per model: the name as compared (lower-case), its trigram-indexed column, its table.
NAME_SQL = {
    Contact: ("LOWER(TRIM({t}.first_name || ' ' || {t}.last_name))", "last_name"),
    Lead: ("LOWER(TRIM({t}.first_name || ' ' || {t}.last_name))", "last_name"),
    Company: ("LOWER(TRIM({t}.name))", "name"),
}


@dataclass
class DuplicateGroup:
    records: list[Any]
    reasons: set[str] = field(default_factory=set)


def _name_key(model: type[Any]) -> Any:
    if model is Company:
        return Lower(Trim("name"))
    first, last = Lower(Trim("first_name")), Lower(Trim("last_name"))
    return Trim(Concat(first, Value(" "), last, output_field=CharField()))


def _same_value_pairs(records: QuerySet[Any], key: Any) -> list[tuple[int, int]]:
    """Pairs of records whose `key` expression is equal and not empty."""
    keyed = records.annotate(dupe_key=key).exclude(dupe_key="")
    shared = keyed.values("dupe_key").annotate(n=Count("pk")).filter(n__gt=1).values("dupe_key")
    rows = keyed.filter(dupe_key__in=shared).order_by("dupe_key", "pk")
    by_key: dict[str, list[int]] = defaultdict(list)
    for pk, value in rows.values_list("pk", "dupe_key")[:MAX_PAIRS]:
        by_key[value].append(pk)
    return [(ids[0], other) for ids in by_key.values() for other in ids[1:]]


def _similar_name_pairs(records: QuerySet[Any]) -> list[tuple[int, int]]:
    """PostgreSQL: pairs whose whole names are similar (trigram similarity ≥ SIMILAR), compared
    within blocks of records whose last name (company: name) starts with the same three
    letters: a hash join, not one trigram index scan per row (that took minutes at 50,000
    contacts). A typo in those first letters goes unnoticed; the same-name rule still holds."""
    if connection.vendor != "postgresql":
        return []
    model = records.model
    name, column = NAME_SQL[model]
    table = connection.ops.quote_name(model._meta.db_table)
    visible_sql, params = records.values("pk").query.sql_with_params()
    block = "LOWER(LEFT(TRIM({t}." + column + "), 3))"
    # Only Django's table and column names are pasted in; the values are parameters.
    sql = (
        f"SELECT a.id, b.id FROM {table} a JOIN {table} b "  # noqa: S608
        f"ON {block.format(t='a')} = {block.format(t='b')} AND a.id < b.id "
        f"WHERE {block.format(t='a')} <> '' "
        f"AND similarity({name.format(t='a')}, {name.format(t='b')}) >= %s "
        f"AND a.id IN ({visible_sql}) AND b.id IN ({visible_sql}) LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [SIMILAR, *params, *params, MAX_PAIRS])
        return [(a, b) for a, b in cursor.fetchall()]


def _domain_key() -> Any:
    """A company's domain, lower-case, without a leading "www." (SQLite and PostgreSQL)."""
    return RawSQL(
        "CASE WHEN LOWER(TRIM(domain)) LIKE 'www.%%' THEN SUBSTR(LOWER(TRIM(domain)), 5) "
        "ELSE LOWER(TRIM(domain)) END",
        [],
        output_field=CharField(),
    )


def _pairs(model: type[Any], records: QuerySet[Any]) -> dict[str, list[tuple[int, int]]]:
    pairs = {"same name": _same_value_pairs(records, _name_key(model))}
    if model is Company:
        pairs["same domain"] = _same_value_pairs(records, _domain_key())
    elif model is Lead:  # a contact's e-mail is unique ignoring case: no pair to find
        pairs["same e-mail"] = _same_value_pairs(records, Lower(Trim("email")))
    pairs["similar name"] = _similar_name_pairs(records)
    return pairs


def _groups(pairs: Mapping[str, Iterable[tuple[int, int]]]) -> list[tuple[list[int], set[str]]]:
    """Union-find over the pairs: connected records are one group, with every rule that joined
    them."""
    parent: dict[int, int] = {}

    def root(pk: int) -> int:
        while parent.setdefault(pk, pk) != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    for pair_list in pairs.values():
        for a, b in pair_list:
            parent[root(a)] = root(b)
    members: dict[int, list[int]] = defaultdict(list)
    for pk in sorted(parent):
        members[root(pk)].append(pk)
    reasons: dict[int, set[str]] = defaultdict(set)
    for reason, pair_list in pairs.items():
        for a, _ in pair_list:
            reasons[root(a)].add(reason)
    return [(ids, reasons[key]) for key, ids in members.items() if len(ids) > 1]


def duplicate_groups(
    model: type[Any], *, user: User, limit: int = MAX_GROUPS
) -> list[DuplicateGroup]:
    """Groups of likely duplicates among the records of `model` that `user` can see, the
    records of each oldest first (the first is the natural survivor)."""
    records = model.objects.visible_to(user)
    found = _groups(_pairs(model, records))[:limit]
    related = ("owner", "company") if model is Contact else ("owner",)
    loaded = records.select_related(*related).in_bulk([pk for ids, _ in found for pk in ids])
    groups = []
    for ids, reasons in found:
        group = [loaded[pk] for pk in ids if pk in loaded]
        if len(group) > 1:
            groups.append(DuplicateGroup(records=group, reasons=reasons))
    return groups


# --- a new or edited record that looks like existing ones -------------------------------------


@dataclass(frozen=True)
class LookAlike:
    record: Any
    reason: str


def _similar_names(model: type[Any], name: str, block: str) -> Q:
    """PostgreSQL: records whose whole name is similar to `name`, among those whose last name
    (company: name) starts like `block` does (as `_similar_name_pairs` compares them)."""
    if connection.vendor != "postgresql" or len(name) < 3 or not block:
        return Q(pk__in=[])
    expression, column = NAME_SQL[model]
    table = connection.ops.quote_name(model._meta.db_table)
    # Only Django's names are pasted in; the typed values are parameters.
    sql = (
        f"SELECT id FROM {table} t WHERE LOWER(LEFT(TRIM(t.{column}), 3)) = %s "  # noqa: S608
        f"AND similarity({expression.format(t='t')}, %s) >= %s"
    )
    params = [block.strip().lower()[:3], name.lower(), SIMILAR]
    return Q(pk__in=RawSQL(sql, params))  # noqa: S611


def _typed_name(model: type[Any], fields: Mapping[str, Any]) -> str:
    if model is Company:
        return " ".join(str(fields.get("name") or "").split())
    parts = (str(fields.get("first_name") or ""), str(fields.get("last_name") or ""))
    return " ".join(" ".join(parts).split())


def looks_like(
    model: type[Any], *, user: User, fields: Mapping[str, Any], exclude: int | None = None
) -> list[LookAlike]:
    """Records `user` can see that the typed `fields` resemble (a lead's e-mail is looked up
    among contacts too), the closest reason first; at most LOOKS_LIKE_LIMIT of each kind."""
    found: dict[tuple[type[Any], int], LookAlike] = {}

    def add(records: QuerySet[Any], reason: str) -> None:
        if exclude is not None and records.model is model:
            records = records.exclude(pk=exclude)
        for record in records[:LOOKS_LIKE_LIMIT]:
            found.setdefault((records.model, record.pk), LookAlike(record, reason))

    visible = model.objects.visible_to(user)
    email = str(fields.get("email") or "").strip()
    if email and model is not Company:
        add(visible.filter(email__iexact=email), "same e-mail")
        if model is Lead:
            add(Contact.objects.visible_to(user).filter(email__iexact=email), "same e-mail")
    domain = str(fields.get("domain") or "").strip().lower().removeprefix("www.")
    if domain and model is Company:
        add(visible.annotate(d=_domain_key()).filter(d=domain), "same domain")
    name = _typed_name(model, fields)
    if name:
        add(visible.annotate(k=_name_key(model)).filter(k=name.lower()), "same name")
        block = str(fields.get("name" if model is Company else "last_name") or "")
        add(visible.filter(_similar_names(model, name, block)), "similar name")
    return list(found.values())
