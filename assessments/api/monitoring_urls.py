from rest_framework.routers import SimpleRouter

from assessments.api.monitoring_views import MonitoringFlagViewSet

router = SimpleRouter()
router.register("monitoring-flags", MonitoringFlagViewSet, basename="monitoring-flag")
urlpatterns = router.urls
