"""Pages of the pipeline: the board, deal pages, the stage settings and the lost-reason list
(SPEC §8 Pages, §9)."""

from django.urls import path

from deals.views import (
    board,
    board_changes,
    deal_list,
    deal_page,
    lost_reason_settings,
    stage_settings,
)

urlpatterns = [
    # The board
    path("board/", board.board, name="board"),
    path("board/<int:pipeline_id>/", board.board, name="board-pipeline"),
    path("board/<int:pipeline_id>/live/", board.board_live, name="board-live"),
    path(
        "board/<int:pipeline_id>/stages/<int:stage_id>/cards/",
        board.column_cards,
        name="board-cards",
    ),
    path(
        "board/<int:pipeline_id>/stages/<int:stage_id>/add/",
        board_changes.quick_add,
        name="board-quick-add",
    ),
    # Changes to one deal (from the board and from the deal page)
    path("deals/<int:deal_id>/move/", board_changes.move, name="deal-move"),
    path("deals/<int:deal_id>/won/", board_changes.won, name="deal-won"),
    path("deals/<int:deal_id>/lost/", board_changes.lost, name="deal-lost"),
    # The deals list, its bulk actions and the trash
    path("deals/", deal_list.deal_list, name="deal-list"),
    path("deals/bulk/", deal_list.bulk_action, name="deal-bulk"),
    path("deals/trash/", deal_list.trash_page, name="deal-trash"),
    path("deals/trash/restore/", deal_list.restore, name="deal-restore"),
    # The deal page
    path("deals/<int:deal_id>/", deal_page.deal_detail, name="deal-detail"),
    path("deals/<int:deal_id>/delete/", deal_page.delete, name="deal-delete"),
    path("deals/<int:deal_id>/reopen/", deal_page.reopen, name="deal-reopen"),
    path("deals/<int:deal_id>/fields/<str:name>/", deal_page.deal_field, name="deal-field"),
    path(
        "deals/<int:deal_id>/fields/<str:name>/edit/",
        deal_page.deal_field_edit,
        name="deal-field-edit",
    ),
    path("deals/<int:deal_id>/activities/plan/", deal_page.plan_activity, name="deal-plan"),
    path("deals/<int:deal_id>/activities/log/", deal_page.log_activity, name="deal-log"),
    path(
        "activities/<int:activity_id>/complete/",
        deal_page.complete_activity,
        name="activity-complete",
    ),
    # Stage settings (admins only)
    path("settings/pipelines/", stage_settings.pipelines, name="pipeline-settings"),
    path(
        "settings/pipelines/<int:pipeline_id>/",
        stage_settings.pipelines,
        name="pipeline-settings-detail",
    ),
    path("settings/pipelines/new/", stage_settings.create_pipeline, name="pipeline-create"),
    path(
        "settings/pipelines/<int:pipeline_id>/stages/new/",
        stage_settings.create_stage,
        name="stage-create",
    ),
    path(
        "settings/pipelines/<int:pipeline_id>/stages/order/",
        stage_settings.reorder_stages,
        name="stage-reorder",
    ),
    path("settings/stages/<int:stage_id>/", stage_settings.update_stage, name="stage-update"),
    path("settings/stages/<int:stage_id>/shift/", stage_settings.shift_stage, name="stage-shift"),
    path(
        "settings/stages/<int:stage_id>/delete/", stage_settings.delete_stage, name="stage-delete"
    ),
    # The lost-reason list (admins only)
    path("settings/lost-reasons/", lost_reason_settings.lost_reasons, name="lost-reason-settings"),
    path(
        "settings/lost-reasons/new/",
        lost_reason_settings.create_lost_reason,
        name="lost-reason-create",
    ),
    path(
        "settings/lost-reasons/<int:reason_id>/",
        lost_reason_settings.update_lost_reason,
        name="lost-reason-update",
    ),
    path(
        "settings/lost-reasons/<int:reason_id>/shift/",
        lost_reason_settings.shift_lost_reason,
        name="lost-reason-shift",
    ),
]
