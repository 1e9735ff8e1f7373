"""/api/pipelines/, /api/stages/, /api/deals/."""

from rest_framework.routers import SimpleRouter

from deals.api import DealViewSet, PipelineViewSet, StageViewSet

router = SimpleRouter()
router.register("pipelines", PipelineViewSet, basename="api-pipeline")
router.register("stages", StageViewSet, basename="api-stage")
router.register("deals", DealViewSet, basename="api-deal")

urlpatterns = router.urls
