from django.urls import path

from dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.dashboard_home, name="home"),
    path("<str:code>/", views.dashboard_division, name="division"),
    path("<str:code>/report/", views.report_create, name="report"),
]
