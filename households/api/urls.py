from django.urls import path
from rest_framework.routers import SimpleRouter

from households.api.export import HouseholdCsvExportView, HouseholdExportView
from households.api.views import HouseholdViewSet, MemberViewSet, ObjectionViewSet

router = SimpleRouter()
router.register("households", HouseholdViewSet, basename="household")
router.register("members", MemberViewSet, basename="member")
router.register("objections", ObjectionViewSet, basename="objection")

urlpatterns = [
    path("export/households.ndjson", HouseholdExportView.as_view(), name="export-households-ndjson"),
    path("export/households.csv", HouseholdCsvExportView.as_view(), name="export-households-csv"),
    *router.urls,
]
