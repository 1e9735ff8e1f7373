"""Lead scoring rules (SPEC §9): which lead fields a rule may test, how, and what a lead scores.

A rule reads one field: text fields (equals, contains, in, is set; without regard to case),
choices (equals, in, is set), numbers (equals, ≥, ≤, is set), yes/no (equals) and the days left
until the lead's timeline (equals, ≥, ≤, is set). A lead's score is the sum of the points of the
rules it meets, kept within 0–100; its breakdown lists those rules.

A rule is evaluated two ways that must agree (tests/contacts/test_scoring_rules.py checks it):
in Python for one lead in memory (`score_lead`: a form, an import row) and as SQL for every lead
at once (`rescore_leads`: one UPDATE, whatever the number of leads).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from django.db import models
from django.db.models import Case, IntegerField, JSONField, Q, Value, When
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from contacts.models import Lead, ScoringRule
from pipeline_crm.errors import DomainError

TEXT, CHOICE, NUMBER, BOOLEAN, DAYS = "text", "choice", "number", "boolean", "days"

OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    TEXT: ("equals", "contains", "in", "is_set"),
    CHOICE: ("equals", "in", "is_set"),
    NUMBER: ("equals", "gte", "lte", "is_set"),
    BOOLEAN: ("equals",),
    DAYS: ("equals", "gte", "lte", "is_set"),
}


@dataclass(frozen=True)
class ScoredField:
    name: str
    label: str
    type: str
    choices: tuple[tuple[str, str], ...] = ()


FIELDS: dict[str, ScoredField] = {
    f.name: f
    for f in (
        ScoredField("source", "Source", CHOICE, tuple(Lead.Source.choices)),
        ScoredField("status", "Status", CHOICE, tuple(Lead.Status.choices)),
        ScoredField("need", "Need", TEXT),
        ScoredField("budget", "Budget", NUMBER),
        ScoredField("authority", "Decision maker", BOOLEAN),
        ScoredField("timeline_days", "Days until the timeline", DAYS),
        ScoredField("contactable", "Reachable (e-mail or phone)", BOOLEAN),
        ScoredField("email", "E-mail", TEXT),
        ScoredField("phone", "Phone", TEXT),
        ScoredField("company_name", "Company", TEXT),
        ScoredField("first_name", "First name", TEXT),
        ScoredField("last_name", "Last name", TEXT),
    )
}


class RuleLike(Protocol):
    """A rule row, or a historical one in a migration."""

    pk: Any
    field: str
    operator: str
    value: Any
    points: int


# --- the value a rule compares with, checked for its field -------------------------------------


def clean_value(field: str, operator: str, value: Any) -> Any:
    """`value` in the form stored for a rule on `field` with `operator`; DomainError (naming
    `field`, `operator` or `value`) when the combination makes no sense."""
    spec = FIELDS.get(field)
    if spec is None:
        raise DomainError(f"Choose one of: {', '.join(FIELDS)}.", field="field")
    if operator not in OPERATORS_BY_TYPE[spec.type]:
        allowed = ", ".join(OPERATORS_BY_TYPE[spec.type])
        raise DomainError(f"{spec.label} takes one of: {allowed}.", field="operator")
    if operator == "is_set":
        return None
    if operator == "in":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            raise DomainError("Give a list of values.", field="value")
        cleaned = [_one_value(spec, item) for item in items]
        return [item for item in cleaned if item != ""] or _refuse("Give at least one value.")
    return _one_value(spec, value)


def _refuse(message: str) -> Any:
    raise DomainError(message, field="value")


def _one_value(spec: ScoredField, value: Any) -> Any:
    if spec.type == BOOLEAN:
        return _boolean(value)
    if spec.type in (NUMBER, DAYS):
        return _number(value, whole=spec.type == DAYS)
    if not isinstance(value, str | int) or isinstance(value, bool):
        return _refuse("Give a text value.")
    text = str(value).strip()
    if spec.type == CHOICE and text not in dict(spec.choices):
        return _refuse(f"Choose one of: {', '.join(dict(spec.choices))}.")
    return text[:200] if text else _refuse("Give a value.")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    return bool(_refuse("Give true or false."))


def _number(value: Any, *, whole: bool) -> int | str:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return str(_refuse("Give a number."))
    if isinstance(value, bool) or not number.is_finite() or abs(number) >= Decimal("1e12"):
        return str(_refuse("Give a number."))
    if whole:
        if number != number.to_integral_value():
            return str(_refuse("Give a whole number of days."))
        return int(number)
    return str(number.quantize(Decimal("0.01")))  # JSON keeps it exact as text


def describe(rule: RuleLike) -> str:
    """ "Source equals Referral", "Budget ≥ 10000.00", "Need is set"."""
    spec = FIELDS.get(rule.field)
    label = spec.label if spec else rule.field
    operator = dict(ScoringRule.Operator.choices).get(rule.operator, rule.operator)
    if rule.operator == "is_set":
        return f"{label} {operator}"
    shown = dict(spec.choices) if spec else {}
    values = rule.value if isinstance(rule.value, list) else [rule.value]
    text = ", ".join(_shown(shown.get(str(v), v)) for v in values)
    return f"{label} {operator} {text}"


def _shown(value: Any) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


# --- one lead, in memory ------------------------------------------------------------------------


def _lead_value(lead: Any, field: str, today: datetime.date) -> Any:
    if field == "contactable":
        return bool(lead.email or lead.phone)
    if field == "timeline_days":
        return None if lead.timeline is None else (lead.timeline - today).days
    return getattr(lead, field)


def _meets(rule: RuleLike, lead: Any, today: datetime.date) -> bool:
    spec, value = FIELDS[rule.field], _lead_value(lead, rule.field, today)
    if rule.operator == "is_set":
        return value not in (None, "")
    if value is None:
        return False
    if spec.type == TEXT:
        value, wanted = str(value).lower(), _lowered(rule.value)
    else:
        wanted = _typed(spec, rule.value)
    match rule.operator:
        case "equals":
            return bool(value == wanted)
        case "contains":
            return str(wanted) in value
        case "in":
            return value in wanted
        case "gte":
            return bool(value >= wanted)
        case "lte":
            return bool(value <= wanted)
    return False


def _lowered(value: Any) -> Any:
    return [str(v).lower() for v in value] if isinstance(value, list) else str(value).lower()


def _typed(spec: ScoredField, value: Any) -> Any:
    if spec.type == NUMBER and not isinstance(value, list):
        return Decimal(str(value))
    return value


def score_with(
    lead: Any, rules: Iterable[RuleLike], *, today: datetime.date | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """The lead's score (0–100) and breakdown under `rules`."""
    today = today or timezone.localdate()
    met = [rule for rule in rules if rule.field in FIELDS and _meets(rule, lead, today)]
    return _score_of(met), _breakdown_of(met)


def _score_of(met: Sequence[RuleLike]) -> int:
    return max(0, min(100, sum(rule.points for rule in met)))


def _breakdown_of(met: Sequence[RuleLike]) -> list[dict[str, Any]]:
    return [{"rule_id": r.pk, "rule": describe(r), "points": r.points} for r in met]


def current_rules() -> list[ScoringRule]:
    return list(ScoringRule.objects.order_by("id"))


def score_lead(
    lead: Lead, *, rules: Sequence[RuleLike] | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """Score 0–100 of a lead (saved or not) under `rules` (the current ones if not given: a
    caller scoring many leads reads them once), with its breakdown."""
    return score_with(lead, current_rules() if rules is None else rules)


# --- every lead, in SQL -------------------------------------------------------------------------


def rule_condition(rule: RuleLike, today: datetime.date) -> Q:
    """The SQL condition of leads meeting `rule` (the same as `_meets`)."""
    field, op, value = rule.field, rule.operator, rule.value
    spec = FIELDS[field]
    if field == "contactable":
        reachable = ~Q(email="") | ~Q(phone="")
        return reachable if value else ~reachable
    if spec.type == DAYS:
        field = "timeline"
        value = None if value is None else today + datetime.timedelta(days=int(value))
    if op == "is_set":
        given = Q(**{f"{field}__isnull": False})
        return given & ~Q(**{field: ""}) if spec.type in (TEXT, CHOICE) else given
    if spec.type == TEXT:
        lookup = {"equals": "iexact", "contains": "icontains"}.get(op, "iexact")
        options = value if op == "in" else [value]
        condition = Q(pk__in=[])
        for option in options:
            condition |= Q(**{f"{field}__{lookup}": option})
        return condition
    lookup = {"equals": "exact", "in": "in", "gte": "gte", "lte": "lte"}[op]
    return Q(**{f"{field}__{lookup}": value})


RULES_PER_MASK = 60  # bits of a bigint used per mask column


def rescore_leads(
    leads: models.QuerySet[Lead], *, rules: Sequence[ScoringRule] | None = None
) -> int:
    """Score `leads` under the rules in two statements, whatever their number: one reads which
    combinations of rules the leads meet (a bit mask per lead, grouped), one UPDATE sets each
    lead's score and the breakdown of its combination. Returns the number of leads."""
    rules = current_rules() if rules is None else [r for r in rules if r.field in FIELDS]
    today = timezone.localdate()
    masks = _mask_expressions(rules, today)
    combos = list(leads.annotate(**masks).values_list(*masks).distinct()) if masks else []
    points = [When(rule_condition(r, today), then=Value(r.points)) for r in rules]
    total: Any = Value(0)
    for when in points:
        total = total + Case(when, default=Value(0), output_field=IntegerField())
    breakdown = Case(
        *(_combo_when(combo, rules) for combo in combos),
        default=Value([], output_field=JSONField()),
        output_field=JSONField(),
    )
    return leads.alias(**masks).update(
        score=Greatest(Value(0), Least(Value(100), total)), score_breakdown=breakdown
    )


def _mask_expressions(rules: Sequence[ScoringRule], today: datetime.date) -> dict[str, Any]:
    masks: dict[str, Any] = {}
    for start in range(0, len(rules), RULES_PER_MASK):
        mask: Any = Value(0)
        for bit, rule in enumerate(rules[start : start + RULES_PER_MASK]):
            mask = mask + Case(
                When(rule_condition(rule, today), then=Value(1 << bit)),
                default=Value(0),
                output_field=models.BigIntegerField(),
            )
        masks[f"scoring_mask_{start // RULES_PER_MASK}"] = mask
    return masks


def _combo_when(combo: Sequence[int], rules: Sequence[ScoringRule]) -> When:
    met = [
        rule
        for index, rule in enumerate(rules)
        if combo[index // RULES_PER_MASK] >> (index % RULES_PER_MASK) & 1
    ]
    condition = Q(**{f"scoring_mask_{i}": mask for i, mask in enumerate(combo)})
    return When(condition, then=Value(_breakdown_of(met), output_field=JSONField()))
