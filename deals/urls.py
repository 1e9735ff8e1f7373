"""Pages of the pipeline: the board, deal pages and the stage settings (SPEC §8 Pages)."""

from django.urls import path

from deals import board_views, deal_views, settings_views

urlpatterns = [
    # The board
    path("board/", board_views.board, name="board"),
    path("board/<int:pipeline_id>/", board_views.board, name="board-pipeline"),
    path("board/<int:pipeline_id>/live/", board_views.board_live, name="board-live"),
    path(
        "board/<int:pipeline_id>/stages/<int:stage_id>/cards/",
        board_views.column_cards,
        name="board-cards",
    ),
    path(
        "board/<int:pipeline_id>/stages/<int:stage_id>/add/",
        board_views.quick_add,
        name="board-quick-add",
    ),
    path("board/companies/", board_views.company_suggest, name="company-suggest"),
    # Changes to one deal (from the board and from the deal page)
    path("deals/<int:deal_id>/move/", board_views.move, name="deal-move"),
    path("deals/<int:deal_id>/won/", board_views.won, name="deal-won"),
    path("deals/<int:deal_id>/lost/", board_views.lost, name="deal-lost"),
    # The deal page
    path("deals/<int:deal_id>/", deal_views.deal_detail, name="deal-detail"),
    path("deals/<int:deal_id>/reopen/", deal_views.reopen, name="deal-reopen"),
    path("deals/<int:deal_id>/fields/<str:name>/", deal_views.deal_field, name="deal-field"),
    path(
        "deals/<int:deal_id>/fields/<str:name>/edit/",
        deal_views.deal_field_edit,
        name="deal-field-edit",
    ),
    path("deals/<int:deal_id>/activities/plan/", deal_views.plan_activity, name="deal-plan"),
    path("deals/<int:deal_id>/activities/log/", deal_views.log_activity, name="deal-log"),
    path(
        "activities/<int:activity_id>/complete/",
        deal_views.complete_activity,
        name="activity-complete",
    ),
    # Stage settings (admins only)
    path("settings/pipelines/", settings_views.pipelines, name="pipeline-settings"),
    path(
        "settings/pipelines/<int:pipeline_id>/",
        settings_views.pipelines,
        name="pipeline-settings-detail",
    ),
    path("settings/pipelines/new/", settings_views.create_pipeline, name="pipeline-create"),
    path(
        "settings/pipelines/<int:pipeline_id>/stages/new/",
        settings_views.create_stage,
        name="stage-create",
    ),
    path(
        "settings/pipelines/<int:pipeline_id>/stages/order/",
        settings_views.reorder_stages,
        name="stage-reorder",
    ),
    path("settings/stages/<int:stage_id>/", settings_views.update_stage, name="stage-update"),
    path("settings/stages/<int:stage_id>/shift/", settings_views.shift_stage, name="stage-shift"),
    path(
        "settings/stages/<int:stage_id>/delete/", settings_views.delete_stage, name="stage-delete"
    ),
]
