from django.urls import include, path

from registry.api.feed import ChangeFeedView
from registry.api.views import TokenObtainView

app_name = "api"

urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="token"),
    path("changes/", ChangeFeedView.as_view(), name="changes"),
    path("", include("villages.api.urls")),
    path("", include("households.api.urls")),
    path("", include("assessments.api.urls")),
    path("", include("quality.api.urls")),
    path("", include("dashboards.api.urls")),
]
