from django.urls import path

from quality import views

app_name = "quality"

urlpatterns = [
    path("", views.quality_index, name="index"),
    path("jobs/<int:job_id>/", views.quality_job, name="job"),
    path("findings/<int:finding_id>/accept/", views.finding_accept, name="accept"),
    path("<str:code>/", views.quality_division, name="division"),
    path("<str:code>/run/", views.quality_run_start, name="run"),
]
