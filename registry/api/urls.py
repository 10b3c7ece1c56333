from django.urls import include, path

from registry.api.views import TokenObtainView

app_name = "api"

urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="token"),
    path("", include("villages.api.urls")),
    path("", include("households.api.urls")),
    path("", include("assessments.api.urls")),
]
