"""Routes of the village exit, county exit and reduction plan endpoints."""

from rest_framework.routers import SimpleRouter

from assessments.api.area_views import CountyExitCaseViewSet, ReductionPlanViewSet, VillageExitCaseViewSet

router = SimpleRouter()
router.register("village-exit-cases", VillageExitCaseViewSet, basename="village-exit-case")
router.register("county-exit-cases", CountyExitCaseViewSet, basename="county-exit-case")
router.register("plans", ReductionPlanViewSet, basename="reduction-plan")

urlpatterns = router.urls
