"""Pages of the webhooks (admins only): `/settings/webhooks/`."""

from django.urls import path

from integrations import views

urlpatterns = [
    path("settings/webhooks/", views.webhooks, name="webhook-settings"),
    path("settings/webhooks/new/", views.create_webhook, name="webhook-create"),
    path("settings/webhooks/<int:webhook_id>/", views.webhooks, name="webhook-detail"),
    path("settings/webhooks/<int:webhook_id>/edit/", views.update_webhook, name="webhook-update"),
    path("settings/webhooks/<int:webhook_id>/delete/", views.delete_webhook, name="webhook-delete"),
    path("settings/webhooks/<int:webhook_id>/ping/", views.ping, name="webhook-ping"),
    path(
        "settings/webhooks/<int:webhook_id>/deliveries/",
        views.delivery_log,
        name="webhook-deliveries",
    ),
    path(
        "settings/webhooks/<int:webhook_id>/deliveries/<uuid:delivery_id>/resend/",
        views.resend,
        name="webhook-resend",
    ),
]
