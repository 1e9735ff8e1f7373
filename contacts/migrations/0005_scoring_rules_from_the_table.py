"""The hard-coded lead score (need 20, budget 10 or 20, decision maker 20, timeline 10 or 5,
source 2–20, reachable 10) as scoring rules, so every lead scores the same on day one; each
lead's breakdown, a dict of parts until now, becomes the list of rules it meets."""

from django.db import migrations

SOURCE_POINTS = {
    "referral": 20,
    "web_form": 15,
    "event": 12,
    "email_campaign": 8,
    "social": 6,
    "cold_call": 4,
    "import": 2,
    "other": 2,
}

RULES = [
    ("need", "is_set", None, 20),
    ("budget", "gte", "0.01", 10),  # any budget above 0: 10 ...
    ("budget", "gte", "10000.00", 10),  # ... 20 from 10,000
    ("authority", "equals", True, 20),
    ("timeline_days", "gte", 0, 10),  # a timeline today or later: 10 ...
    ("timeline_days", "gte", 91, -5),  # ... 5 when more than 90 days away
    *(("source", "equals", source, points) for source, points in SOURCE_POINTS.items()),
    ("contactable", "equals", True, 10),
]

OLD_PART_LABELS = {
    "need": "Need is set",
    "budget": "Budget",
    "authority": "Decision maker equals yes",
    "timeline": "Days until the timeline",
    "source": "Source",
    "contactable": "Reachable (e-mail or phone) equals yes",
}


def create_rules(apps, schema_editor):
    ScoringRule = apps.get_model("contacts", "ScoringRule")
    Lead = apps.get_model("contacts", "Lead")
    if not ScoringRule.objects.exists():
        ScoringRule.objects.bulk_create(
            ScoringRule(field=field, operator=operator, value=value, points=points)
            for field, operator, value, points in RULES
        )
    # The breakdowns as lists; the scores stay (the rules give the same ones). The nightly
    # recompute, or the first rule saved, writes them again in the rules' own words.
    for lead in Lead.objects.only("pk", "score_breakdown").iterator():
        old = lead.score_breakdown
        if isinstance(old, dict):
            lead.score_breakdown = [
                {"rule_id": None, "rule": OLD_PART_LABELS.get(key, key), "points": points}
                for key, points in old.items()
                if isinstance(points, int) and points
            ]
            lead.save(update_fields=["score_breakdown"])


def back_to_parts(apps, schema_editor):
    Lead = apps.get_model("contacts", "Lead")
    Lead.objects.update(score_breakdown={})


class Migration(migrations.Migration):
    dependencies = [("contacts", "0004_scoring_rules_and_learned_score")]

    operations = [migrations.RunPython(create_rules, back_to_parts)]
