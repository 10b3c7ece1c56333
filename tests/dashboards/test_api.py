"""``GET /api/v1/statistics/{code}/``: the dashboard's figures for machine clients."""

from __future__ import annotations

import pytest

from dashboards import selectors
from demo.loader import JIANGHUA, LIAN
from registry.models import User
from tests.api.helpers import assert_documented, assert_error, body
from villages.models import Division

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_registry_package")]

PATH = "/api/v1/statistics/{code}/"


@pytest.mark.parametrize("code", [LIAN, JIANGHUA, "430000000000"])
def test_the_figures_are_the_dashboards(api_for, code):
    response = api_for("api_hunan").get(f"/api/v1/statistics/{code}/", {"year": 2018})
    data = body(response)
    assert_documented(response, PATH)
    admin = User.objects.get(username="admin")
    board = selectors.dashboard(user=admin, division=Division.objects.get(pk=code), year=2018)
    assert data["statistics"]["registered"] == {
        "households": board.statistics.registered.households,
        "persons": board.statistics.registered.persons,
    }
    assert data["statistics"]["poor"]["persons"] == board.statistics.incidence.poor_persons
    assert [a["code"] for a in data["areas"]] == [a.division.code for a in board.areas]
    assert data["plan"]["persons_exited"] == board.plan.persons_exited
    assert [y["exited_households"] for y in data["years"]] == [y.exited_households for y in board.years]
    assert data["quality"]["open"] == board.quality.open


def test_outside_the_jurisdiction_is_not_found(api_for):
    assert_error(api_for("team_lian").get(f"/api/v1/statistics/{JIANGHUA}/"), 404, "not_found")


@pytest.mark.parametrize("year", ["abc", "2013", "3000"])
def test_a_bad_year_is_refused(api_for, year):
    error = assert_error(api_for("county_jianghua").get(f"/api/v1/statistics/{JIANGHUA}/", {"year": year}), 400)
    assert "year" in error["fields"]


def test_the_query_count_is_fixed(api_for, django_assert_max_num_queries):
    client = api_for("api_hunan")
    client.get(f"/api/v1/statistics/{LIAN}/")
    for code in (LIAN, JIANGHUA, "430000000000"):
        with django_assert_max_num_queries(40):
            assert client.get(f"/api/v1/statistics/{code}/").status_code == 200
