"""SQL of the forecast's running counts kept by PostgreSQL triggers, shared by the migrations
that install the triggers and count the existing history once, and by the rebuilds that count it
again after a bulk load ran without the triggers (`forecasting.services.rebuild_history_counts`).

Three tables are rebuilt from here: StageReach (migration 0003), OpenStay + PipelineDay (0004),
MoveDay (0005). The SQL functions the migrations install (`forecasting_day_after`, …) must exist.

Those migrations import this module: a change here also changes what they run on a database
migrated afresh. Keep each statement meaning what it meant when its migration was written; a
new meaning needs a new migration.
"""

from __future__ import annotations

# ruff: noqa: S608  (only constant SQL is put together here: table names, columns, signs)

# --- stage reach (migration 0003) --------------------------------------------------------------

# A closed deal counts once for every stage it ever entered, under its owner and status.
STAGE_REACH_REBUILD = [
    "DELETE FROM forecasting_stagereach",
    """INSERT INTO forecasting_stagereach (stage_id, owner_id, status, deals)
       SELECT to_stage_id, COALESCE(owner_id, 0), status, COUNT(*)
       FROM (SELECT DISTINCT sc.deal_id, sc.to_stage_id, d.owner_id, d.status
             FROM deals_stagechange sc JOIN deals_deal d ON d.id = sc.deal_id
             WHERE d.status IN ('won', 'lost') AND sc.to_stage_id IS NOT NULL) pairs
       GROUP BY 1, 2, 3""",
]


# --- open stays and pipeline days (migration 0004_pipeline_days) ------------------------------

EVENTS = """
    SELECT c.deal_id, c.at, 0 AS kind, c.id, c.to_stage_id AS stage, NULL::varchar AS status
    FROM deals_stagechange c WHERE {stage_changes}
    UNION ALL
    SELECT f.deal_id, f.at, 1, f.id, NULL::bigint, f.new_value::varchar
    FROM deals_fieldchange f WHERE f.field = 'status' AND {status_changes}
"""

# Per deal, its events in order (moves and status changes); the last of each day gives the
# stage and status the deal has from the next day on, until the day of its next event.
RUNS = """
    SELECT deal_id, day, next_day,
           stages[cardinality(stages)] AS stage, statuses[cardinality(statuses)] AS status
    FROM (
        SELECT deal_id, forecasting_day_after(at) AS day,
               LEAD(forecasting_day_after(at)) OVER w AS next_day,
               ARRAY_AGG(stage) FILTER (WHERE kind = 0) OVER w AS stages,
               ARRAY_AGG(status) FILTER (WHERE kind = 1) OVER w AS statuses
        FROM ({events}) e
        WINDOW w AS (PARTITION BY deal_id ORDER BY at, kind, id)
    ) s
    WHERE next_day IS DISTINCT FROM day
"""

STAYS = """
    SELECT * FROM (
        SELECT r.deal_id, d.pipeline_id, r.stage AS stage_id, d.owner_id, d.currency, d.amount,
               d.probability_override,
               GREATEST(r.day, forecasting_day_after(d.created_at)) AS first_day,
               LEAST(r.next_day, forecasting_day_after(d.won_at), forecasting_day_after(d.lost_at))
                   AS end_day
        FROM ({runs}) r JOIN deals_deal d ON d.id = r.deal_id
        WHERE r.stage IS NOT NULL AND r.status IS DISTINCT FROM 'lost'
    ) stay
    WHERE end_day IS NULL OR first_day < end_day
"""

STAY_COLUMNS = (
    "deal_id, pipeline_id, stage_id, owner_id, currency, amount, probability_override, "
    "first_day, end_day"
)


def insert_stays(deals: str) -> str:
    """The INSERT of the runs of the deals matching `deals` (a condition on a deal id)."""
    events = EVENTS.format(
        stage_changes=deals.format(id="c.deal_id"), status_changes=deals.format(id="f.deal_id")
    )
    stays = STAYS.format(runs=RUNS.format(events=events))
    return f"INSERT INTO forecasting_openstay ({STAY_COLUMNS}) {stays}"


# The day rows of some runs (`stays`, a table of OpenStay rows), each counted `sign` times:
# +1 on their first day, -1 on their end day.
def add_pipeline_days(stays: str, sign: int) -> str:
    row = (
        "pipeline_id, stage_id, owner_id, currency, {day} AS day, {sign} AS deals, "
        "{sign} * COALESCE(amount, 0) AS amount, "
        "CASE WHEN probability_override IS NULL THEN {sign} * COALESCE(amount, 0) ELSE 0 END "
        "AS amount_without_override, "
        "{sign} * COALESCE(amount * probability_override, 0) AS override_weighted"
    )
    starts = row.format(day="first_day", sign=sign)
    ends = row.format(day="end_day", sign=-sign)
    return f"""
        INSERT INTO forecasting_pipelineday (pipeline_id, stage_id, owner_id, currency, day,
            deals, amount, amount_without_override, override_weighted)
        SELECT pipeline_id, stage_id, owner_id, currency, day, SUM(deals), SUM(amount),
               SUM(amount_without_override), SUM(override_weighted)
        FROM (SELECT {starts} FROM {stays}
              UNION ALL SELECT {ends} FROM {stays} WHERE end_day IS NOT NULL) d
        GROUP BY 1, 2, 3, 4, 5
        HAVING {NOT_ZERO}
    """


# Rows that change nothing are not written.
NOT_ZERO = (
    "(SUM(deals), SUM(amount), SUM(amount_without_override), SUM(override_weighted)) "
    "<> (0, 0, 0, 0)"
)


# Every deal's runs afresh, then their day rows summed once. The day rows are emptied after the
# runs are written: right whether OpenStay's own triggers (which add day rows) fired or not.
PIPELINE_DAYS_REBUILD = [
    "DELETE FROM forecasting_openstay",
    insert_stays("TRUE"),
    "DELETE FROM forecasting_pipelineday",
    add_pipeline_days("forecasting_openstay", 1),
]


# --- movement (migration 0005) -----------------------------------------------------------------


def move_rows(rows: str, sign: int) -> str:
    """Each move of the deals in `rows` as (key, day, deals, amount), counted `sign` times."""
    return f"""
        SELECT m.move, r.pipeline_id, r.owner_id, r.currency,
               forecasting_day_after(m.at) - 1 AS day, {sign} AS deals,
               {sign} * COALESCE(r.amount, 0) AS amount
        FROM {rows} r
        CROSS JOIN LATERAL (VALUES
            ('new', r.created_at), ('advanced', r.advanced_at),
            ('slipped_month', r.slipped_month_at), ('slipped_quarter', r.slipped_quarter_at),
            ('won', CASE WHEN r.status = 'won' THEN r.won_at END),
            ('lost', CASE WHEN r.status = 'lost' THEN r.lost_at END)
        ) AS m(move, at)
        WHERE m.at IS NOT NULL
    """


def add_move_days(moves: str) -> str:
    return f"""
        INSERT INTO forecasting_moveday (move, pipeline_id, owner_id, currency, day, deals, amount)
        SELECT move, pipeline_id, owner_id, currency, day, SUM(deals), SUM(amount)
        FROM ({moves}) m
        GROUP BY 1, 2, 3, 4, 5 HAVING (SUM(deals), SUM(amount)) <> (0, 0)
    """


MOVE_DAYS_REBUILD = [
    "DELETE FROM forecasting_moveday",
    add_move_days(move_rows("deals_deal", 1)),
]
