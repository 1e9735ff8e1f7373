"""The pipeline at the start of any past day, rebuilt from history, as running counts
(OpenStay, PipelineDay) kept by PostgreSQL triggers, so the "pipeline on a day" panel sums a
few thousand rows instead of replaying every deal's history (12.9 s at 1,000,000 deals).

The rule is `forecasting.analytics.as_of.open_at_start_of`: a deal is in the pipeline at the
start of day D in the stage it last moved into before then, unless its last status change
before then made it lost, it was created on D or later, or it was won or lost (`won_at`,
`lost_at`) before then. Every event at instant t first counts on the day after t's local date
(`forecasting_day_after`, in the TIME_ZONE the migration ran under, which
`forecasting_pipeline_days_zone()` returns so that readers can check it).

- OpenStay: per deal, the runs of days it was open in one stage, with the deal's current
  pipeline, owner, currency, amount and override. `forecasting_open_stays_refresh(deal ids)`
  recomputes a deal's runs, set-based: after a statement inserting, deleting or updating stage
  changes or status changes (for the deals concerned), after an insert of deals, and after an
  update of a deal's pipeline, owner, currency, amount, override, created_at, won_at or lost_at.
- PipelineDay: per (pipeline, stage, owner, currency, day), +1 deal (and its amounts) on a
  run's first day, -1 on its end day, kept by statement triggers on OpenStay. Append-only (no
  unique key, nothing updated: writers never wait on each other there);
  forecasting_pipeline_days_compact() sums each key's rows into one.

The stage's kind and probability are read when summing, so changing them needs nothing here.
The existing history is computed once (the runs, then their sums), before the triggers exist.
Nothing happens on SQLite, which rebuilds from history each time.
"""

import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


from forecasting.running_count_sql import (  # shared with the rebuild after a bulk load
    NOT_ZERO,
    add_pipeline_days as _add_days,
    insert_stays as _stays,
)

ZONE = settings.TIME_ZONE

# Each key's rows summed into one (rows other transactions add meanwhile are left for later).
COMPACT = f"""
    WITH gone AS (DELETE FROM forecasting_pipelineday RETURNING *)
    INSERT INTO forecasting_pipelineday (pipeline_id, stage_id, owner_id, currency, day, deals,
        amount, amount_without_override, override_weighted)
    SELECT pipeline_id, stage_id, owner_id, currency, day, SUM(deals), SUM(amount),
           SUM(amount_without_override), SUM(override_weighted)
    FROM gone GROUP BY 1, 2, 3, 4, 5 HAVING {NOT_ZERO}
"""


def _trigger_function(name: str, body: str) -> str:
    return f"""
        CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$
        BEGIN
            {body}
            RETURN NULL;
        END
        $body$
    """


def _refresh(ids: str) -> str:
    return f"PERFORM forecasting_open_stays_refresh(ARRAY({ids}));"


# Which deals a statement on a history table concerns; for updates, only rows whose deal,
# instant or stage/status changed (the stay-ends trigger rewrites other columns of moves).
HISTORY_CHANGED = """
    SELECT o.deal_id FROM removed o JOIN added n ON n.id = o.id
    WHERE (o.deal_id, o.at, {old}) IS DISTINCT FROM (n.deal_id, n.at, {new}) {status_only}
    UNION SELECT n.deal_id FROM removed o JOIN added n ON n.id = o.id
    WHERE (o.deal_id, o.at, {old}) IS DISTINCT FROM (n.deal_id, n.at, {new}) {status_only}
"""

DEAL_COLUMNS = (
    "pipeline_id", "owner_id", "currency", "amount", "probability_override", "created_at",
    "won_at", "lost_at",
)


def _history_triggers(table: str, columns: tuple[str, ...], only: str) -> list[str]:
    """Triggers on one history table (`only`: a condition its rows must meet, on `{rec}`)."""
    status_only = ""
    if only:
        status_only = f"AND ({only.format(rec='o')} OR {only.format(rec='n')})"
    where = f"WHERE {only.format(rec='x')}" if only else ""
    changed = HISTORY_CHANGED.format(
        old=", ".join(f"o.{c}" for c in columns),
        new=", ".join(f"n.{c}" for c in columns),
        status_only=status_only,
    )
    name = f"forecasting_open_stays_{table}"
    function = _trigger_function(
        name,
        f"""
        IF TG_OP = 'INSERT' THEN
            {_refresh(f"SELECT DISTINCT deal_id FROM added x {where}")}
        ELSIF TG_OP = 'DELETE' THEN
            {_refresh(f"SELECT DISTINCT deal_id FROM removed x {where}")}
        ELSE
            {_refresh(changed)}
        END IF;
        """,
    )
    tables = {"INSERT": "NEW TABLE AS added", "DELETE": "OLD TABLE AS removed"}
    tables["UPDATE"] = "OLD TABLE AS removed NEW TABLE AS added"
    return [function] + [
        f"""CREATE TRIGGER {name}_{event.lower()} AFTER {event} ON deals_{table}
            REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"""
        for event, transition in tables.items()
    ]


CREATE = [
    f"""CREATE OR REPLACE FUNCTION forecasting_pipeline_days_zone() RETURNS text
        LANGUAGE sql IMMUTABLE AS $body$ SELECT '{ZONE}'::text $body$""",
    f"""CREATE OR REPLACE FUNCTION forecasting_day_after(instant timestamptz) RETURNS date
        LANGUAGE sql IMMUTABLE AS $body$
        SELECT (instant AT TIME ZONE '{ZONE}')::date + 1 $body$""",
    "SET LOCAL work_mem = '256MB'",
    _stays("TRUE"),
    _add_days("forecasting_openstay", 1),
    f"""CREATE OR REPLACE FUNCTION forecasting_open_stays_refresh(deal_ids bigint[])
        RETURNS void LANGUAGE sql AS $body$
        DELETE FROM forecasting_openstay WHERE deal_id = ANY(deal_ids);
        {_stays("{id} = ANY(deal_ids)")};
        $body$""",
    f"""CREATE OR REPLACE FUNCTION forecasting_pipeline_days_compact() RETURNS void
        LANGUAGE sql AS $body$ {COMPACT} $body$""",
    _trigger_function("forecasting_pipeline_days_added", _add_days("added", 1) + ";"),
    _trigger_function("forecasting_pipeline_days_removed", _add_days("removed", -1) + ";"),
    """CREATE TRIGGER forecasting_pipeline_days_insert AFTER INSERT ON forecasting_openstay
       REFERENCING NEW TABLE AS added FOR EACH STATEMENT
       EXECUTE FUNCTION forecasting_pipeline_days_added()""",
    """CREATE TRIGGER forecasting_pipeline_days_delete AFTER DELETE ON forecasting_openstay
       REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
       EXECUTE FUNCTION forecasting_pipeline_days_removed()""",
    *_history_triggers("stagechange", ("to_stage_id",), ""),
    *_history_triggers("fieldchange", ("field", "new_value"), "{rec}.field = 'status'"),
    _trigger_function(
        "forecasting_open_stays_deals_added",
        _refresh("SELECT id FROM added"),
    ),
    """CREATE TRIGGER forecasting_open_stays_deal_insert AFTER INSERT ON deals_deal
       REFERENCING NEW TABLE AS added FOR EACH STATEMENT
       EXECUTE FUNCTION forecasting_open_stays_deals_added()""",
    """CREATE OR REPLACE FUNCTION forecasting_open_stays_deal_changed() RETURNS trigger
       LANGUAGE plpgsql AS $body$ BEGIN
           PERFORM forecasting_open_stays_refresh(ARRAY[COALESCE(NEW.id, OLD.id)]);
           RETURN NULL;
       END $body$""",
    f"""CREATE TRIGGER forecasting_open_stays_deal_update AFTER UPDATE ON deals_deal
       FOR EACH ROW WHEN (({", ".join(f"OLD.{c}" for c in DEAL_COLUMNS)})
                          IS DISTINCT FROM ({", ".join(f"NEW.{c}" for c in DEAL_COLUMNS)}))
       EXECUTE FUNCTION forecasting_open_stays_deal_changed()""",
    """CREATE TRIGGER forecasting_open_stays_deal_delete AFTER DELETE ON deals_deal
       FOR EACH ROW EXECUTE FUNCTION forecasting_open_stays_deal_changed()""",
]

TRIGGERS = {
    "deals_stagechange": [f"forecasting_open_stays_stagechange_{e}" for e in ("insert", "delete", "update")],
    "deals_fieldchange": [f"forecasting_open_stays_fieldchange_{e}" for e in ("insert", "delete", "update")],
    "deals_deal": [f"forecasting_open_stays_deal_{e}" for e in ("insert", "update", "delete")],
    "forecasting_openstay": ["forecasting_pipeline_days_insert", "forecasting_pipeline_days_delete"],
}
FUNCTIONS = [
    "forecasting_open_stays_stagechange()",
    "forecasting_open_stays_fieldchange()",
    "forecasting_open_stays_deals_added()",
    "forecasting_open_stays_deal_changed()",
    "forecasting_pipeline_days_added()",
    "forecasting_pipeline_days_removed()",
    "forecasting_open_stays_refresh(bigint[])",
    "forecasting_day_after(timestamptz)",
    "forecasting_pipeline_days_zone()",
    "forecasting_pipeline_days_compact()",
]
DROP = [
    *(f"DROP TRIGGER IF EXISTS {t} ON {table}" for table, names in TRIGGERS.items() for t in names),
    *(f"DROP FUNCTION IF EXISTS {f}" for f in FUNCTIONS),
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
        ('deals', '0017_merge_currency_and_stay_ends'),
        ('forecasting', '0003_stage_reach'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='OpenStay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('deal_id', models.BigIntegerField(db_index=True)),
                ('pipeline_id', models.BigIntegerField()),
                ('stage_id', models.BigIntegerField()),
                ('owner_id', models.BigIntegerField()),
                ('currency', models.CharField(max_length=3)),
                ('amount', models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ('probability_override', models.PositiveSmallIntegerField(null=True)),
                ('first_day', models.DateField()),
                ('end_day', models.DateField(null=True)),
            ],
        ),
        migrations.CreateModel(
            name='PipelineDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(max_length=3)),
                ('day', models.DateField()),
                ('deals', models.BigIntegerField(default=0)),
                ('amount', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=24)),
                ('amount_without_override', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=24)),
                ('override_weighted', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=28)),
                ('owner', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('pipeline', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='deals.pipeline')),
                ('stage', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='deals.stage')),
            ],
            options={
                'indexes': [models.Index(fields=['day'], include=('pipeline', 'stage', 'owner', 'currency', 'deals', 'amount', 'amount_without_override', 'override_weighted'), name='pipeline_day_idx')],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
