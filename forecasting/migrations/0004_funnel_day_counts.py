"""Running counts behind the funnel and time in stage (StageFlowDay) and its closed-deal figures
(ClosedDay), kept by PostgreSQL triggers, so a funnel over 90 days reads some thousand day rows
instead of a million moves.

A stage change into a stage counts under (stage, its deal's pipeline, owner and currency, the
local day of the move in the site's time zone): +1 entry, +1 advanced when the deal later went
further, +1 completed stay when it has a `left_at`, and +1 in the histogram column of that
stay's length (h0: under 0.1 day; hk: 0.1 day × 1.05^(k−1) up to × 1.05^k; h191: the rest).
- After INSERT or DELETE of stage changes (a statement, however many rows): the rows added or
  removed, grouped per key, in one upsert. After an UPDATE (the stay ends' own triggers set
  left_at, advanced later): the changed rows subtracted as they were and added as they are.
- After a deal's pipeline, owner or currency changes: its moves moved from the old key to the
  new one. Deleting a deal deletes its moves first (Django's cascade), which subtracts them; a
  deal row deleted with moves left subtracts them itself.
- Two moves of one owner's deals write the same day rows in opposite orders: each statement
  first takes a transaction advisory lock per (owner, stage) its deals have moves in, in key
  order, so the second waits instead of deadlocking.
- A closed (won or lost) deal counts in ClosedDay under (day of closing, pipeline, status,
  owner, currency, stage, lost reason or 0): deals, amount, deals with an amount, and for won
  deals the time from creation to won. Row triggers on the deals subtract the old row and add
  the new one whenever one of those changes, and on insert and delete.
- Two indexes: stagechange_reentry_idx (the few re-entries, which the funnel takes off) and
  deal_stalled_owner_idx (the reps panel counts stalled deals per owner from it alone).
- The time zone is read from forecasting_rollupsettings (one row, written from
  settings.TIME_ZONE here and on every migrate: `forecasting.apps`, which recounts everything
  when it changed). The histogram's three numbers are `forecasting.models`' FIRST_BUCKET_SECONDS,
  BUCKET_RATIO and STAY_BUCKETS, repeated here to keep the migration self-contained.

The existing history is counted once, set-based. Nothing happens on SQLite.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion

FIRST_BUCKET_SECONDS = 8640
BUCKET_RATIO = 1.05
STAY_BUCKETS = 192
HIST = [f"h{k}" for k in range(STAY_BUCKETS)]
KEY = "stage_id, day, owner_id, currency, pipeline_id"
ZONE = "(SELECT time_zone FROM forecasting_rollupsettings WHERE id = 1)"
BUCKET = f"""CASE
    WHEN m.seconds IS NULL THEN NULL
    WHEN m.seconds < {FIRST_BUCKET_SECONDS} THEN 0
    ELSE LEAST({STAY_BUCKETS - 1},
               1 + floor(ln(m.seconds / {FIRST_BUCKET_SECONDS}) / ln({BUCKET_RATIO}))::int)
    END"""


def _apply(moves: str) -> str:
    """Add `moves` (to_stage_id, pipeline_id, owner_id, currency, at, left_at, advanced, sign)
    to the day rows: grouped per bucket first, then per key, then one upsert."""
    hist = ", ".join(
        f"COALESCE(SUM(b.n) FILTER (WHERE b.k = {k}), 0)" for k in range(STAY_BUCKETS)
    )
    updates = ", ".join(
        f"{c} = t.{c} + EXCLUDED.{c}" for c in ["entered", "advanced", "stays", *HIST]
    )
    return f"""
        INSERT INTO forecasting_stageflowday AS t ({KEY}, entered, advanced, stays, {", ".join(HIST)})
        SELECT b.stage_id, b.day, b.owner_id, b.currency, b.pipeline_id,
               SUM(b.entered), COALESCE(SUM(b.advanced), 0),
               COALESCE(SUM(b.n) FILTER (WHERE b.k IS NOT NULL), 0), {hist}
        FROM (
            SELECT m.to_stage_id AS stage_id, (m.at AT TIME ZONE z.name)::date AS day,
                   COALESCE(m.owner_id, 0) AS owner_id, COALESCE(m.currency, '') AS currency,
                   COALESCE(m.pipeline_id, 0) AS pipeline_id, {BUCKET} AS k,
                   SUM(m.sign) AS entered, SUM(m.sign) FILTER (WHERE m.advanced) AS advanced,
                   SUM(m.sign) AS n
            FROM (SELECT s.*, EXTRACT(EPOCH FROM (s.left_at - s.at))::float8 AS seconds
                  FROM ({moves}) s WHERE s.to_stage_id IS NOT NULL) m
            CROSS JOIN (SELECT {ZONE} AS name) z
            GROUP BY 1, 2, 3, 4, 5, 6
        ) b
        GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT ({KEY}) DO UPDATE SET {updates}
    """


# --- closed deals ------------------------------------------------------------------------------

CLOSED_KEY = "day, pipeline_id, status, owner_id, currency, stage_id, lost_reason_id"
CLOSED_COLUMNS = "pipeline_id, day, status, owner_id, currency, stage_id, lost_reason_id"
CLOSED_SUMS = ["deals", "amount", "with_amount", "cycle"]


def _closed(deals: str) -> str:
    """Add `deals` (deals_deal rows with a `sign`) to the closed day rows, grouped per key."""
    updates = ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in CLOSED_SUMS)
    return f"""
        INSERT INTO forecasting_closedday AS t ({CLOSED_COLUMNS}, {", ".join(CLOSED_SUMS)})
        SELECT d.pipeline_id,
               ((CASE d.status WHEN 'won' THEN d.won_at ELSE d.lost_at END)
                    AT TIME ZONE z.name)::date,
               d.status, d.owner_id, d.currency, d.stage_id,
               CASE d.status WHEN 'lost' THEN COALESCE(d.lost_reason_id, 0) ELSE 0 END,
               SUM(d.sign), COALESCE(SUM(d.sign * d.amount), 0),
               COALESCE(SUM(d.sign) FILTER (WHERE d.amount IS NOT NULL), 0),
               COALESCE(SUM(d.sign * (d.won_at - d.created_at)) FILTER (WHERE d.status = 'won'),
                        interval '0')
        FROM ({deals}) d CROSS JOIN (SELECT {ZONE} AS name) z
        WHERE (d.status = 'won' AND d.won_at IS NOT NULL) OR (d.status = 'lost' AND d.lost_at IS NOT NULL)
        GROUP BY 1, 2, 3, 4, 5, 6, 7
        ON CONFLICT ({CLOSED_KEY}) DO UPDATE SET {updates}
    """


DEAL_COLUMNS = "d.id, d.status, d.won_at, d.lost_at, d.created_at, d.stage_id, d.pipeline_id, d.owner_id, d.currency, d.amount, d.lost_reason_id"
CLOSED_CHANGED = f"""
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {_closed(f"SELECT {DEAL_COLUMNS.replace('d.', 'OLD.')}, -1 AS sign")};
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        {_closed(f"SELECT {DEAL_COLUMNS.replace('d.', 'NEW.')}, 1 AS sign")};
    END IF;
    RETURN NULL;
"""
CLOSED_FIELDS = DEAL_COLUMNS.replace("d.id, ", "")


def _moves(rows: str, deal: str, sign: int) -> str:
    """The moves of `rows` as `_apply` takes them, under the deal values `deal` (a record or
    a joined deals_deal row)."""
    return f"""SELECT {rows}.to_stage_id AS to_stage_id, {deal}.pipeline_id AS pipeline_id,
                      {deal}.owner_id AS owner_id, {deal}.currency AS currency,
                      {rows}.at AS at, {rows}.left_at AS left_at, {rows}.advanced AS advanced,
                      {sign} AS sign"""


CHANGED = """(r.deal_id, r.to_stage_id, r.at, r.left_at, r.advanced)
    IS DISTINCT FROM (a.deal_id, a.to_stage_id, a.at, a.left_at, a.advanced)"""

# Two moves of one owner's deals write the same day rows (the stage entered, the stage left) in
# opposite orders: each statement first takes, in one order, a transaction lock per owner and
# stage its deals have moves in (the stay ends' refresh that follows may touch any of them), so
# the second queues behind the first instead of deadlocking.
def _lock(pairs: str) -> str:
    """Take the locks of the (owner_id, stage_id) `pairs`, in key order."""
    return f"""
        PERFORM pg_advisory_xact_lock(k.key) FROM (
            SELECT DISTINCT hashtext('stage_flow_day:' || p.owner_id || ':' || p.stage_id) AS key
            FROM ({pairs}) p WHERE p.stage_id IS NOT NULL ORDER BY 1
        ) k;
    """


def _pairs_of(rows: str) -> str:
    """The (owner, stage) pairs of the deals of transition table `rows`: their moves and the
    rows themselves (a deleted row is no longer among the moves)."""
    return f"""
        SELECT d.owner_id, c.to_stage_id AS stage_id
        FROM deals_stagechange c JOIN deals_deal d ON d.id = c.deal_id
        WHERE c.deal_id IN (SELECT deal_id FROM {rows})
        UNION SELECT d.owner_id, r.to_stage_id FROM {rows} r JOIN deals_deal d ON d.id = r.deal_id
    """


MOVED = f"""
    IF TG_OP = 'INSERT' THEN
        {_lock(_pairs_of("added"))}
        {_apply(_moves("a", "d", 1) + " FROM added a JOIN deals_deal d ON d.id = a.deal_id")};
    ELSIF TG_OP = 'DELETE' THEN
        {_lock(_pairs_of("removed"))}
        {_apply(_moves("r", "d", -1) + " FROM removed r JOIN deals_deal d ON d.id = r.deal_id")};
    ELSE
        {_lock(_pairs_of("removed") + " UNION " + _pairs_of("added"))}
        {_apply(
            _moves("r", "d", -1)
            + " FROM removed r JOIN added a ON a.id = r.id JOIN deals_deal d ON d.id = r.deal_id"
            + f" WHERE {CHANGED} UNION ALL "
            + _moves("a", "d", 1)
            + " FROM removed r JOIN added a ON a.id = r.id JOIN deals_deal d ON d.id = a.deal_id"
            + f" WHERE {CHANGED}"
        )};
    END IF;
    RETURN NULL;
"""

DEAL_MOVES = " FROM deals_stagechange c WHERE c.deal_id = {rec}.id"

DEAL_PAIRS = """
    SELECT {rec}.owner_id AS owner_id, c.to_stage_id AS stage_id
    FROM deals_stagechange c WHERE c.deal_id = {rec}.id
"""

DEAL_CHANGED = f"""
    IF TG_OP = 'UPDATE' THEN
        {_lock(DEAL_PAIRS.format(rec="OLD") + " UNION " + DEAL_PAIRS.format(rec="NEW"))}
        {_apply(
            _moves("c", "OLD", -1) + DEAL_MOVES.format(rec="OLD") + " UNION ALL "
            + _moves("c", "NEW", 1) + DEAL_MOVES.format(rec="NEW")
        )};
    ELSE
        {_lock(DEAL_PAIRS.format(rec="OLD"))}
        {_apply(_moves("c", "OLD", -1) + DEAL_MOVES.format(rec="OLD"))};
    END IF;
    RETURN NULL;
"""

REBUILD = f"""
    CREATE OR REPLACE FUNCTION forecasting_rollups_rebuild() RETURNS void
    LANGUAGE plpgsql AS $body$ BEGIN
        SET LOCAL work_mem = '256MB';
        DELETE FROM forecasting_stageflowday;
        {_apply(_moves("c", "d", 1) + " FROM deals_stagechange c JOIN deals_deal d ON d.id = c.deal_id")};
        DELETE FROM forecasting_closedday;
        {_closed(f"SELECT {DEAL_COLUMNS}, 1 AS sign FROM deals_deal d WHERE d.status IN ('won', 'lost')")};
    END $body$
"""

CREATE = [
    f"""CREATE OR REPLACE FUNCTION forecasting_stage_flow_moved() RETURNS trigger
        LANGUAGE plpgsql AS $body$ BEGIN {MOVED} END $body$""",
    f"""CREATE OR REPLACE FUNCTION forecasting_stage_flow_deal() RETURNS trigger
        LANGUAGE plpgsql AS $body$ BEGIN {DEAL_CHANGED} END $body$""",
    f"""CREATE OR REPLACE FUNCTION forecasting_closed_day_deal() RETURNS trigger
        LANGUAGE plpgsql AS $body$ BEGIN {CLOSED_CHANGED} END $body$""",
    REBUILD,
    """CREATE TRIGGER stagechange_flow_days_insert AFTER INSERT ON deals_stagechange
       REFERENCING NEW TABLE AS added FOR EACH STATEMENT
       EXECUTE FUNCTION forecasting_stage_flow_moved()""",
    """CREATE TRIGGER stagechange_flow_days_delete AFTER DELETE ON deals_stagechange
       REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
       EXECUTE FUNCTION forecasting_stage_flow_moved()""",
    """CREATE TRIGGER stagechange_flow_days_update AFTER UPDATE ON deals_stagechange
       REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT
       EXECUTE FUNCTION forecasting_stage_flow_moved()""",
    """CREATE TRIGGER deal_flow_days_update AFTER UPDATE ON deals_deal
       FOR EACH ROW WHEN (OLD.pipeline_id IS DISTINCT FROM NEW.pipeline_id
                          OR OLD.owner_id IS DISTINCT FROM NEW.owner_id
                          OR OLD.currency IS DISTINCT FROM NEW.currency)
       EXECUTE FUNCTION forecasting_stage_flow_deal()""",
    """CREATE TRIGGER deal_flow_days_delete AFTER DELETE ON deals_deal
       FOR EACH ROW EXECUTE FUNCTION forecasting_stage_flow_deal()""",
    """CREATE TRIGGER deal_closed_days_insert AFTER INSERT ON deals_deal
       FOR EACH ROW WHEN (NEW.status IN ('won', 'lost'))
       EXECUTE FUNCTION forecasting_closed_day_deal()""",
    """CREATE TRIGGER deal_closed_days_delete AFTER DELETE ON deals_deal
       FOR EACH ROW WHEN (OLD.status IN ('won', 'lost'))
       EXECUTE FUNCTION forecasting_closed_day_deal()""",
    f"""CREATE TRIGGER deal_closed_days_update AFTER UPDATE ON deals_deal
       FOR EACH ROW WHEN (({CLOSED_FIELDS.replace('d.', 'OLD.')})
                          IS DISTINCT FROM ({CLOSED_FIELDS.replace('d.', 'NEW.')}))
       EXECUTE FUNCTION forecasting_closed_day_deal()""",
    """CREATE INDEX IF NOT EXISTS stagechange_reentry_idx ON deals_stagechange (to_stage_id, at)
       INCLUDE (deal_id, entered_before, advanced) WHERE entered_before IS NOT NULL""",
    # The reps panel counts the stalled deals per owner from the index alone.
    """CREATE INDEX IF NOT EXISTS deal_stalled_owner_idx ON deals_deal (owner_id)
       INCLUDE (currency, pipeline_id) WHERE stalled AND NOT (status = 'lost')""",
]

DROP = [
    "DROP TRIGGER IF EXISTS deal_flow_days_update ON deals_deal",
    "DROP TRIGGER IF EXISTS deal_flow_days_delete ON deals_deal",
    *(f"DROP TRIGGER IF EXISTS deal_closed_days_{event} ON deals_deal" for event in ("insert", "delete", "update")),
    "DROP FUNCTION IF EXISTS forecasting_closed_day_deal()",
    *(
        f"DROP TRIGGER IF EXISTS stagechange_flow_days_{event} ON deals_stagechange"
        for event in ("insert", "delete", "update")
    ),
    "DROP FUNCTION IF EXISTS forecasting_stage_flow_moved()",
    "DROP FUNCTION IF EXISTS forecasting_stage_flow_deal()",
    "DROP FUNCTION IF EXISTS forecasting_rollups_rebuild()",
    "DROP INDEX IF EXISTS stagechange_reentry_idx",
    "DROP INDEX IF EXISTS deal_stalled_owner_idx",
]


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "INSERT INTO forecasting_rollupsettings (id, time_zone) VALUES (1, %s)",
        [str(settings.TIME_ZONE)],
    )
    for statement in CREATE:
        schema_editor.execute(statement)
    schema_editor.execute("SELECT forecasting_rollups_rebuild()")


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
            name='RollupSettings',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('time_zone', models.CharField(max_length=64)),
            ],
        ),
        migrations.CreateModel(
            name='ClosedDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(max_length=3)),
                ('day', models.DateField()),
                ('status', models.CharField(max_length=4)),
                ('lost_reason_id', models.BigIntegerField(default=0)),
                ('deals', models.BigIntegerField(default=0)),
                ('amount', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=24)),
                ('with_amount', models.BigIntegerField(default=0)),
                ('cycle', models.DurationField(default=datetime.timedelta(0))),
                ('owner', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('pipeline', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='deals.pipeline')),
                ('stage', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='deals.stage')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('day', 'pipeline', 'status', 'owner', 'currency', 'stage', 'lost_reason_id'), name='closed_day_key')],
            },
        ),
        migrations.CreateModel(
            name='StageFlowDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(max_length=3)),
                ('day', models.DateField()),
                ('entered', models.BigIntegerField(default=0)),
                ('advanced', models.BigIntegerField(default=0)),
                ('stays', models.BigIntegerField(default=0)),
                *((f'h{k}', models.IntegerField(default=0)) for k in range(STAY_BUCKETS)),
                ('owner', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('pipeline', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='deals.pipeline')),
                ('stage', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='deals.stage')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('stage', 'day', 'owner', 'currency', 'pipeline'), name='stage_flow_day_key')],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
