"""The import page (SPEC §9): /import/ and the steps htmx swaps into it."""

from django.urls import path

from imports import views

urlpatterns = [
    path("import/", views.import_page, name="import"),
    path("import/mapping/", views.import_mapping, name="import-mapping"),
    path("import/check/", views.import_check, name="import-check"),
    path("import/recent/", views.import_recent, name="import-recent"),
    path("import/<int:pk>/", views.import_batch, name="import-batch"),
    path("import/<int:pk>/commit/", views.import_commit, name="import-commit"),
    path("import/<int:pk>/undo/", views.import_undo, name="import-undo"),
    path("import/<int:pk>/errors.csv", views.import_errors_csv, name="import-errors-csv"),
]
