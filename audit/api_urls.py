"""/api/audit/."""

from rest_framework.routers import SimpleRouter

from audit.api import AuditEntryViewSet

router = SimpleRouter()
router.register("audit", AuditEntryViewSet, basename="api-audit")

urlpatterns = router.urls
