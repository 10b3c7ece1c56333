"""GET /api/v1/divisions/: list, detail, filters, poverty status, incidence and scoping."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from demo.loader import DAXI, GUIDONG, HEZE_COUNTIES, JIANGHUA, JINCHENGSHI, LIAN, SHAOYANG_COUNTY, SHETIAN
from households.choices import HouseholdStatus
from tests.api.helpers import assert_error
from tests.factories import make_household

URL = "/api/v1/divisions/"
HUNAN = "430000000000"
YONGZHOU = "431100000000"
SHAOYANG_CITY = "430500000000"
SHANDONG = "370000000000"
HEZE = "371700000000"
MUDAN = "371702000000"

HUNAN_USERS = [
    "team_lian",
    "township_daxi",
    "county_jianghua",
    "county_shaoyang",
    "prefecture_yongzhou",
    "province_hunan",
    "auditor_hunan",
    "api_hunan",
]

#: username → the codes of this set it can see; the others are 404 to it.
PROBE = [LIAN, DAXI, JIANGHUA, YONGZHOU, HUNAN, SHETIAN, SHAOYANG_COUNTY, GUIDONG, MUDAN, SHANDONG]
REACH = {
    "team_lian": {LIAN},
    "township_daxi": {LIAN, DAXI},
    "county_jianghua": {LIAN, DAXI, JIANGHUA},
    "county_shaoyang": {SHETIAN, SHAOYANG_COUNTY},
    "prefecture_yongzhou": {LIAN, DAXI, JIANGHUA, YONGZHOU},
    "province_hunan": {LIAN, DAXI, JIANGHUA, YONGZHOU, HUNAN, SHETIAN, SHAOYANG_COUNTY, GUIDONG},
    "auditor_hunan": {LIAN, DAXI, JIANGHUA, YONGZHOU, HUNAN, SHETIAN, SHAOYANG_COUNTY, GUIDONG},
    "api_hunan": {LIAN, DAXI, JIANGHUA, YONGZHOU, HUNAN, SHETIAN, SHAOYANG_COUNTY, GUIDONG},
    "admin": set(PROBE),
}


def codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["code"] for row in response.json()["results"]]


def all_codes(client, **params) -> set[str]:
    """Return every code of a list, following the pages."""
    response = client.get(URL, {"page_size": 500, **params})
    body = response.json()
    assert body["next"] is None, "more than one page: raise page_size"
    return set(codes(response))


# List and detail -----------------------------------------------------------------------


def test_list_is_cursor_paginated_and_ordered_by_code(api_for):
    client = api_for("admin")
    first = client.get(URL, {"page_size": 5}).json()
    assert set(first) == {"next", "previous", "results"}
    assert len(first["results"]) == 5 and first["previous"] is None
    assert "cursor=" in first["next"] and "page_size=5" in first["next"]
    second = client.get(first["next"]).json()
    codes = [r["code"] for r in first["results"] + second["results"]]
    assert codes == sorted(codes) and len(set(codes)) == 10


def test_list_rows_carry_level_parent_and_poverty_status(api_for):
    rows = {r["code"]: r for r in api_for("admin").get(URL, {"within": JIANGHUA, "page_size": 500}).json()["results"]}
    county = rows[JIANGHUA]
    assert (county["name"], county["level"], county["level_label"], county["parent"]) == (
        "江华瑶族自治县",
        "county",
        "县/市/区",
        YONGZHOU,
    )
    assert county["county_status"]["poverty_type"] == "national_key"
    assert county["county_status"]["poverty_type_label"] == "国家扶贫开发工作重点县"
    assert county["county_status"]["planned_exit_year"] == 2019
    assert county["county_status"]["exit_status"] == "not_exited"
    assert county["village_status"] is None
    village = rows[LIAN]
    assert village["county_status"] is None
    assert village["village_status"] == {
        "is_poverty_village": True,
        "identified_year": 2014,
        "deep_poverty": False,
        "rural_population": 689,
        "rural_households": 170,
        "exit_status": "exited",
        "exit_status_label": "已出列",
        "exit_year": 2018,
    }
    assert rows[DAXI]["county_status"] is None and rows[DAXI]["village_status"] is None


def test_detail_of_a_deep_poverty_village(api_for):
    body = api_for("county_shaoyang").get(f"{URL}{SHETIAN}/").json()
    assert (body["code"], body["name"], body["parent"]) == (SHETIAN, "社田村", JINCHENGSHI)
    assert body["village_status"]["deep_poverty"] is True
    assert body["village_status"]["exit_status"] == "not_exited"
    assert body["village_status"]["exit_year"] is None


def test_detail_incidence_counts_registered_poor_persons(api_for, divisions):
    make_household(village=divisions[LIAN], status=HouseholdStatus.REGISTERED, persons=3)
    make_household(village=divisions[LIAN], status=HouseholdStatus.EXITED, persons=4)
    incidence = api_for("county_jianghua").get(f"{URL}{LIAN}/").json()["incidence"]
    # 3 registered poor persons of 689 rural residents: 0.435 % → 0.44 %, below the 2 % line.
    assert incidence == {
        "poor_persons": 3,
        "rural_population": 689,
        "rate": "0.44",
        "threshold": "2.00",
        "below_threshold": True,
    }


def test_detail_incidence_of_a_county_uses_its_own_population(api_for, divisions):
    make_household(village=divisions[LIAN], status=HouseholdStatus.RETURNED, persons=2)
    incidence = api_for("county_jianghua").get(f"{URL}{JIANGHUA}/").json()["incidence"]
    assert (incidence["poor_persons"], incidence["rural_population"]) == (2, 421000)
    assert (incidence["rate"], incidence["threshold"], incidence["below_threshold"]) == ("0.00", "2.00", True)


def test_detail_incidence_is_unknown_without_population(api_for):
    incidence = api_for("province_hunan").get(f"{URL}{GUIDONG}/").json()["incidence"]
    assert incidence["rural_population"] is None
    assert incidence["rate"] is None and incidence["below_threshold"] is None


def test_list_rows_have_no_incidence(api_for):
    rows = api_for("admin").get(URL, {"page_size": 3}).json()["results"]
    assert all("incidence" not in row for row in rows)


# Filters -------------------------------------------------------------------------------


def test_filter_level_and_within(api_for):
    found = all_codes(api_for("admin"), level="county", within=YONGZHOU)
    assert JIANGHUA in found and len(found) > 5
    assert all(code.startswith("4311") and code.endswith("000000") and code != YONGZHOU for code in found)


def test_within_includes_every_level_below(api_for):
    assert all_codes(api_for("admin"), within=DAXI) == {DAXI, LIAN}
    assert {JIANGHUA, DAXI, LIAN} <= all_codes(api_for("admin"), within=JIANGHUA)


def test_filter_parent_gives_the_direct_children_only(api_for):
    assert codes(api_for("admin").get(URL, {"parent": DAXI})) == [LIAN]
    counties = all_codes(api_for("admin"), parent=HEZE)
    assert counties >= set(HEZE_COUNTIES)
    assert all(code[:4] == "3717" and code != HEZE for code in counties)


def test_filter_q_matches_name_or_code_prefix(api_for):
    client = api_for("admin")
    assert codes(client.get(URL, {"q": "栗安"})) == [LIAN]
    assert codes(client.get(URL, {"q": "4305231"})) == [JINCHENGSHI, SHETIAN]
    assert codes(client.get(URL, {"q": "  "}))  # blank search is no filter


def test_filter_poverty_village(api_for):
    assert all_codes(api_for("admin"), poverty_village="true") == {LIAN, SHETIAN}
    assert all_codes(api_for("county_jianghua"), poverty_village="true") == {LIAN}
    not_poor = all_codes(api_for("admin"), poverty_village="false")
    assert LIAN not in not_poor and SHETIAN not in not_poor


def test_filter_poverty_county(api_for):
    assert all_codes(api_for("admin"), poverty_county="true", within=HEZE) == set(HEZE_COUNTIES)
    assert JIANGHUA not in all_codes(api_for("admin"), poverty_county="false", within=YONGZHOU)


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"level": "bogus"}, 400, "level"),
        ({"cursor": "abc"}, 400, "cursor"),
        ({"cursor": "bz14"}, 400, "cursor"),
        ({"cursor": "cj14"}, 400, "cursor"),
    ],
)
def test_bad_filter_input_is_a_structured_4xx(api_for, params, status, field):
    error = assert_error(api_for("admin").get(URL, params), status)
    if field:
        assert error["code"] == "invalid" and field in error["fields"]


@pytest.mark.parametrize(
    "params",
    [
        {"within": "abc"},
        {"within": "9" * 40},
        {"parent": "x" * 40},
        {"q": "%_\\'\""},
        {"page_size": "abc"},
        {"page_size": "0"},
        {"poverty_village": "maybe"},
    ],
)
def test_odd_filter_values_never_fail(api_for, params):
    assert api_for("admin").get(URL, params).status_code == 200


@pytest.mark.parametrize("path", ["abc", "4311", "4311290000001", "000000000000"])
def test_malformed_or_unknown_codes_are_a_structured_404(api_for, path):
    assert_error(api_for("admin").get(f"{URL}{path}/"), 404, "not_found")


# Scoping -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [SHAOYANG_COUNTY, SHETIAN, JINCHENGSHI, SHAOYANG_CITY])
def test_county_gets_a_structured_404_outside_its_county(api_for, code):
    error = assert_error(api_for("county_jianghua").get(f"{URL}{code}/"), 404, "not_found")
    assert "社田" not in error["message"] and "邵阳" not in error["message"]


def test_county_list_holds_nothing_of_another_county(api_for):
    client = api_for("county_jianghua")
    found = all_codes(client)
    assert found == all_codes(api_for("admin"), within=JIANGHUA)
    assert not [c for c in found if c.startswith("430523")]
    assert all_codes(client, within=SHAOYANG_COUNTY) == set()
    assert all_codes(client, parent=JINCHENGSHI) == set()
    assert all_codes(client, q="社田") == set()
    assert "社田" not in client.get(URL, {"page_size": 500}).content.decode()


@pytest.mark.parametrize(("username", "visible"), REACH.items())
def test_every_roles_reach(api_for, username, visible):
    client = api_for(username)
    for code in PROBE:
        status = client.get(f"{URL}{code}/").status_code
        assert status == (200 if code in visible else 404), (username, code, status)
    listed = all_codes(client, level="village")
    assert listed & {LIAN, SHETIAN} == visible & {LIAN, SHETIAN}


@pytest.mark.parametrize("username", HUNAN_USERS)
def test_shandong_is_invisible_to_every_hunan_user(api_for, username):
    client = api_for(username)
    assert all_codes(client, within=SHANDONG) == set()
    assert all_codes(client, q="37") == set()
    assert all(not code.startswith("37") for code in all_codes(client))
    assert client.get(f"{URL}{MUDAN}/").status_code == 404


def test_admin_sees_both_provinces(api_for):
    assert all_codes(api_for("admin"), level="province") >= {HUNAN, SHANDONG}
    assert all_codes(api_for("admin"), within=HEZE) >= {HEZE, *HEZE_COUNTIES}


def test_user_without_jurisdiction_sees_nothing(api_for, users):
    users["county_jianghua"].jurisdictions.clear()
    client = api_for("county_jianghua")
    assert all_codes(client) == set()
    assert client.get(f"{URL}{JIANGHUA}/").status_code == 404


# Query counts --------------------------------------------------------------------------


def count_queries(client, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, params)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("username", ["admin", "province_hunan"])
def test_list_query_count_does_not_grow_with_page_size(api_for, username):
    client = api_for(username)
    small = count_queries(client, {"page_size": 5})
    large = count_queries(client, {"page_size": 50})
    assert len(client.get(URL, {"page_size": 50}).json()["results"]) == 50
    assert small == large
    assert large <= 5


def test_detail_query_count_is_bounded(api_for, django_assert_max_num_queries):
    client = api_for("county_jianghua")
    with django_assert_max_num_queries(10):
        assert client.get(f"{URL}{JIANGHUA}/").status_code == 200
