"""Pages for leads, contacts and companies; the names `leads`, `contacts`, `companies` are the
top bar's links."""

from django.urls import path

from people import views

urlpatterns = [
    path("leads/", views.lead_list, name="leads"),
    path("leads/new/", views.lead_create, name="lead-create"),
    path("leads/<int:pk>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:pk>/edit/", views.lead_edit, name="lead-edit"),
    path("leads/<int:pk>/convert/", views.lead_convert, name="lead-convert"),
    path("leads/<int:pk>/disqualify/", views.lead_disqualify, name="lead-disqualify"),
    path("leads/<int:pk>/delete/", views.lead_delete, name="lead-delete"),
    path("leads/<int:pk>/activities/", views.lead_activity, name="lead-activity"),
    path(
        "leads/<int:pk>/activities/<int:activity_id>/done/",
        views.lead_activity_done,
        name="lead-activity-done",
    ),
    path("contacts/", views.contact_list, name="contacts"),
    path("contacts/new/", views.contact_create, name="contact-create"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact-detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact-edit"),
    path("contacts/<int:pk>/delete/", views.contact_delete, name="contact-delete"),
    path("contacts/<int:pk>/activities/", views.contact_activity, name="contact-activity"),
    path(
        "contacts/<int:pk>/activities/<int:activity_id>/done/",
        views.contact_activity_done,
        name="contact-activity-done",
    ),
    path("companies/", views.company_list, name="companies"),
    path("companies/new/", views.company_create, name="company-create"),
    path("companies/options/", views.company_options, name="company-options"),
    path("companies/<int:pk>/", views.company_detail, name="company-detail"),
    path("companies/<int:pk>/edit/", views.company_edit, name="company-edit"),
    path("companies/<int:pk>/delete/", views.company_delete, name="company-delete"),
    path("companies/<int:pk>/activities/", views.company_activity, name="company-activity"),
    path(
        "companies/<int:pk>/activities/<int:activity_id>/done/",
        views.company_activity_done,
        name="company-activity-done",
    ),
]
