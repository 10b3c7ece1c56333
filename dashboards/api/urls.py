from django.urls import path

from dashboards.api.views import StatisticsView

urlpatterns = [path("statistics/<str:code>/", StatisticsView.as_view(), name="statistics")]
