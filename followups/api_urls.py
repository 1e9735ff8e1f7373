"""/api/activities/, /api/notifications/."""

from rest_framework.routers import SimpleRouter

from followups.api import ActivityViewSet, NotificationViewSet

router = SimpleRouter()
router.register("activities", ActivityViewSet, basename="api-activity")
router.register("notifications", NotificationViewSet, basename="api-notification")

urlpatterns = router.urls
