from django.urls import path

from mailin import views

urlpatterns = [
    path("mail/unmatched/", views.unmatched_list, name="mail-unmatched"),
    path("mail/unmatched/attach/", views.unmatched_attach, name="mail-unmatched-attach"),
    path("settings/me/bcc/new/", views.bcc_address_new, name="bcc-address-new"),
    path("settings/me/bcc/revoke/", views.bcc_address_revoke, name="bcc-address-revoke"),
]
