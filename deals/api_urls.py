"""/api/pipelines/, /api/stages/, /api/deals/, /api/activities/, /api/notifications/."""

from rest_framework.routers import SimpleRouter

from deals.api import (
    ActivityViewSet,
    DealViewSet,
    NotificationViewSet,
    PipelineViewSet,
    StageViewSet,
)

router = SimpleRouter()
router.register("pipelines", PipelineViewSet, basename="api-pipeline")
router.register("stages", StageViewSet, basename="api-stage")
router.register("deals", DealViewSet, basename="api-deal")
router.register("activities", ActivityViewSet, basename="api-activity")
router.register("notifications", NotificationViewSet, basename="api-notification")

urlpatterns = router.urls
