"""/api/v1/assessments/, /help-measures/ and /helper-visits/: fields and labels, computed
figures, filters, scoping, writes through the services (audited), refusals, masking and
query counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assessments import errors
from assessments.exit_cases import exit_case_propose
from assessments.models import Assessment, HelperVisit, HelpMeasure
from assessments.services import help_measure_add, helper_visit_add
from demo.loader import DAXI, JIANGHUA, LIAN, SHAOYANG_COUNTY, SHETIAN
from households.errors import DATE_IN_FUTURE
from households.models import Household
from households.services import household_pair_helper
from registry.api.errors import NOT_FOUND
from registry.models import AuditEntry
from tests.api.helpers import assert_error, body
from tests.factories import exit_through, make_assessed, make_household, member_data
from villages import services as village_services

URL = "/api/v1/assessments/"
MEASURES = "/api/v1/help-measures/"
VISITS = "/api/v1/helper-visits/"
READ_ONLY = ["prefecture_yongzhou", "province_hunan", "auditor_hunan", "api_hunan"]
INCOME = {
    "assessed_on": "2018-11-01",
    "wage_income": "12000",
    "operating_income": 3000,
    "operating_cost": "800.5",
    "transfers": {"dibao": "1200", "ecological": 300},
    "water_litres_per_person_day": 60,
    "water_fetch_minutes": 10,
}


@pytest.fixture
def api_for(api_for):
    """The shared token client, sending JSON (the only body these endpoints parse)."""

    def make(username: str):
        client = api_for(username)
        client.default_format = "json"
        return client

    return make


def audited(action: str, obj) -> bool:
    return AuditEntry.objects.filter(action=action, object_id=str(obj.pk)).exists()


def row(assessment) -> tuple:
    return Assessment.objects.values_list("version", "wage_income", "net_income", "per_capita_net_income").get(
        pk=assessment.pk
    )


@pytest.fixture
def registered(divisions):
    """A registered 栗安村 household of three, none assessed yet."""
    return make_household(village=divisions[LIAN], status="registered", persons=3)


@pytest.fixture
def assessed(divisions):
    """A 栗安村 household with its 2018 assessment (wages 20,000, three persons)."""
    return make_assessed(village=divisions[LIAN])[1]


@pytest.fixture
def shetian(divisions):
    return make_assessed(village=divisions[SHETIAN])[1]


# Fields, labels and computed figures ---------------------------------------------------


def test_recorded_assessment_has_computed_figures_money_strings_and_labels(api_for, users, registered):
    created = body(api_for("team_lian").post(URL, {"household": registered.pk, "year": 2018, **INCOME}), 201)
    listed = body(api_for("county_jianghua").get(URL, {"household": registered.pk}))["results"]
    assert listed == [created]
    assert (created["household"], created["registry_number"], created["head_name"]) == (
        registered.pk,
        registered.registry_number,
        "户主",
    )
    assert (created["village"], created["village_name"], created["county_code"]) == (LIAN, "栗安村", "431129")
    assert (created["year"], created["assessed_on"], created["assessed_by"]) == (2018, "2018-11-01", "team_lian")
    assert (created["wage_income"], created["operating_income"], created["operating_cost"]) == (
        "12000.00",
        "3000.00",
        "800.50",
    )
    assert created["property_income"] == "0.00"
    assert created["transfers"] == {"dibao": "1200.00", "ecological": "300.00"}
    assert created["transfers_display"] == {"dibao": "低保金", "ecological": "生态补偿金"}
    # 12000 + 3000 − 800.50 + 0 + 1500 = 15699.50 over three persons.
    assert (created["transfer_income"], created["net_income"], created["household_size"]) == (
        "1500.00",
        "15699.50",
        3,
    )
    assert created["per_capita_net_income"] == "5233.17"
    assert (created["food_secure"], created["water_litres_per_person_day"], created["water_fetch_minutes"]) == (
        True,
        60,
        10,
    )
    assert (created["education_exempt_members"], created["version"]) == ([], 1)
    stored = Assessment.objects.get(pk=created["id"])
    assert (stored.household_id, stored.year, stored.assessed_by) == (registered.pk, 2018, users["team_lian"])
    assert audited("assessment.create", stored)


def test_detail_and_unknown_ids(api_for, assessed):
    detail = body(api_for("township_daxi").get(f"{URL}{assessed.pk}/"))
    assert (detail["id"], detail["wage_income"], detail["per_capita_net_income"]) == (
        assessed.pk,
        "20000.00",
        "6666.67",
    )
    for path in ("abc", "999999999", "99999999999999999999", "-1"):
        assert_error(api_for("admin").get(f"{URL}{path}/"), 404, "not_found")


# Filters -------------------------------------------------------------------------------


def test_filters(api_for, divisions, assessed, shetian):
    client = api_for("admin")
    later = make_assessed(village=divisions[LIAN], year=2019)[1]

    def found(**params):
        return {r["id"] for r in body(client.get(URL, {"page_size": 500, **params}))["results"]}

    assert found(year=2019) == {later.pk}
    assert found(village=LIAN) == {assessed.pk, later.pk}
    assert found(within=DAXI) == found(within=JIANGHUA) == {assessed.pk, later.pk}
    assert found(within=SHAOYANG_COUNTY) == {shetian.pk}
    assert found(household=assessed.household_id) == {assessed.pk}
    assert found(q=assessed.household.registry_number) == {assessed.pk}
    assert found(updated_since=(timezone.now() + timedelta(hours=1)).isoformat()) == set()
    assert shetian.pk in found(updated_since="2000-01-01T00:00:00Z")


@pytest.mark.parametrize("params", [{"year": "abc"}, {"household": "x"}, {"updated_since": "yesterday"}])
def test_bad_filter_is_a_structured_400(api_for, params):
    assert_error(api_for("admin").get(URL, params), 400, "invalid")


# Scoping -------------------------------------------------------------------------------


def test_another_county_gets_404_and_never_sees_it(api_for, assessed):
    client = api_for("county_shaoyang")
    assert_error(client.get(f"{URL}{assessed.pk}/"), 404, "not_found")
    assert assessed.pk not in [r["id"] for r in body(client.get(URL, {"page_size": 500}))["results"]]
    assert body(client.get(URL, {"village": LIAN}))["results"] == []
    before = row(assessed)
    assert_error(client.patch(f"{URL}{assessed.pk}/", {"version": 1, "wage_income": "1"}), 404, "not_found")
    assert row(assessed) == before


def test_household_outside_the_scope_is_a_400(api_for, registered):
    error = assert_error(
        api_for("county_shaoyang").post(URL, {"household": registered.pk, "year": 2018, **INCOME}), 400, "invalid"
    )
    assert error["fields"] == {"household": [str(NOT_FOUND)]}
    assert not Assessment.objects.filter(household=registered).exists()


# Refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("username", READ_ONLY)
def test_read_only_roles_get_403_on_every_write(api_for, registered, assessed, username):
    client = api_for(username)
    before, audits = row(assessed), AuditEntry.objects.count()
    assert_error(client.post(URL, {"household": registered.pk, "year": 2018}), 403, "permission_denied")
    assert_error(client.patch(f"{URL}{assessed.pk}/", {"version": 1, "wage_income": "1"}), 403, "permission_denied")
    measure = {"household": registered.pk, "category": "industry", "five_batches": "production"}
    assert_error(client.post(MEASURES, {**measure, "measure_date": "2018-04-10"}), 403, "permission_denied")
    assert_error(client.post(VISITS, {"household": registered.pk, "visited_on": "2018-06-02"}), 403)
    assert (row(assessed), AuditEntry.objects.count()) == (before, audits)
    assert not Assessment.objects.filter(household=registered).exists()
    assert not HelpMeasure.objects.exists() and not HelperVisit.objects.exists()


def test_a_second_assessment_for_the_year_is_a_409(api_for, assessed):
    before = row(assessed)
    error = assert_error(
        api_for("team_lian").post(URL, {"household": assessed.household_id, "year": 2018, "wage_income": "1"}),
        409,
        "conflict",
    )
    assert "year" in error["fields"] and "PATCH" in error["message"]
    assert row(assessed) == before


def test_only_registered_households_are_assessed(api_for, divisions):
    applied = make_household(village=divisions[LIAN], status="applied")
    error = assert_error(api_for("team_lian").post(URL, {"household": applied.pk, "year": 2018}), 409, "conflict")
    assert error["message"] == str(errors.NOT_ASSESSABLE % {"status": "申请"})


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"wage_income": "-1"}, "wage_income"),
        ({"wage_income": "abc"}, "wage_income"),
        ({"wage_income": "12345678901.00"}, "wage_income"),
        ({"transfers": {"bogus": "1"}}, "transfers.bogus"),
        ({"transfers": {"dibao": "-5"}}, "transfers"),
        ({"transfers": ["dibao"]}, "transfers"),
        ({"assessed_on": "2999-01-01"}, "assessed_on"),
        ({"year": 2013}, "year"),
        ({"year": date.today().year + 1}, "year"),
        ({"year": None}, "year"),
        ({"household": None}, "household"),
        ({"household": 99999999999999999999}, "household"),
        ({"per_capita_net_income": "9999"}, "per_capita_net_income"),
        ({"household_size": 1}, "household_size"),
        ({"education_exempt_members": [999999999]}, "education_exempt_members"),
        ({"water_fetch_minutes": -3}, "water_fetch_minutes"),
    ],
)
def test_bad_input_is_a_structured_400(api_for, registered, data, field):
    payload = {"household": registered.pk, "year": 2018, **INCOME, **data}
    error = assert_error(api_for("team_lian").post(URL, payload), 400, "invalid")
    assert any(key == field or key.startswith(f"{field}.") for key in error["fields"]), error
    assert not Assessment.objects.filter(household=registered).exists()


def test_non_json_body_is_a_4xx(api_for, registered):
    response = api_for("team_lian").post(URL, "household=1", content_type="application/x-www-form-urlencoded")
    assert_error(response, 415)
    assert_error(api_for("team_lian").post(URL, "[1, 2]", content_type="application/json"), 400, "invalid")


# Corrections ---------------------------------------------------------------------------


def test_patch_recomputes_and_is_audited(api_for, assessed):
    corrected = body(
        api_for("team_lian").patch(
            f"{URL}{assessed.pk}/", {"version": 1, "wage_income": "9000", "transfers": {"pension": "1500"}}
        )
    )
    assert (corrected["wage_income"], corrected["transfers"], corrected["transfer_income"]) == (
        "9000.00",
        {"pension": "1500.00"},
        "1500.00",
    )
    assert (corrected["net_income"], corrected["per_capita_net_income"], corrected["version"]) == (
        "10500.00",
        "3500.00",
        2,
    )
    assert row(assessed) == (2, 9000, 10500, 3500)
    entry = AuditEntry.objects.filter(action="assessment.update", object_id=str(assessed.pk)).get()
    assert entry.before["wage_income"] == "20000.00" and entry.after["wage_income"] == "9000.00"


def test_stale_version_is_a_409_and_changes_nothing(api_for, assessed):
    client = api_for("team_lian")
    body(client.patch(f"{URL}{assessed.pk}/", {"version": 1, "notes": "补充"}))
    before = row(assessed)
    error = assert_error(client.patch(f"{URL}{assessed.pk}/", {"version": 1, "wage_income": "1"}), 409, "conflict")
    assert "当前版本 2" in error["message"]
    assert row(assessed) == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"wage_income": "1"}, "version"),
        ({"version": 1, "year": 2019}, "year"),
        ({"version": 1, "household": 1}, "household"),
    ],
)
def test_patch_needs_a_version_and_keeps_household_and_year(api_for, assessed, data, field):
    before = row(assessed)
    error = assert_error(api_for("team_lian").patch(f"{URL}{assessed.pk}/", data), 400, "invalid")
    assert field in error["fields"]
    assert row(assessed) == before


def test_assessment_a_certified_exit_relies_on_is_locked(api_for, users, assessed):
    case = exit_case_propose(
        actor=users["team_lian"], household=assessed.household, year=2018, on_date=date.today() - timedelta(days=21)
    )
    exit_through(case, users)
    before = row(assessed)
    error = assert_error(
        api_for("team_lian").patch(f"{URL}{assessed.pk}/", {"version": 1, "wage_income": "1"}), 409, "locked"
    )
    assert error["message"] == str(errors.ASSESSMENT_LOCKED % {"year": 2018})
    assert row(assessed) == before


# Help measures -------------------------------------------------------------------------


def test_help_measure_is_recorded_and_listed(api_for, users, registered):
    data = {
        "household": registered.pk,
        "category": "industry",
        "five_batches": "production",
        "measure_date": "2018-04-10",
        "amount": "2000",
        "fund_source": "财政专项扶贫资金",
        "responsible_unit": "县农业农村局",
        "description": "发放油茶苗 200 株",
    }
    created = body(api_for("team_lian").post(MEASURES, data), 201)
    assert (created["category"], created["category_display"]) == ("industry", "产业扶贫")
    assert (created["five_batches"], created["five_batches_display"]) == ("production", "发展生产脱贫一批")
    assert (created["amount"], created["recorded_by"], created["village_name"]) == ("2000.00", "team_lian", "栗安村")
    measure = HelpMeasure.objects.get(pk=created["id"])
    assert (measure.household, measure.recorded_by, measure.amount) == (registered, users["team_lian"], 2000)
    assert audited("help_measure.create", measure)
    client = api_for("county_jianghua")
    assert [r["id"] for r in body(client.get(MEASURES, {"category": "industry"}))["results"]] == [measure.pk]
    assert body(client.get(MEASURES, {"category": "health"}))["results"] == []
    assert len(body(client.get(MEASURES, {"five_batches": "production", "year": 2018}))["results"]) == 1
    assert body(api_for("county_shaoyang").get(MEASURES))["results"] == []
    assert_error(client.get(MEASURES, {"category": "bogus"}), 400, "invalid")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"category": "bogus"}, "category"),
        ({"five_batches": None}, "five_batches"),
        ({"measure_date": "soon"}, "measure_date"),
        ({"amount": "-1"}, "amount"),
        ({"description": "长" * 201}, "description"),
        ({"recorded_by": 1}, "recorded_by"),
    ],
)
def test_bad_help_measure_is_a_400(api_for, registered, data, field):
    payload = {
        "household": registered.pk,
        "category": "industry",
        "five_batches": "production",
        "measure_date": "2018-04-10",
        **data,
    }
    error = assert_error(api_for("team_lian").post(MEASURES, payload), 400, "invalid")
    assert field in error["fields"], error
    assert not HelpMeasure.objects.exists()


# Helper visits -------------------------------------------------------------------------


@pytest.fixture
def helper(users, divisions):
    return village_services.helper_create(
        actor=users["county_jianghua"],
        division=divisions[LIAN],
        name="李晓东",
        unit="县农业农村局",
        phone="13974214321",
        id_number=member_data(birth="19700101")["id_number"],
    )


def test_helper_visit_records_the_paired_helper_masked(api_for, users, registered, helper):
    household_pair_helper(actor=users["team_lian"], household=registered, helper=helper)
    created = body(
        api_for("team_lian").post(VISITS, {"household": registered.pk, "visited_on": "2018-06-02", "note": "走访"}),
        201,
    )
    assert (created["helper"]["id"], created["helper"]["name"], created["helper"]["phone"]) == (
        helper.pk,
        "李晓东",
        "1397***4321",
    )
    assert (created["visited_on"], created["note"], created["recorded_by"]) == ("2018-06-02", "走访", "team_lian")
    visit = HelperVisit.objects.get(pk=created["id"])
    assert (visit.helper, visit.recorded_by) == (helper, users["team_lian"])
    assert audited("helper_visit.create", visit)
    client = api_for("township_daxi")
    assert [r["id"] for r in body(client.get(VISITS, {"helper": helper.pk}))["results"]] == [visit.pk]
    assert body(client.get(VISITS, {"year": 2017}))["results"] == []
    assert body(api_for("county_shaoyang").get(VISITS))["results"] == []


def test_bad_helper_visit_is_a_400(api_for, registered):
    client = api_for("team_lian")
    error = assert_error(client.post(VISITS, {"household": registered.pk, "visited_on": "2999-01-01"}), 400)
    assert error["fields"] == {"visited_on": [str(DATE_IN_FUTURE)]}
    error = assert_error(client.post(VISITS, {"household": registered.pk}), 400, "invalid")
    assert "visited_on" in error["fields"]
    error = assert_error(client.post(VISITS, {"household": registered.pk, "visited_on": "2018-06-02", "x": 1}), 400)
    assert "x" in error["fields"]
    assert not HelperVisit.objects.exists()


# Query counts --------------------------------------------------------------------------


def count_queries(client, path, params) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
    assert response.status_code == 200
    return len(queries), len(response.json()["results"])


@pytest.mark.parametrize("username", ["admin", "county_jianghua", "team_lian"])
@pytest.mark.parametrize("path", [URL, MEASURES, VISITS])
def test_list_query_count_does_not_grow_with_page_size(api_for, users, divisions, helper, username, path):
    for year in (2017, 2018):
        for _ in range(2):
            household, _assessment = make_assessed(village=divisions[LIAN], year=year)
            household_pair_helper(actor=None, household=household, helper=helper)
            household = Household.objects.get(pk=household.pk)
            help_measure_add(
                actor=None,
                household=household,
                data={"category": "health", "five_batches": "social_security", "measure_date": date(year, 5, 1)},
            )
            helper_visit_add(actor=users["team_lian"], household=household, visited_on=date(year, 6, 1))
    client = api_for(username)
    small, small_rows = count_queries(client, path, {"page_size": 2})
    large, large_rows = count_queries(client, path, {"page_size": 20})
    assert (small_rows, large_rows) == (2, 4)
    assert small == large
    assert large <= 6


def test_schema_documents_the_computed_figures_as_read_only(client, db):
    schemas = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    output = schemas["Assessment"]["properties"]
    for name in ("transfer_income", "net_income", "per_capita_net_income", "household_size"):
        assert output[name]["readOnly"] is True
        assert name not in schemas["AssessmentCreateRequest"]["properties"]
        assert name not in schemas["PatchedAssessmentUpdateRequest"]["properties"]
    assert set(schemas["TransfersRequest"]["properties"]) == {
        "dibao",
        "tekun",
        "pension",
        "ecological",
        "family_planning",
        "relief",
        "remittance",
        "other",
    }
    assert schemas["MeasureCategoryEnum"]["enum"][0] == "industry"
    assert schemas["FiveBatchesEnum"]["enum"][-1] == "social_security"
