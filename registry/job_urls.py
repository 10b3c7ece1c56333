from django.urls import path

from registry import job_views

app_name = "jobs"

urlpatterns = [
    path("", job_views.job_list, name="list"),
    path("<int:job_id>/", job_views.job_detail, name="detail"),
    path("<int:job_id>/download/", job_views.job_download, name="download"),
]
