"""Pages of the monitoring against return to poverty (防止返贫监测), in the ``assessments`` namespace."""

from django.urls import path

from assessments import monitoring_views as views

urlpatterns = [
    path("", views.flag_list, name="monitoring_flags"),
    path("<int:pk>/", views.flag_view, name="monitoring_flag"),
    path("<int:pk>/steps/<slug:action>/", views.flag_step, name="monitoring_flag_step"),
    path("<int:pk>/return-to-poverty/", views.flag_return, name="monitoring_flag_return"),
    path("raise/", views.flag_raise_choose, name="monitoring_raise_choose"),
    path("raise/<int:household_pk>/", views.flag_raise, name="monitoring_raise"),
]
