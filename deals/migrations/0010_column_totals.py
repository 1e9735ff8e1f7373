"""Column totals kept up to date by PostgreSQL triggers on the deal table (see ColumnTotal).

- After INSERT (a statement, however many rows: COPY of 100,000 deals is one aggregate) the new
  deals are added to the totals of their (stage, status, owner).
- After DELETE the removed deals are subtracted the same way.
- After UPDATE of a row whose stage, status, owner, amount or override changed (the WHEN clause
  leaves every other update alone, e.g. the stall sweep's), its old values are subtracted and
  its new ones added. The two totals rows are written in key order, so two opposite moves of
  one owner's deals wait for each other instead of deadlocking.
- TRUNCATE empties the totals.

The existing deals are summed once. Nothing happens on SQLite, where the board counts deals.
"""

import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


KEY = ("stage_id", "status", "owner_id")  # a totals row's key (0015 adds the currency)


def _delta(source: str, sign: int, key: tuple[str, ...] = KEY) -> str:
    """Rows of (stage, status, owner) and signed amounts, from a table of deal rows."""
    amount = f"{sign} * COALESCE(amount, 0)"
    return (
        f"SELECT {', '.join(key)}, {sign} AS n, {amount} AS a, "
        f"CASE WHEN probability_override IS NULL THEN {amount} ELSE 0 END AS awo, "
        f"{sign} * COALESCE(amount * probability_override, 0) AS ow FROM {source}"
    )


def _upsert(*deltas: str, key: tuple[str, ...] = KEY) -> str:
    columns = ", ".join(key)
    return f"""
        INSERT INTO deals_columntotal AS t
            ({columns}, deals, amount_sum, amount_without_override,
             override_weighted)
        SELECT {columns}, SUM(n), SUM(a), SUM(awo), SUM(ow)
        FROM ({" UNION ALL ".join(deltas)}) AS delta
        GROUP BY {columns}
        HAVING SUM(n) <> 0 OR SUM(a) <> 0 OR SUM(awo) <> 0 OR SUM(ow) <> 0
        ORDER BY {columns}
        ON CONFLICT ({columns}) DO UPDATE SET
            deals = t.deals + EXCLUDED.deals,
            amount_sum = t.amount_sum + EXCLUDED.amount_sum,
            amount_without_override = t.amount_without_override
                + EXCLUDED.amount_without_override,
            override_weighted = t.override_weighted + EXCLUDED.override_weighted;
    """


def _row(record: str, key: tuple[str, ...] = KEY) -> str:
    columns = (*key, "amount", "probability_override")
    values = ", ".join(f"{record}.{c}" for c in columns)
    return f"(VALUES ({values})) AS {record.lower()}_row({', '.join(columns)})"


def _function(name: str, body: str) -> str:
    return f"""
        CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$
        BEGIN
            {body}
            RETURN NULL;
        END
        $body$;
    """


def _changed(key: tuple[str, ...]) -> str:
    return " OR ".join(
        f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in (*key, "amount", "probability_override")
    )


def _functions(key: tuple[str, ...]) -> list[str]:
    """The trigger functions keeping totals rows of this key."""
    return [
        _function("deals_column_totals_inserted", _upsert(_delta("added", 1, key), key=key)),
        _function("deals_column_totals_deleted", _upsert(_delta("removed", -1, key), key=key)),
        _function(
            "deals_column_totals_updated",
            _upsert(_delta(_row("OLD", key), -1, key), _delta(_row("NEW", key), 1, key), key=key),
        ),
    ]


def _update_trigger(key: tuple[str, ...]) -> str:
    return f"""CREATE TRIGGER deal_column_totals_update AFTER UPDATE ON deals_deal
       FOR EACH ROW WHEN ({_changed(key)})
       EXECUTE FUNCTION deals_column_totals_updated()"""


def _resum(key: tuple[str, ...]) -> list[str]:
    """Empty the totals and sum the existing deals afresh."""
    return ["DELETE FROM deals_columntotal", _upsert(_delta("deals_deal", 1, key), key=key)]


CREATE = [
    *_functions(KEY),
    _function("deals_column_totals_truncated", "DELETE FROM deals_columntotal;"),
    """CREATE TRIGGER deal_column_totals_insert AFTER INSERT ON deals_deal
       REFERENCING NEW TABLE AS added FOR EACH STATEMENT
       EXECUTE FUNCTION deals_column_totals_inserted()""",
    """CREATE TRIGGER deal_column_totals_delete AFTER DELETE ON deals_deal
       REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
       EXECUTE FUNCTION deals_column_totals_deleted()""",
    _update_trigger(KEY),
    """CREATE TRIGGER deal_column_totals_truncate AFTER TRUNCATE ON deals_deal
       FOR EACH STATEMENT EXECUTE FUNCTION deals_column_totals_truncated()""",
    *_resum(KEY),
]

DROP = [
    *(
        f"DROP TRIGGER IF EXISTS deal_column_totals_{event} ON deals_deal"
        for event in ("insert", "delete", "update", "truncate")
    ),
    *(
        f"DROP FUNCTION IF EXISTS deals_column_totals_{event}()"
        for event in ("inserted", "deleted", "updated", "truncated")
    ),
]


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0009_notification_dedupe_key_one_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ColumnTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("status", models.CharField(max_length=4)),
                ("deals", models.BigIntegerField(default=0)),
                (
                    "amount_sum",
                    models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=24),
                ),
                (
                    "amount_without_override",
                    models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=24),
                ),
                (
                    "override_weighted",
                    models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=28),
                ),
                (
                    "owner",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "stage",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="deals.stage",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("stage", "status", "owner"), name="column_total_key"
                    )
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
