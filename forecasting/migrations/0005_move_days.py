"""Running counts behind movement since a day (MoveDay), kept by PostgreSQL triggers on the
deals, so the movement panel sums a few thousand rows instead of scanning an index entry per
deal that moved (about a million at 1,000,000 deals over 90 days).

A deal counts once per move on the local day (`forecasting_day_after(t) - 1`, migration 0004's
time zone) of: created_at (new), advanced_at (advanced), slipped_month_at, slipped_quarter_at
(slipped by month / quarter; deals migration 0018 keeps these from the history), won_at while
won, lost_at while lost; under its pipeline, owner and currency, with its amount. After each
statement inserting, updating (only the rows whose counted columns changed) or deleting deals,
the old rows are taken away and the new ones added, summed per key, as new rows (append-only,
like PipelineDay: no unique key, nothing updated, so writers never wait on each other there;
forecasting_move_days_compact() sums each key's rows into one). The existing deals are counted
once. Nothing happens on SQLite, where movement reads the history.
"""

import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models

from forecasting.running_count_sql import (  # shared with the rebuild after a bulk load
    add_move_days as _add,
    move_rows as _moves,
)


COUNTED = (
    "pipeline_id", "owner_id", "currency", "amount", "status", "created_at", "advanced_at",
    "slipped_month_at", "slipped_quarter_at", "won_at", "lost_at",
)


# Each key's rows summed into one (rows other transactions add meanwhile are left for later).
COMPACT = f"""
    WITH gone AS (DELETE FROM forecasting_moveday RETURNING *)
    {_add("SELECT move, pipeline_id, owner_id, currency, day, deals, amount FROM gone")}
"""


CHANGED = "(SELECT {rec}.* FROM removed o JOIN added n ON n.id = o.id WHERE ({old}) IS DISTINCT FROM ({new}))"
OLD_ROWS, NEW_ROWS = (
    CHANGED.format(
        rec=rec,
        old=", ".join(f"o.{c}" for c in COUNTED),
        new=", ".join(f"n.{c}" for c in COUNTED),
    )
    for rec in "on"
)

CREATE = [
    _add(_moves("deals_deal", 1)),
    f"""CREATE OR REPLACE FUNCTION forecasting_move_days_compact() RETURNS void
        LANGUAGE sql AS $body$ {COMPACT} $body$""",
    f"""CREATE OR REPLACE FUNCTION forecasting_move_days() RETURNS trigger LANGUAGE plpgsql
        AS $body$ BEGIN
            IF TG_OP = 'INSERT' THEN
                {_add(_moves("added", 1))};
            ELSIF TG_OP = 'DELETE' THEN
                {_add(_moves("removed", -1))};
            ELSE
                {_add(_moves(OLD_ROWS, -1) + " UNION ALL " + _moves(NEW_ROWS, 1))};
            END IF;
            RETURN NULL;
        END $body$""",
    *(
        f"""CREATE TRIGGER forecasting_move_days_{event.lower()} AFTER {event} ON deals_deal
            REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION forecasting_move_days()"""
        for event, transition in (
            ("INSERT", "NEW TABLE AS added"),
            ("DELETE", "OLD TABLE AS removed"),
            ("UPDATE", "OLD TABLE AS removed NEW TABLE AS added"),
        )
    ),
]

DROP = [
    *(
        f"DROP TRIGGER IF EXISTS forecasting_move_days_{event} ON deals_deal"
        for event in ("insert", "delete", "update")
    ),
    "DROP FUNCTION IF EXISTS forecasting_move_days()",
    "DROP FUNCTION IF EXISTS forecasting_move_days_compact()",
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
        ('deals', '0018_deal_moves'),
        ('forecasting', '0004_pipeline_days'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='MoveDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('move', models.CharField(max_length=16)),
                ('currency', models.CharField(max_length=3)),
                ('day', models.DateField()),
                ('deals', models.BigIntegerField(default=0)),
                ('amount', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=24)),
                ('owner', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('pipeline', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='deals.pipeline')),
            ],
            options={
                'indexes': [models.Index(fields=['day'], include=('move', 'pipeline', 'owner', 'currency', 'deals', 'amount'), name='move_day_idx')],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
