"""django.contrib.admin's app, with `accounts.admin_site.CrmAdminSite` as `admin.site` (kept
apart from that module: an app config is imported before any model may be)."""

from django.contrib.admin.apps import AdminConfig


class CrmAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.CrmAdminSite"
