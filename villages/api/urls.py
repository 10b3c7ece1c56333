from rest_framework.routers import SimpleRouter

from villages.api.views import CountyViewSet, DivisionViewSet, VillageViewSet, WorkTeamViewSet

router = SimpleRouter()
router.register("divisions", DivisionViewSet, basename="division")
router.register("counties", CountyViewSet, basename="county")
router.register("villages", VillageViewSet, basename="village")
router.register("work-teams", WorkTeamViewSet, basename="work-team")

urlpatterns = router.urls
