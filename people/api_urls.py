"""/api/companies/, /api/contacts/, /api/leads/."""

from rest_framework.routers import SimpleRouter

from people.api import CompanyViewSet, ContactViewSet, LeadViewSet

router = SimpleRouter()
router.register("companies", CompanyViewSet, basename="api-company")
router.register("contacts", ContactViewSet, basename="api-contact")
router.register("leads", LeadViewSet, basename="api-lead")

urlpatterns = router.urls
