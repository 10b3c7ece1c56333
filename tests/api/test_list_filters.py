"""Every list endpoint takes the filters a provincial system syncs with.

``within`` (a division code, descendants included) and ``q`` on every list;
``updated_since`` wherever the rows have an update time (help measures: the time they
were recorded, as they are never changed). First from the filtersets the views declare,
then against rows of every kind.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import resolve
from django.utils import timezone

from assessments.area_exits import county_exit_apply, village_exit_propose
from assessments.exit_cases import exit_case_propose
from assessments.plans import reduction_plan_create
from assessments.services import help_measure_add, helper_visit_add
from demo.loader import DAXI, JIANGHUA, LIAN, SHAOYANG_COUNTY
from tests.api.helpers import assert_error, body
from tests.api.test_monitoring_api import exited, raise_flag
from tests.assessments.test_county_exit import CHENZHOU, setup_guidong
from tests.assessments.test_village_exit import CHECKLIST
from tests.factories import make_assessed
from tests.pages.test_area_exits import poverty_village

YONGZHOU = "431100000000"
API = "/api/v1/"
#: A well-formed code that names no division: ``within`` it is nothing, never an error.
NO_DIVISION = "431129999999"

#: Lists whose rows have no update time, so no ``updated_since`` (their model has none).
NO_UPDATE_TIME = {"divisions", "counties", "villages", "helper-visits"}
LISTS = [
    "divisions",
    "counties",
    "villages",
    "work-teams",
    "households",
    "members",
    "assessments",
    "help-measures",
    "helper-visits",
    "exit-cases",
    "village-exit-cases",
    "county-exit-cases",
    "plans",
    "monitoring-flags",
]


def filterset_of(name: str):
    return resolve(f"{API}{name}/").func.cls.filterset_class


@pytest.mark.parametrize("name", LISTS)
def test_every_list_declares_within_q_and_updated_since(name):
    filters = filterset_of(name).base_filters
    assert {"within", "q"} <= set(filters), name
    assert ("updated_since" in filters) == (name not in NO_UPDATE_TIME), name
    model = filterset_of(name)._meta.model
    has_update_time = any(f.name in ("updated_at", "created_at") for f in model._meta.concrete_fields)
    assert has_update_time == (name not in NO_UPDATE_TIME), name


# Rows of every kind --------------------------------------------------------------------


def _household_rows(users, divisions, kind):
    household, _assessment = make_assessed(village=divisions[LIAN])
    if kind == "exit-cases":
        exit_case_propose(actor=users["team_lian"], household=household, year=2018)
    elif kind == "help-measures":
        data = {"category": "health", "five_batches": "social_security", "measure_date": date(2018, 5, 1)}
        help_measure_add(actor=users["team_lian"], household=household, data=data)
    elif kind == "helper-visits":
        helper_visit_add(actor=users["team_lian"], household=household, visited_on=date(2018, 6, 1))
    elif kind == "members":
        return "户主"  # members are searched by name or ID number
    return household.registry_number


def _flag(users, divisions):
    from assessments.parameters import parameter_set

    parameter_set(actor=None, key="transition_years", value=date.today().year - 2018, scope_code="430000000000")
    household = exited(users, divisions)
    raise_flag(users, household)
    return household.registry_number


def _village_case(users, divisions):
    village = poverty_village(divisions)
    village_exit_propose(actor=users["township_daxi"], village=village, year=2019, checklist=CHECKLIST)
    return "石枧"


def _county_case(users, divisions):
    guidong = setup_guidong(users, divisions)
    county_exit_apply(actor=guidong.people["county_guidong"], county=guidong.county, year=2017)
    return "桂东"


def _plan(users, divisions):
    guidong = setup_guidong(users, divisions)
    reduction_plan_create(
        actor=guidong.people["county_guidong"], county=guidong.county, year=2017, persons_to_exit=5,
        villages_to_exit=1,
    )  # fmt: skip
    return "桂东"


#: name → (build the rows, returning a search that finds them; a division they lie in; one they do not)
ROWS = {
    "divisions": (lambda users, divisions: "栗安", DAXI, SHAOYANG_COUNTY),
    "counties": (lambda users, divisions: "江华", YONGZHOU, SHAOYANG_COUNTY),
    "villages": (lambda users, divisions: "栗安", DAXI, SHAOYANG_COUNTY),
    "work-teams": (lambda users, divisions: "栗安", DAXI, SHAOYANG_COUNTY),
    "households": (lambda users, divisions: _household_rows(users, divisions, "households"), DAXI, SHAOYANG_COUNTY),
    "members": (lambda users, divisions: _household_rows(users, divisions, "members"), DAXI, SHAOYANG_COUNTY),
    "assessments": (lambda users, divisions: _household_rows(users, divisions, "assessments"), DAXI, SHAOYANG_COUNTY),
    "help-measures": (lambda u, d: _household_rows(u, d, "help-measures"), DAXI, SHAOYANG_COUNTY),
    "helper-visits": (lambda u, d: _household_rows(u, d, "helper-visits"), DAXI, SHAOYANG_COUNTY),
    "exit-cases": (lambda u, d: _household_rows(u, d, "exit-cases"), DAXI, SHAOYANG_COUNTY),
    "village-exit-cases": (_village_case, DAXI, SHAOYANG_COUNTY),
    "county-exit-cases": (_county_case, CHENZHOU, YONGZHOU),
    "plans": (_plan, CHENZHOU, YONGZHOU),
    "monitoring-flags": (_flag, DAXI, SHAOYANG_COUNTY),
}


def found(client, name, **params) -> int:
    return len(body(client.get(f"{API}{name}/", {"page_size": 500, **params}))["results"])


@pytest.mark.parametrize("name", LISTS)
def test_every_list_filters_by_within_q_and_updated_since(api_for, users, divisions, name):
    build, inside, outside = ROWS[name]
    search = build(users, divisions)
    client = api_for("province_hunan")
    assert found(client, name, within=inside) >= 1, name
    assert found(client, name, within=inside, q=search) >= 1, name
    assert found(client, name, within=inside, q="查无此名") == 0, name
    assert found(client, name, within=outside, q=search) == 0, name
    assert found(client, name, within=NO_DIVISION) == 0, name
    if name in NO_UPDATE_TIME:
        return
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert found(client, name, within=inside, updated_since=future) == 0, name
    assert found(client, name, within=inside, updated_since="2000-01-01T00:00:00+08:00") >= 1, name
    assert_error(client.get(f"{API}{name}/", {"updated_since": "yesterday"}), 400, "invalid")


def test_within_a_division_includes_every_level_below(api_for, users, divisions):
    """A county, its township and its village all hold a row of 栗安村."""
    number = _household_rows(users, divisions, "assessments")
    client = api_for("province_hunan")
    for code in (JIANGHUA, DAXI, LIAN):
        assert found(client, "assessments", within=code, q=number) == 1
        assert found(client, "households", within=code, q=number) == 1
