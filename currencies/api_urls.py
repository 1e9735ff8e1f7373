"""/api/exchange-rates/."""

from rest_framework.routers import SimpleRouter

from currencies.api import ExchangeRateViewSet

router = SimpleRouter()
router.register("exchange-rates", ExchangeRateViewSet, basename="api-exchange-rate")

urlpatterns = router.urls
