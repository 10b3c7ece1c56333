from django.urls import path

from villages import views

app_name = "villages"

urlpatterns = [
    path("", views.division_index, name="division_index"),
    path("<str:code>/", views.division_detail, name="division_detail"),
]
