"""/api/pipelines/, /api/stages/, /api/lost-reasons/, /api/deals/."""

from rest_framework.routers import SimpleRouter

from deals.api import DealViewSet, LostReasonViewSet, PipelineViewSet, StageViewSet

router = SimpleRouter()
router.register("pipelines", PipelineViewSet, basename="api-pipeline")
router.register("stages", StageViewSet, basename="api-stage")
router.register("lost-reasons", LostReasonViewSet, basename="api-lost-reason")
router.register("deals", DealViewSet, basename="api-deal")

urlpatterns = router.urls
