"""GET /api/v1/counties/ and /api/v1/villages/: poverty status, statistics, filters, scoping, queries."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from demo.loader import (
    DAXI,
    GUIDONG,
    HEZE_COUNTIES,
    JIANGHUA,
    JINCHENGSHI,
    LIAN,
    LONGXI,
    SHAOYANG_COUNTY,
    SHETIAN,
)
from households.choices import HouseholdStatus, IdentificationStep, MemberStatus, Relationship
from households.models import Household
from households.services import member_leave
from households.workflow import household_transition
from tests.api.helpers import assert_error, body
from tests.factories import make_applied, make_household, make_township, make_village
from villages import services
from villages.models import CountyStatus, Division, VillageStatus

COUNTIES = "/api/v1/counties/"
VILLAGES = "/api/v1/villages/"
HUNAN = "430000000000"
YONGZHOU = "431100000000"
HEZE = "371700000000"
MUDAN = "371702000000"
XIANGXI = "433100000000"
TALLIES = ("registered", "poor", "exited", "returned", "removed", "natural_decrease")


def codes(response) -> list[str]:
    return [row["code"] for row in body(response)["results"]]


def all_codes(client, url, **params) -> list[str]:
    response = client.get(url, {"page_size": 500, **params})
    assert body(response)["next"] is None, "more than one page: raise page_size"
    return codes(response)


def rows(client, url, **params) -> dict[str, dict]:
    return {row["code"]: row for row in body(client.get(url, {"page_size": 500, **params}))["results"]}


@pytest.fixture
def registry(users, divisions):
    """Households of every kind in 栗安村, another village of 大锡乡 and 社田村, through the services."""
    county, township = users["county_jianghua"], users["township_daxi"]
    lian = divisions[LIAN]
    make_household(village=lian, status=HouseholdStatus.REGISTERED, persons=3)
    with_a_death = make_household(village=lian, status=HouseholdStatus.REGISTERED, persons=4)
    son = with_a_death.members.exclude(relationship=Relationship.HEAD).first()
    member_leave(actor=users["team_lian"], member=son, kind="death", event_date=date.today() - timedelta(days=3))
    make_household(village=lian, status=HouseholdStatus.EXITED, persons=5)
    make_household(village=lian, status=HouseholdStatus.EXITED, persons=2)
    make_household(village=lian, status=HouseholdStatus.RETURNED, persons=2)
    make_household(village=lian, status=HouseholdStatus.APPLIED, persons=6)  # not registered yet
    removed = make_household(village=lian, status=HouseholdStatus.REGISTERED, persons=3)
    household_transition(actor=county, household=removed, action="remove", reason="家庭成员有财政供养人员")
    gone = make_household(village=lian, status=HouseholdStatus.EXITED, persons=1)
    household_transition(actor=township, household=gone, action="natural_decrease", reason="deceased")
    never_registered = make_applied(village=lian, persons=2, on_date=date.today() - timedelta(days=5))
    household_transition(actor=township, household=never_registered, action="natural_decrease", reason="merged")
    other = make_village(parent=divisions[DAXI], number=71, name="石枧村")
    services.village_status_set(actor=None, village=other, is_poverty_village=True, rural_population=400)
    make_household(village=other, status=HouseholdStatus.REGISTERED, persons=4)
    make_household(village=other, status=HouseholdStatus.EXITED, persons=3)
    make_household(village=divisions[SHETIAN], status=HouseholdStatus.REGISTERED, persons=5)
    make_household(village=divisions[SHETIAN], status=HouseholdStatus.RETURNED, persons=1)
    make_household(village=divisions[SHETIAN], status=HouseholdStatus.EXITED, persons=3)
    return {"other": other}


def direct_statistics(code: str) -> dict:
    """Count the statistics of a division straight from its households, one by one."""
    division = Division.objects.get(pk=code)
    households = [h for h in Household.objects.prefetch_related("members") if h.village_id.startswith(division.prefix)]

    def tally(statuses, *, registered_before=False) -> dict:
        chosen = [
            h
            for h in households
            if h.status in statuses and (not registered_before or h.step == IdentificationStep.ANNOUNCED)
        ]
        persons = sum(1 for h in chosen for m in h.members.all() if m.status == MemberStatus.ACTIVE)
        return {"households": len(chosen), "persons": persons}

    s = HouseholdStatus
    return {
        "registered": tally({s.REGISTERED, s.RETURNED, s.EXITED}),
        "poor": tally({s.REGISTERED, s.RETURNED}),
        "exited": tally({s.EXITED}),
        "returned": tally({s.RETURNED}),
        "removed": tally({s.REMOVED}, registered_before=True),
        "natural_decrease": tally({s.NATURAL_DECREASE}, registered_before=True),
    }


def rate(poor: int, population: int) -> str:
    return str((Decimal(poor * 100) / Decimal(population)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


# Statistics ----------------------------------------------------------------------------


def test_village_statistics_are_what_the_registry_holds(api_for, registry):
    village = body(api_for("county_jianghua").get(f"{VILLAGES}{LIAN}/"))
    assert village["statistics"] == direct_statistics(LIAN)
    # Spelled out: 3 + 3 registered persons (a son died), 2 returned, 5 + 2 exited; one removed
    # household of 3; one registered household gone by natural decrease (the applicant that
    # merged away before registration is not counted).
    assert village["statistics"] == {
        "registered": {"households": 5, "persons": 15},
        "poor": {"households": 3, "persons": 8},
        "exited": {"households": 2, "persons": 7},
        "returned": {"households": 1, "persons": 2},
        "removed": {"households": 1, "persons": 3},
        "natural_decrease": {"households": 1, "persons": 1},
    }
    assert village["incidence"] == {
        "poor_persons": 8,
        "rural_population": 689,
        "rate": rate(8, 689),
        "threshold": "2.00",
        "below_threshold": True,
    }


def test_village_row_carries_the_division_and_its_poverty_status(api_for, registry):
    village = rows(api_for("county_shaoyang"), VILLAGES)[SHETIAN]
    assert {k: village[k] for k in ("code", "name", "level", "level_label", "parent", "parent_name")} == {
        "code": SHETIAN,
        "name": "社田村",
        "level": "village",
        "level_label": "村/社区",
        "parent": JINCHENGSHI,
        "parent_name": "金称市镇",
    }
    assert (village["county_code"], village["county_name"]) == ("430523", "邵阳县")
    assert village["village_status"] == {
        "is_poverty_village": True,
        "identified_year": 2014,
        "deep_poverty": True,
        "rural_population": 3260,
        "rural_households": 862,
        "exit_status": "not_exited",
        "exit_status_label": "未出列",
        "exit_year": None,
    }
    assert village["statistics"] == direct_statistics(SHETIAN)
    assert village["statistics"]["poor"] == {"households": 2, "persons": 6}
    assert village["incidence"]["rate"] == rate(6, 3260)


def test_county_statistics_sum_its_villages(api_for, registry):
    county = body(api_for("county_jianghua").get(f"{COUNTIES}{JIANGHUA}/"))
    assert county["statistics"] == direct_statistics(JIANGHUA)
    assert county["statistics"]["registered"] == {"households": 7, "persons": 22}
    assert county["statistics"]["poor"] == {"households": 4, "persons": 12}
    # 江华县 has its own rural population (421,000): 12 poor persons are 0.00 %.
    assert county["incidence"] == {
        "poor_persons": 12,
        "rural_population": 421000,
        "rate": "0.00",
        "threshold": "2.00",
        "below_threshold": True,
    }


def test_county_row_carries_the_division_and_its_poverty_status(api_for, registry):
    county = body(api_for("county_shaoyang").get(f"{COUNTIES}{SHAOYANG_COUNTY}/"))
    assert (county["code"], county["name"], county["level"], county["parent"], county["parent_name"]) == (
        SHAOYANG_COUNTY,
        "邵阳县",
        "county",
        "430500000000",
        "邵阳市",
    )
    assert county["county_status"] == {
        "poverty_type": "national_key",
        "poverty_type_label": "国家扶贫开发工作重点县",
        "deep_poverty": False,
        "region_class": "central_east",
        "region_class_label": "中东部",
        "rural_population": None,
        "planned_exit_year": 2019,
        "exit_status": "not_exited",
        "exit_status_label": "未摘帽",
        "exit_year": None,
    }
    assert county["statistics"] == direct_statistics(SHAOYANG_COUNTY)
    # Without its own figure, 邵阳县's population is the sum over its villages (社田村's 3,260).
    assert (county["incidence"]["rural_population"], county["incidence"]["rate"]) == (3260, rate(6, 3260))


def test_list_rows_agree_with_the_detail(api_for, registry):
    client = api_for("province_hunan")
    listed = rows(client, VILLAGES)
    for code in (LIAN, SHETIAN, registry["other"].code):
        assert listed[code] == body(client.get(f"{VILLAGES}{code}/"))
    counties = rows(client, COUNTIES, within=YONGZHOU)
    assert counties[JIANGHUA] == body(client.get(f"{COUNTIES}{JIANGHUA}/"))


def test_empty_areas_count_zero_and_rates_need_a_population(api_for, divisions):
    guidong = body(api_for("province_hunan").get(f"{COUNTIES}{GUIDONG}/"))
    assert all(guidong["statistics"][name] == {"households": 0, "persons": 0} for name in TALLIES)
    assert guidong["incidence"]["rural_population"] is None and guidong["incidence"]["rate"] is None
    assert guidong["county_status"]["poverty_type"] == "contiguous"
    plain = Division.objects.filter(level="county", code__startswith="43", county_status__isnull=True).first()
    row = body(api_for("province_hunan").get(f"{COUNTIES}{plain.code}/"))
    assert row["county_status"] is None and row["incidence"]["threshold"] == "2.00"


def test_a_west_county_uses_the_west_threshold(api_for):
    county = next(iter(rows(api_for("province_hunan"), COUNTIES, within=XIANGXI).values()))
    assert county["county_status"]["region_class"] == "west"
    assert county["incidence"]["threshold"] == "3.00"


def test_a_province_threshold_overrides_the_national_one(api_for, users):
    from assessments.parameters import parameter_set

    parameter_set(
        actor=users["province_hunan"], key="incidence_threshold", qualifier="central_east",
        scope_code=HUNAN, value="1.5",
    )  # fmt: skip
    assert body(api_for("county_jianghua").get(f"{VILLAGES}{LIAN}/"))["incidence"]["threshold"] == "1.50"
    assert body(api_for("admin").get(f"{COUNTIES}{MUDAN}/"))["incidence"]["threshold"] == "2.00"


# Filters -------------------------------------------------------------------------------


def test_county_filters(api_for, users, divisions):
    services.county_exit_record(actor=None, county=divisions[GUIDONG], year=2017)
    services.county_status_set(actor=None, county=divisions[SHAOYANG_COUNTY], deep_poverty=True)
    client = api_for("province_hunan")
    hunan = set(all_codes(client, COUNTIES))
    assert {JIANGHUA, SHAOYANG_COUNTY, GUIDONG} <= hunan and all(c.startswith("43") for c in hunan)
    assert all_codes(client, COUNTIES, q="江华") == [JIANGHUA]
    assert set(all_codes(client, COUNTIES, q="4311")) == set(all_codes(client, COUNTIES, within=YONGZHOU))
    assert JIANGHUA in all_codes(client, COUNTIES, within=YONGZHOU)
    assert all_codes(client, COUNTIES, within=DAXI) == []
    poverty = set(all_codes(client, COUNTIES, poverty="true"))
    assert {JIANGHUA, SHAOYANG_COUNTY, GUIDONG} <= poverty
    statuses = CountyStatus.objects.filter(county__code__startswith="43").exclude(poverty_type="none")
    assert poverty == set(statuses.values_list("county_id", flat=True))
    assert set(all_codes(client, COUNTIES, poverty="false")) == hunan - poverty
    assert all_codes(client, COUNTIES, deep_poverty="true") == [SHAOYANG_COUNTY]
    assert SHAOYANG_COUNTY not in all_codes(client, COUNTIES, deep_poverty="false")
    assert all_codes(client, COUNTIES, exit_status="exited") == [GUIDONG]
    assert all_codes(client, COUNTIES, exit_year=2017) == [GUIDONG]
    assert all_codes(client, COUNTIES, exit_year=2018) == []
    assert GUIDONG not in all_codes(client, COUNTIES, exit_status="not_exited")
    assert all_codes(client, COUNTIES, planned_exit_year=2019) == [SHAOYANG_COUNTY, JIANGHUA]
    assert set(all_codes(api_for("admin"), COUNTIES, poverty="true", within=HEZE)) == set(HEZE_COUNTIES)


def test_village_filters(api_for, registry, divisions):
    plain = make_village(parent=divisions[DAXI], number=72, name="普通村")
    listed = make_village(parent=divisions[DAXI], number=73, name="非贫困村")
    services.village_status_set(actor=None, village=listed, is_poverty_village=False, rural_population=500)
    other = registry["other"].code
    client = api_for("county_jianghua")
    assert all_codes(client, VILLAGES) == [LIAN, other, plain.code, listed.code]
    assert all_codes(client, VILLAGES, q="栗安") == [LIAN]
    assert all_codes(client, VILLAGES, q=LIAN) == [LIAN]
    assert all_codes(client, VILLAGES, within=DAXI) == [LIAN, other, plain.code, listed.code]
    assert all_codes(client, VILLAGES, within=LIAN) == [LIAN]
    assert all_codes(client, VILLAGES, poverty="true") == [LIAN, other]
    assert all_codes(client, VILLAGES, poverty="false") == [plain.code, listed.code]
    assert all_codes(client, VILLAGES, exit_status="exited") == [LIAN]
    assert all_codes(client, VILLAGES, exit_status="not_exited") == [other, listed.code]
    assert all_codes(client, VILLAGES, exit_year=2018) == [LIAN]
    assert all_codes(client, VILLAGES, deep_poverty="true") == []
    assert all_codes(client, VILLAGES, deep_poverty="false") == [LIAN, other, plain.code, listed.code]
    assert all_codes(api_for("admin"), VILLAGES, deep_poverty="true") == [SHETIAN]
    assert all_codes(api_for("admin"), VILLAGES, poverty="true", exit_status="not_exited") == [SHETIAN, other]


@pytest.mark.parametrize("url", [COUNTIES, VILLAGES])
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"exit_status": "bogus"}, "exit_status"),
        ({"exit_year": "abc"}, "exit_year"),
        ({"exit_year": "99999999999999999999"}, "exit_year"),
        ({"exit_year": "1800"}, "exit_year"),
        ({"cursor": "abc"}, "cursor"),
    ],
)
def test_bad_filter_values_are_a_structured_400(api_for, url, params, field):
    error = assert_error(api_for("province_hunan").get(url, params), 400, "invalid")
    assert field in error["fields"]


def test_bad_planned_exit_year_is_a_structured_400(api_for):
    error = assert_error(api_for("province_hunan").get(COUNTIES, {"planned_exit_year": "soon"}), 400, "invalid")
    assert "planned_exit_year" in error["fields"]


@pytest.mark.parametrize("url", [COUNTIES, VILLAGES])
@pytest.mark.parametrize(
    "params",
    [{"within": "abc"}, {"within": "9" * 40}, {"q": "%_\\'\""}, {"poverty": "maybe"}, {"page_size": "0"}, {"q": " "}],
)
def test_odd_filter_values_never_fail(api_for, url, params):
    assert api_for("province_hunan").get(url, params).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        f"{COUNTIES}abc/",
        f"{COUNTIES}4311/",
        f"{COUNTIES}000000000000/",
        f"{COUNTIES}{LIAN}/",  # a village is no county
        f"{COUNTIES}{YONGZHOU}/",
        f"{VILLAGES}{JIANGHUA}/",  # a county is no village
        f"{VILLAGES}{DAXI}/",
        f"{VILLAGES}431129203299/",
        f"{VILLAGES}43112920320/",
    ],
)
def test_unknown_or_malformed_codes_are_a_structured_404(api_for, path):
    assert_error(api_for("admin").get(path), 404, "not_found")


# Scoping -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "own_county", "own_village", "other_county", "other_village", "other_name"),
    [
        ("county_jianghua", JIANGHUA, LIAN, SHAOYANG_COUNTY, SHETIAN, "社田"),
        ("county_shaoyang", SHAOYANG_COUNTY, SHETIAN, JIANGHUA, LIAN, "栗安"),
    ],
)
def test_a_county_sees_its_own_and_nothing_of_the_other(
    api_for, registry, username, own_county, own_village, other_county, other_village, other_name
):
    client = api_for(username)
    assert all_codes(client, COUNTIES) == [own_county]
    assert own_village in all_codes(client, VILLAGES)
    assert body(client.get(f"{VILLAGES}{own_village}/"))["code"] == own_village
    for path in (f"{VILLAGES}{other_village}/", f"{COUNTIES}{other_county}/"):
        error = assert_error(client.get(path), 404, "not_found")
        assert other_name not in error["message"]
    assert all(code.startswith(own_county[:6]) for code in all_codes(client, VILLAGES))
    assert all_codes(client, VILLAGES, within=other_county) == []
    assert all_codes(client, VILLAGES, q=other_name) == []
    assert all_codes(client, VILLAGES, q=other_village) == []
    assert all_codes(client, COUNTIES, within=other_county) == []
    assert other_name not in client.get(VILLAGES, {"page_size": 500}).content.decode()


@pytest.mark.parametrize(
    ("username", "counties", "villages"),
    [
        ("team_lian", set(), {LIAN}),
        ("township_daxi", set(), {LIAN}),
        ("prefecture_yongzhou", {JIANGHUA}, {LIAN}),
        ("province_hunan", {JIANGHUA, SHAOYANG_COUNTY, GUIDONG}, {LIAN, SHETIAN, LONGXI}),
        ("api_hunan", {JIANGHUA, SHAOYANG_COUNTY, GUIDONG}, {LIAN, SHETIAN, LONGXI}),
        ("admin", {JIANGHUA, SHAOYANG_COUNTY, GUIDONG, MUDAN}, {LIAN, SHETIAN, LONGXI}),
    ],
)
def test_every_roles_reach(api_for, username, counties, villages):
    client = api_for(username)
    probe_counties = {JIANGHUA, SHAOYANG_COUNTY, GUIDONG, MUDAN}
    for code in probe_counties:
        assert client.get(f"{COUNTIES}{code}/").status_code == (200 if code in counties else 404), code
    for code in (LIAN, SHETIAN, LONGXI):
        assert client.get(f"{VILLAGES}{code}/").status_code == (200 if code in villages else 404), code
    assert set(all_codes(client, COUNTIES)) & probe_counties == counties
    assert set(all_codes(client, VILLAGES)) == villages


def test_user_without_jurisdiction_sees_nothing(api_for, users):
    users["county_jianghua"].jurisdictions.clear()
    client = api_for("county_jianghua")
    assert all_codes(client, COUNTIES) == [] and all_codes(client, VILLAGES) == []
    assert client.get(f"{VILLAGES}{LIAN}/").status_code == 404


def test_anonymous_caller_is_refused(client, db):
    for url in (COUNTIES, f"{VILLAGES}{LIAN}/"):
        assert_error(client.get(url), 401)


def test_pages_are_cursor_pages_ordered_by_code(api_for):
    client = api_for("province_hunan")
    first = body(client.get(COUNTIES, {"page_size": 7}))
    assert set(first) == {"next", "previous", "results"} and first["previous"] is None
    second = body(client.get(first["next"]))
    listed = [r["code"] for r in first["results"] + second["results"]]
    assert listed == sorted(listed) and len(set(listed)) == 14


# Query counts --------------------------------------------------------------------------


@pytest.fixture
def many_villages(divisions):
    """Twelve more villages of a new township of 江华县, each with a registered and an exited household."""
    township = make_township(county=divisions[JIANGHUA], number=42, name="测试乡")
    villages = []
    for n in range(1, 13):
        village = make_village(parent=township, number=n, name=f"测试{n}村")
        services.village_status_set(actor=None, village=village, is_poverty_village=True, rural_population=300 + n)
        make_household(village=village, status=HouseholdStatus.REGISTERED, persons=2)
        make_household(village=village, status=HouseholdStatus.EXITED, persons=1)
        villages.append(village)
    return villages


def count_queries(client, url, params) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    return len(queries), body(response)


@pytest.mark.parametrize(("username", "visible"), [("admin", 15), ("county_jianghua", 13)])
def test_village_list_query_count_does_not_grow_with_page_size(api_for, many_villages, username, visible):
    client = api_for(username)
    small, page = count_queries(client, VILLAGES, {"page_size": 2})
    large, full = count_queries(client, VILLAGES, {"page_size": visible})
    assert len(page["results"]) == 2 and len(full["results"]) == visible and full["next"] is None
    counted = {row["code"]: row["statistics"]["registered"] for row in full["results"]}
    assert all(counted[v.code] == {"households": 2, "persons": 3} for v in many_villages)
    assert small == large <= 10


@pytest.mark.parametrize("username", ["admin", "province_hunan"])
def test_county_list_query_count_does_not_grow_with_page_size(api_for, username):
    client = api_for(username)
    small, _page = count_queries(client, COUNTIES, {"page_size": 5})
    large, full = count_queries(client, COUNTIES, {"page_size": 500})
    assert len(full["results"]) > 100
    # A page of 500 spans Hunan's west (湘西) and central counties, and for the admin Shandong's.
    assert len({row["incidence"]["threshold"] for row in full["results"]}) == 2
    assert small == large <= 10


def test_detail_query_count_is_bounded(api_for, registry, django_assert_max_num_queries):
    client = api_for("county_jianghua")
    with django_assert_max_num_queries(10):
        assert client.get(f"{COUNTIES}{JIANGHUA}/").status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(f"{VILLAGES}{LIAN}/").status_code == 200


def test_villages_without_status_rows_are_listed_with_null_status(api_for, divisions):
    village = make_village(parent=divisions[DAXI], number=74, name="无状态村")
    assert not VillageStatus.objects.filter(pk=village.code).exists()
    row = body(api_for("township_daxi").get(f"{VILLAGES}{village.code}/"))
    assert row["village_status"] is None
    assert row["incidence"]["rural_population"] is None
    assert row["statistics"]["registered"] == {"households": 0, "persons": 0}
