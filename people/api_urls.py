"""/api/companies/, /api/contacts/, /api/leads/, /api/scoring-rules/."""

from rest_framework.routers import SimpleRouter

from people.api import CompanyViewSet, ContactViewSet, LeadViewSet, ScoringRuleViewSet

router = SimpleRouter()
router.register("companies", CompanyViewSet, basename="api-company")
router.register("contacts", ContactViewSet, basename="api-contact")
router.register("leads", LeadViewSet, basename="api-lead")
router.register("scoring-rules", ScoringRuleViewSet, basename="api-scoring-rule")

urlpatterns = router.urls
