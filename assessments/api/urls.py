from django.urls import include, path
from rest_framework.routers import SimpleRouter

from assessments.api.views import (
    AssessmentViewSet,
    ExitCaseViewSet,
    ExitObjectionViewSet,
    HelperVisitViewSet,
    HelpMeasureViewSet,
)

router = SimpleRouter()
router.register("assessments", AssessmentViewSet, basename="assessment")
router.register("help-measures", HelpMeasureViewSet, basename="help-measure")
router.register("helper-visits", HelperVisitViewSet, basename="helper-visit")
router.register("exit-cases", ExitCaseViewSet, basename="exit-case")
router.register("exit-objections", ExitObjectionViewSet, basename="exit-objection")

urlpatterns = [
    # A file name, so no trailing slash; <str:pk> so that a malformed id is the API's own 404.
    path(
        "exit-cases/<str:pk>/certificate.pdf",
        ExitCaseViewSet.as_view({"get": "certificate"}, detail=True),
        name="exit-case-certificate",
    ),
    *router.urls,
    path("", include("assessments.api.area_urls")),
    path("", include("assessments.api.monitoring_urls")),
]
