"""The jurisdiction scope: one mechanism, every role's reach."""

import pytest

from registry.scoping import Scope, prefix_bounds, scope_queryset, user_scope
from villages.models import Division, WorkTeam

LIAN = "431129203201"
SHETIAN = "430523104201"
DAXI = "431129203000"
JIANGHUA = "431129000000"
SHAOYANG = "430523000000"
GUIDONG = "431027000000"
MUDAN = "371702000000"

#: username → codes it must see (True) or not (False).
REACH = {
    "team_lian": {LIAN: True, DAXI: False, SHETIAN: False, JIANGHUA: False, MUDAN: False},
    "township_daxi": {LIAN: True, DAXI: True, JIANGHUA: False, SHETIAN: False, MUDAN: False},
    "county_jianghua": {LIAN: True, DAXI: True, JIANGHUA: True, SHAOYANG: False, SHETIAN: False, GUIDONG: False},
    "county_shaoyang": {SHETIAN: True, SHAOYANG: True, LIAN: False, JIANGHUA: False},
    "prefecture_yongzhou": {LIAN: True, JIANGHUA: True, SHAOYANG: False, GUIDONG: False, MUDAN: False},
    "province_hunan": {LIAN: True, SHETIAN: True, GUIDONG: True, MUDAN: False},
    "auditor_hunan": {LIAN: True, SHETIAN: True, MUDAN: False},
    "api_hunan": {LIAN: True, SHETIAN: True, MUDAN: False},
    "admin": {LIAN: True, SHETIAN: True, MUDAN: True},
}


def test_prefix_bounds_cover_exactly_the_subtree():
    assert prefix_bounds("431129") == ("431129000000", "431129999999")
    assert prefix_bounds("43", 6) == ("430000", "439999")


@pytest.mark.parametrize(("username", "expected"), REACH.items())
def test_every_role_sees_its_subtree_only(users, username, expected):
    visible = set(
        scope_queryset(Division.objects.filter(pk__in=expected), users[username]).values_list("pk", flat=True)
    )
    assert visible == {code for code, seen in expected.items() if seen}


def test_scope_follows_paths_through_relations(users):
    teams = scope_queryset(WorkTeam.objects.all(), users["county_jianghua"])
    assert set(teams.values_list("village_id", flat=True)) == {LIAN}
    assert scope_queryset(WorkTeam.objects.all(), users["county_shaoyang"]).get().village_id == SHETIAN


def test_redundant_prefixes_collapse(users, divisions):
    user = users["county_jianghua"]
    user.jurisdictions.add(divisions[LIAN], divisions["430000000000"])
    user._registry_scope = None
    assert user_scope(user) == Scope(unrestricted=False, prefixes=("43",))


def test_unbound_inactive_and_anonymous_see_nothing(users):
    from django.contrib.auth.models import AnonymousUser

    inactive = users["county_jianghua"]
    inactive.is_active = False
    assert scope_queryset(Division.objects.all(), inactive).count() == 0
    assert scope_queryset(Division.objects.all(), AnonymousUser()).count() == 0
    unbound = users["team_lian"]
    unbound.jurisdictions.clear()
    unbound._registry_scope = None
    assert scope_queryset(Division.objects.all(), unbound).count() == 0


def test_household_scope_also_filters_the_county_code(users):
    from households.models import Household

    sql = str(scope_queryset(Household.objects.all(), users["county_jianghua"]).query)
    assert "county_code" in sql and "village_id" in sql
