"""The exchange-rate settings page (admins only)."""

from django.urls import path

from currencies import views

urlpatterns = [
    path("settings/exchange-rates/", views.exchange_rates, name="exchange-rate-settings"),
    path("settings/exchange-rates/new/", views.add_exchange_rate, name="exchange-rate-create"),
    path(
        "settings/exchange-rates/<int:rate_id>/delete/",
        views.delete_exchange_rate,
        name="exchange-rate-delete",
    ),
]
