"""Pages of village exit, county exit and reduction plans, in the ``assessments`` namespace."""

from django.urls import path

from assessments import area_views as views

urlpatterns = [
    path("village-exits/", views.village_exit_list, name="village_exits"),
    path("village-exits/propose/", views.village_exit_propose, name="village_exit_choose"),
    path("village-exits/propose/<str:code>/", views.village_exit_propose, name="village_exit_propose"),
    path("village-exits/<int:pk>/", views.village_exit_view, name="village_exit"),
    path("village-exits/<int:pk>/steps/<slug:action>/", views.village_exit_step, name="village_exit_step"),
    path("village-exits/<int:pk>/resubmit/", views.village_exit_resubmit, name="village_exit_resubmit"),
    path(
        "village-exits/<int:pk>/objections/",
        views.objection_raise,
        {"kind": "village"},
        name="village_exit_objection_raise",
    ),
    path(
        "village-exits/<int:pk>/objections/<int:objection_pk>/resolve/",
        views.objection_resolve,
        {"kind": "village"},
        name="village_exit_objection_resolve",
    ),
    path("county-exits/", views.county_exit_list, name="county_exits"),
    path("county-exits/apply/", views.county_exit_apply, name="county_exit_apply"),
    path("county-exits/<int:pk>/", views.county_exit_view, name="county_exit"),
    path("county-exits/<int:pk>/steps/<slug:action>/", views.county_exit_step, name="county_exit_step"),
    path("county-exits/<int:pk>/resubmit/", views.county_exit_resubmit, name="county_exit_resubmit"),
    path("county-exits/<int:pk>/sample/", views.county_exit_sample, name="county_exit_sample"),
    path("county-exits/<int:pk>/evaluate/", views.county_exit_evaluate, name="county_exit_evaluate"),
    path(
        "county-exits/<int:pk>/households/<int:row_pk>/visit/",
        views.household_visit,
        name="county_exit_household_visit",
    ),
    path("county-exits/<int:pk>/villages/<int:row_pk>/visit/", views.village_visit, name="county_exit_village_visit"),
    path(
        "county-exits/<int:pk>/objections/",
        views.objection_raise,
        {"kind": "county"},
        name="county_exit_objection_raise",
    ),
    path(
        "county-exits/<int:pk>/objections/<int:objection_pk>/resolve/",
        views.objection_resolve,
        {"kind": "county"},
        name="county_exit_objection_resolve",
    ),
    path("plans/", views.plan_list, name="plans"),
    path("plans/<str:county>/<int:year>/", views.plan_view, name="plan"),
]
