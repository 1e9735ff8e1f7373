"""/forecast/: dashboard, CSV exports, movement and quotas."""

from django.urls import path

from forecasting import views

urlpatterns = [
    path("forecast/", views.dashboard, name="forecast"),
    path("forecast/panel/<slug:name>/", views.panel, name="forecast-panel"),
    path("forecast/export/<slug:table>.csv", views.export_csv, name="forecast-export"),
    path("forecast/movement/", views.movement, name="forecast-movement"),
    path("forecast/movement/deals/", views.movement_deals, name="forecast-movement-deals"),
    path("forecast/quotas/", views.quotas, name="forecast-quotas"),
    path("forecast/quotas/<int:pk>/delete/", views.delete_quota, name="forecast-quota-delete"),
    path(
        "forecast/deals/<int:deal_id>/probability/",
        views.deal_probability,
        name="forecast-deal-probability",
    ),
]
