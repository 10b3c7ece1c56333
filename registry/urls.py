"""Root URL configuration."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from assessments import views as assessment_views
from dashboards import views as dashboard_views
from registry.admin_base import scoped_view_on_site
from registry.api.views import ApiDocsView
from registry.forms import LoginForm

urlpatterns = [
    path("", dashboard_views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("divisions/", include("villages.urls")),
    path("households/", include("households.urls")),
    path("households/", include("households.transfer_urls")),
    path("assessments/", include("assessments.urls")),
    path("audit/", include("registry.audit_urls")),
    path("quality/", include("quality.urls")),
    path("dashboard/", include("dashboards.urls")),
    path("jobs/", include("registry.job_urls")),
    path("verify/", assessment_views.verify, name="verify"),
    path("verify/<str:code>/", assessment_views.verify_code, name="verify_code"),
    # Ahead of the admin's own "view on site" redirect, which does not respect the scope.
    path("admin/r/<int:content_type_id>/<path:object_id>/", admin.site.admin_view(scoped_view_on_site)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("registry.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="schema"), name="api-docs"),
]

handler404 = "registry.views.not_found"
