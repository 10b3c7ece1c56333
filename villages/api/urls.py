from rest_framework.routers import SimpleRouter

from villages.api.views import DivisionViewSet, WorkTeamViewSet

router = SimpleRouter()
router.register("divisions", DivisionViewSet, basename="division")
router.register("work-teams", WorkTeamViewSet, basename="work-team")

urlpatterns = router.urls
