from rest_framework.routers import SimpleRouter

from households.api.views import HouseholdViewSet, MemberViewSet, ObjectionViewSet

router = SimpleRouter()
router.register("households", HouseholdViewSet, basename="household")
router.register("members", MemberViewSet, basename="member")
router.register("objections", ObjectionViewSet, basename="objection")

urlpatterns = router.urls
