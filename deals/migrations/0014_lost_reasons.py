"""Lost reasons become a list admins keep (SPEC §9).

The deal's free-text `lost_reason` becomes `lost_reason_detail`, and a foreign key `lost_reason`
points at an entry of the new list. The distinct free-text reasons already given (trimmed, one
entry per reason whatever its case; its most used spelling names it; the most used first) become
the first entries, and the deals that gave them point at them. The usual reasons and an "Other" that takes free text
follow, unless the list has them already.
"""

from collections import Counter, defaultdict
from typing import Any

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower

DEFAULT_REASONS = (
    ("Price", False),
    ("Went with a competitor", False),
    ("No budget", False),
    ("No decision", False),
    ("Bad timing", False),
    ("Other", True),
)


def reasons_from_free_text(lost_reason_model: Any, deal_model: Any) -> None:
    """Turn the deals' free-text reasons into list entries and point the deals at them.

    One entry per reason whatever its case and surrounding spaces, named by its most used
    spelling; the most used reasons come first on the list."""
    given = (
        deal_model.objects.exclude(lost_reason_detail="")
        .values("lost_reason_detail")
        .annotate(n=Count("id"))
        .order_by()
    )
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    texts: dict[str, list[str]] = defaultdict(list)  # key -> the raw texts deals hold
    for row in given:
        text = row["lost_reason_detail"]
        name = text.strip()
        if name:
            spellings[name.lower()][name] += row["n"]
            texts[name.lower()].append(text)
    entries: dict[str, Any] = {e.name.lower(): e for e in lost_reason_model.objects.all()}
    order = max((e.order for e in entries.values()), default=0)
    by_use = sorted(spellings, key=lambda key: (-sum(spellings[key].values()), key))
    for key in by_use:
        if key not in entries:
            counts = spellings[key]
            name = min(counts, key=lambda spelling: (-counts[spelling], spelling))
            order += 1
            entries[key] = lost_reason_model.objects.create(name=name, order=order)
        deal_model.objects.filter(lost_reason_detail__in=texts[key]).update(
            lost_reason=entries[key], lost_reason_detail=""
        )
    for name, allows_other in DEFAULT_REASONS:
        if name.lower() not in entries:
            order += 1
            entries[name.lower()] = lost_reason_model.objects.create(
                name=name, order=order, allows_other=allows_other
            )


def forwards(apps: Any, schema_editor: Any) -> None:
    reasons_from_free_text(apps.get_model("deals", "LostReason"), apps.get_model("deals", "Deal"))


def backwards(apps: Any, schema_editor: Any) -> None:
    """Back to free text: the entry's name, then the detail given with it."""
    deal_model = apps.get_model("deals", "Deal")
    for deal in deal_model.objects.filter(lost_reason__isnull=False).select_related("lost_reason"):
        parts = (deal.lost_reason.name, deal.lost_reason_detail)
        deal.lost_reason_detail = ": ".join(p for p in parts if p)[:300]
        deal.save(update_fields=["lost_reason_detail"])


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0013_trash"),
    ]

    operations = [
        migrations.CreateModel(
            name="LostReason",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=300)),
                ("active", models.BooleanField(default=True)),
                ("order", models.PositiveIntegerField(default=0)),
                (
                    "allows_other",
                    models.BooleanField(
                        default=False, help_text="Picking it asks for free text (an “Other” entry)."
                    ),
                ),
            ],
            options={
                "ordering": ["order", "id"],
                "constraints": [
                    models.UniqueConstraint(Lower("name"), name="lost_reason_name_ci_unique")
                ],
            },
        ),
        migrations.RemoveIndex(model_name="deal", name="deal_lost_idx"),
        migrations.RenameField(
            model_name="deal", old_name="lost_reason", new_name="lost_reason_detail"
        ),
        migrations.AddField(
            model_name="deal",
            name="lost_reason",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="deals",
                to="deals.lostreason",
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(
                condition=models.Q(("status", "lost")),
                fields=["owner", "lost_at"],
                include=("id", "status", "currency", "pipeline", "stage", "lost_reason"),
                name="deal_lost_idx",
            ),
        ),
    ]
