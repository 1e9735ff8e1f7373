"""Each stage change knows when its stay ended, whether the deal went further and when the deal
last entered that stage before (see StageChange.left_at / advanced / entered_before), kept by PostgreSQL triggers so that every writer (services,
bulk moves, imports, the trash's restore, the demo loader's COPY, raw SQL) keeps them right:

- After INSERT, DELETE or UPDATE of stage changes (a statement, however many rows), the moves of
  the deals concerned are recomputed in one set-based UPDATE (only rows whose values change are
  written): left_at = the deal's next move (by at, id), else the deal's lost_at; advanced = a
  later move of the deal entered a stage of the same pipeline with a higher order;
  entered_before = the deal's previous move into the same stage.
- After an UPDATE of a deal's lost_at (lost, reopened, restored), that deal's moves likewise.
- A change of the stages' order calls deals_stay_ends_refresh_pipeline() (deals.services.
  pipelines), which recomputes the moves into that pipeline.
The trigger's own UPDATE (depth 2) does not fire it again.

The existing moves are computed once, set-based. Nothing happens on SQLite, where the funnel
walks the history in Python. After migrating a big database, run VACUUM (ANALYZE) on
deals_stagechange (the backfill rewrote every row).
"""

from django.db import migrations, models

STAYS = """
    SELECT c.id,
           COALESCE(LEAD(c.at) OVER (PARTITION BY c.deal_id ORDER BY c.at, c.id), d.lost_at)
               AS left_at,
           COALESCE(
               MAX(st."order") OVER (
                   PARTITION BY c.deal_id, st.pipeline_id ORDER BY c.at, c.id
                   ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING
               ) > st."order",
               false
           ) AS advanced,
           LAG(c.at) OVER (PARTITION BY c.deal_id, c.to_stage_id ORDER BY c.at, c.id)
               AS entered_before
    FROM deals_stagechange c
    JOIN deals_deal d ON d.id = c.deal_id
    LEFT JOIN deals_stage st ON st.id = c.to_stage_id
    {where}
"""


def _update(where: str) -> str:
    return f"""
        UPDATE deals_stagechange sc
        SET left_at = stay.left_at, advanced = stay.advanced, entered_before = stay.entered_before
        FROM ({STAYS.format(where=where)}) AS stay
        WHERE sc.id = stay.id
          AND (sc.left_at IS DISTINCT FROM stay.left_at
               OR sc.advanced IS DISTINCT FROM stay.advanced
               OR sc.entered_before IS DISTINCT FROM stay.entered_before)
    """


MOVED_BODY = """
    IF pg_trigger_depth() > 1 THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM deals_stay_ends_refresh(ARRAY(SELECT DISTINCT deal_id FROM added));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM deals_stay_ends_refresh(ARRAY(SELECT DISTINCT deal_id FROM removed));
    ELSE
        PERFORM deals_stay_ends_refresh(
            ARRAY(SELECT deal_id FROM removed UNION SELECT deal_id FROM added)
        );
    END IF;
    RETURN NULL;
"""

CREATE = [
    f"""CREATE OR REPLACE FUNCTION deals_stay_ends_refresh(deal_ids bigint[]) RETURNS void
        LANGUAGE sql AS $body$ {_update("WHERE c.deal_id = ANY(deal_ids)")} $body$""",
    f"""CREATE OR REPLACE FUNCTION deals_stay_ends_refresh_pipeline(pipeline bigint)
        RETURNS void LANGUAGE sql AS $body$ {
        _update(
            "WHERE c.deal_id IN (SELECT m.deal_id FROM deals_stagechange m "
            "JOIN deals_stage s ON s.id = m.to_stage_id WHERE s.pipeline_id = pipeline)"
        )
    } $body$""",
    f"""CREATE OR REPLACE FUNCTION deals_stay_ends_moved() RETURNS trigger
        LANGUAGE plpgsql AS $body$ BEGIN {MOVED_BODY} END $body$""",
    """CREATE OR REPLACE FUNCTION deals_stay_ends_closed() RETURNS trigger
        LANGUAGE plpgsql AS $body$ BEGIN
            PERFORM deals_stay_ends_refresh(ARRAY[NEW.id]);
            RETURN NULL;
        END $body$""",
    "SET LOCAL work_mem = '256MB'",
    _update(""),
    """CREATE TRIGGER stagechange_stay_ends_insert AFTER INSERT ON deals_stagechange
       REFERENCING NEW TABLE AS added FOR EACH STATEMENT
       EXECUTE FUNCTION deals_stay_ends_moved()""",
    """CREATE TRIGGER stagechange_stay_ends_delete AFTER DELETE ON deals_stagechange
       REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
       EXECUTE FUNCTION deals_stay_ends_moved()""",
    """CREATE TRIGGER stagechange_stay_ends_update AFTER UPDATE ON deals_stagechange
       REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT
       EXECUTE FUNCTION deals_stay_ends_moved()""",
    """CREATE TRIGGER deal_stay_ends_closed AFTER UPDATE ON deals_deal
       FOR EACH ROW WHEN (OLD.lost_at IS DISTINCT FROM NEW.lost_at)
       EXECUTE FUNCTION deals_stay_ends_closed()""",
]

DROP = [
    "DROP TRIGGER IF EXISTS deal_stay_ends_closed ON deals_deal",
    *(
        f"DROP TRIGGER IF EXISTS stagechange_stay_ends_{event} ON deals_stagechange"
        for event in ("insert", "delete", "update")
    ),
    "DROP FUNCTION IF EXISTS deals_stay_ends_closed()",
    "DROP FUNCTION IF EXISTS deals_stay_ends_moved()",
    "DROP FUNCTION IF EXISTS deals_stay_ends_refresh_pipeline(bigint)",
    "DROP FUNCTION IF EXISTS deals_stay_ends_refresh(bigint[])",
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
    dependencies = [("deals", "0014_lost_reasons")]

    operations = [
        migrations.AddField(
            model_name="stagechange",
            name="left_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="stagechange",
            name="advanced",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name="stagechange",
            name="entered_before",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.RemoveIndex(model_name="stagechange", name="stagechange_to_at_idx"),
        migrations.AddIndex(
            model_name="stagechange",
            index=models.Index(
                fields=["to_stage", "at"],
                include=("deal", "left_at", "advanced", "entered_before"),
                name="stagechange_to_at_stay_idx",
            ),
        ),
    ]
