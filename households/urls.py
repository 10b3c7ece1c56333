from django.urls import path

from households import views

app_name = "households"

urlpatterns = [
    path("", views.household_list, name="list"),
    path("new/", views.household_create, name="create"),
    path("access-log/", views.access_log, name="access_log"),
    path("<int:pk>/", views.household_detail, name="detail"),
    path("<int:pk>/edit/", views.household_edit, name="edit"),
    path("<int:pk>/reveal/", views.household_reveal, name="reveal"),
    path("<int:pk>/transition/<slug:action>/", views.household_transition_view, name="transition"),
    path("<int:pk>/objections/", views.objection_raise, name="objection_raise"),
    path("<int:pk>/objections/<int:objection_pk>/resolve/", views.objection_resolve, name="objection_resolve"),
    path("<int:pk>/helper/", views.helper_pair, name="helper_pair"),
    path("<int:pk>/members/new/", views.member_add, name="member_add"),
    path("<int:pk>/members/<int:member_pk>/edit/", views.member_edit, name="member_edit"),
    path("<int:pk>/members/<int:member_pk>/leave/", views.member_leave, name="member_leave"),
]
