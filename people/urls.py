"""Pages for leads, contacts and companies; the names `leads`, `contacts`, `companies` are the
top bar's links.

Every kind has the same pages, served by the same views with the kind as an argument:
<plural>/ (name <plural>), new/, <pk>/, <pk>/edit/, <pk>/delete/, <pk>/activities/ and
<pk>/activities/<activity_id>/done/ (names <name>-create, -detail, -edit, -delete, -activity,
-activity-done), plus duplicates/, similar/ (the "Looks like …" warning of the forms) and
<pk>/merge/ (names <name>-duplicates, -similar, -merge). Leads add convert/ and disqualify/,
contacts and companies timeline/ (its htmx parts), companies the autocomplete options/.
The lead scoring settings live under settings/scoring/ (people.scoring_views).
"""

from typing import Any

from django.urls import URLPattern, path

from people import merge_views, scoring_views, views
from people.kinds import COMPANIES, CONTACTS, LEADS, RecordKind


def _record_pages(kind: RecordKind[Any]) -> list[URLPattern]:
    prefix, names, given = kind.plural, kind.urls, {"kind": kind}
    return [
        path(f"{prefix}/", views.record_list, given, name=names["list"]),
        path(f"{prefix}/new/", views.record_create, given, name=names["create"]),
        path(f"{prefix}/<int:pk>/", views.record_detail, given, name=names["detail"]),
        path(f"{prefix}/<int:pk>/edit/", views.record_edit, given, name=names["edit"]),
        path(f"{prefix}/<int:pk>/delete/", views.record_delete, given, name=names["delete"]),
        path(
            f"{prefix}/<int:pk>/activities/",
            views.record_activity,
            given,
            name=names["activity"],
        ),
        path(
            f"{prefix}/<int:pk>/activities/<int:activity_id>/done/",
            views.record_activity_done,
            given,
            name=names["activity-done"],
        ),
        path(f"{prefix}/duplicates/", merge_views.duplicates, given, name=names["duplicates"]),
        path(f"{prefix}/similar/", merge_views.similar, given, name=names["similar"]),
        path(f"{prefix}/<int:pk>/merge/", merge_views.merge, given, name=names["merge"]),
    ]


urlpatterns = [
    *_record_pages(LEADS),
    path("leads/<int:pk>/convert/", views.lead_convert, name="lead-convert"),
    path("leads/<int:pk>/disqualify/", views.lead_disqualify, name="lead-disqualify"),
    *_record_pages(CONTACTS),
    *_record_pages(COMPANIES),
    *(
        path(f"{kind.plural}/<int:pk>/timeline/", views.record_timeline, {"kind": kind}, name=name)
        for kind, name in ((CONTACTS, "contact-timeline"), (COMPANIES, "company-timeline"))
    ),
    path("companies/options/", views.company_options, name="company-options"),
    path("settings/scoring/", scoring_views.scoring_settings, name="scoring-settings"),
    path("settings/scoring/rules/new/", scoring_views.create_rule, name="scoring-rule-create"),
    path(
        "settings/scoring/rules/<int:rule_id>/edit/",
        scoring_views.edit_rule,
        name="scoring-rule-edit",
    ),
    path(
        "settings/scoring/rules/<int:rule_id>/delete/",
        scoring_views.delete_rule,
        name="scoring-rule-delete",
    ),
    path("settings/scoring/retrain/", scoring_views.retrain, name="scoring-retrain"),
]
