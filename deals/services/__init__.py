"""The only code that changes the pipeline (SPEC §3). Every function is one transaction.

HTML views, the API, the admin, imports and Celery tasks call these and turn
`pipeline_crm.errors` into messages. Callers fetch records through `visible_to(user)` first (404
outside sight); the services then check write permission themselves (403), so no caller can
forget it. What happened is announced (`deals.events`) for open boards and notifications.

- `editing`: create, edit, delete deals; an activity refreshes its deal
- `moves`: move within and between columns, won, lost, reopen (one `enter_stage` rule)
- `positions`: sort keys of the cards in a column
- `pipelines`: pipelines and stages (admins)
- `lost_reasons`: the admins' list of lost reasons, and the rule for picking one
- `totals`: the board's running column totals, rebuilt
"""

from deals.services.editing import (
    EDITABLE_DEAL_FIELDS,
    create_deal,
    delete_deal,
    hand_over_open_deals,
    record_activity,
    update_deal,
)
from deals.services.lost_reasons import (
    create_lost_reason,
    pick_lost_reason,
    reason_named,
    reorder_lost_reasons,
    shift_lost_reason,
    update_lost_reason,
)
from deals.services.moves import mark_lost, mark_won, move_deal, reopen_deal
from deals.services.pipelines import (
    create_pipeline,
    create_stage,
    delete_pipeline,
    delete_stage,
    refresh_stay_ends,
    reorder_stages,
    shift_stage,
    update_pipeline,
    update_stage,
)
from deals.services.positions import POSITION_GAP
from deals.services.totals import rebuild_column_totals

__all__ = [
    "EDITABLE_DEAL_FIELDS",
    "POSITION_GAP",
    "create_deal",
    "create_lost_reason",
    "create_pipeline",
    "create_stage",
    "delete_deal",
    "delete_pipeline",
    "delete_stage",
    "hand_over_open_deals",
    "mark_lost",
    "mark_won",
    "move_deal",
    "pick_lost_reason",
    "reason_named",
    "rebuild_column_totals",
    "record_activity",
    "refresh_stay_ends",
    "reopen_deal",
    "reorder_lost_reasons",
    "reorder_stages",
    "shift_lost_reason",
    "shift_stage",
    "update_deal",
    "update_lost_reason",
    "update_pipeline",
    "update_stage",
]
