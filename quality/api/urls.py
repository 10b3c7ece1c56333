from django.urls import path
from rest_framework.routers import SimpleRouter

from quality.api.views import FindingViewSet, RuleListView

router = SimpleRouter()
router.register("quality/findings", FindingViewSet, basename="quality-finding")

urlpatterns = [
    path("quality/rules/", RuleListView.as_view(), name="quality-rules"),
    *router.urls,
]
