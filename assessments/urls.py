from django.urls import include, path

from assessments import views

app_name = "assessments"

urlpatterns = [
    path("", views.campaign, name="index"),
    path("campaign/<int:year>/", views.campaign, name="campaign"),
    path("campaign/<int:year>/<str:village>/", views.campaign_village, name="campaign_village"),
    path("households/<int:pk>/", views.household_assessments, name="household"),
    path("households/<int:pk>/<int:year>/", views.assessment_view, name="assessment"),
    path("households/<int:pk>/<int:year>/propose/", views.propose, name="propose"),
    path("cases/", views.exit_case_list, name="exit_cases"),
    path("cases/<int:pk>/", views.exit_case_view, name="exit_case"),
    path("cases/<int:pk>/steps/<slug:action>/", views.exit_case_step, name="exit_case_step"),
    path("cases/<int:pk>/objections/", views.objection_raise, name="objection_raise"),
    path("cases/<int:pk>/objections/<int:objection_pk>/resolve/", views.objection_resolve, name="objection_resolve"),
    path("cases/<int:pk>/certificate/", views.certificate, name="certificate"),
    path("queue/", views.queue, name="queue"),
    path("", include("assessments.area_urls")),
    path("monitoring/", include("assessments.monitoring_urls")),
]
