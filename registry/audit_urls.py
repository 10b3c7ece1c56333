from django.urls import path

from registry import audit_views

app_name = "audit"

urlpatterns = [
    path("", audit_views.audit_log, name="log"),
    path("object/<int:content_type_id>/<str:object_id>/", audit_views.audit_object, name="object"),
    path("user/<str:username>/", audit_views.audit_user, name="user"),
]
