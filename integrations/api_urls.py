"""/api/webhooks/ and their deliveries."""

from rest_framework.routers import SimpleRouter

from integrations.api import WebhookViewSet

router = SimpleRouter()
router.register("webhooks", WebhookViewSet, basename="api-webhook")

urlpatterns = router.urls
