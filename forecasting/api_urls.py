"""/api/forecast/, /api/forecast/accuracy/, /api/analytics/funnel/, /api/quotas/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from forecasting.api import (
    AccuracyView,
    ForecastView,
    FunnelView,
    MovementDealsView,
    MovementView,
    QuotaViewSet,
)

router = SimpleRouter()
router.register("quotas", QuotaViewSet, basename="api-quota")

urlpatterns = [
    path("forecast/", ForecastView.as_view(), name="api-forecast"),
    path("forecast/accuracy/", AccuracyView.as_view(), name="api-forecast-accuracy"),
    path("analytics/funnel/", FunnelView.as_view(), name="api-funnel"),
    path("forecast/movement/", MovementView.as_view(), name="api-forecast-movement"),
    path(
        "forecast/movement/deals/", MovementDealsView.as_view(), name="api-forecast-movement-deals"
    ),
    *router.urls,
]
