"""/api/v1/village-exit-cases/, /county-exit-cases/ and /plans/: scoping, the procedures
through the API (state and audit), structured refusals, read-only roles, query counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assessments import area_exits as ax
from assessments.area_exits import county_exit_apply, village_exit_propose
from assessments.models import CountyExitCase, ReductionPlan, VillageExitCase, VillageExitStep
from assessments.plans import reduction_plan_create, reduction_plan_progress
from registry.models import AuditEntry
from tests.api.helpers import assert_error
from tests.assessments.test_county_exit import CHENZHOU, sampled, setup_guidong
from tests.assessments.test_village_exit import CHECKLIST
from tests.factories import make_village
from tests.pages.test_area_exits import poverty_village
from villages.services import village_status_set

DAXI = "431129203000"
SHAOYANG_COUNTY = "430523000000"
YONGZHOU = "431100000000"
VILLAGES = "/api/v1/village-exit-cases/"
COUNTIES = "/api/v1/county-exit-cases/"
PLANS = "/api/v1/plans/"


def ago(days: int) -> date:
    return date.today() - timedelta(days=days)


@pytest.fixture
def api_for(api_for):
    def make(username: str):
        client = api_for(username)
        client.default_format = "json"
        return client

    return make


@pytest.fixture
def village(divisions):
    return poverty_village(divisions)


@pytest.fixture
def proposed(users, village):
    return village_exit_propose(
        actor=users["township_daxi"], village=village, year=2019, checklist=CHECKLIST, on_date=ago(10)
    )


@pytest.fixture
def guidong(users, divisions):
    return setup_guidong(users, divisions)


@pytest.fixture
def applied(guidong):
    return county_exit_apply(actor=guidong.people["county_guidong"], county=guidong.county, year=2017, on_date=ago(10))


def audited(action: str, obj) -> bool:
    return AuditEntry.objects.filter(action=action, object_id=str(obj.pk)).exists()


# Village exit ------------------------------------------------------------------------------------------


def test_village_exit_through_the_api(api_for, village):
    township = api_for("township_daxi")
    data = {"village": village.code, "year": 2019, "checklist": CHECKLIST, "on_date": ago(10).isoformat()}
    response = township.post(VILLAGES, data)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["incidence"], body["threshold"], body["poor_persons"]) == (
        "proposed",
        "1.50",
        "2.00",
        6,
    )
    assert [c["passed"] for c in body["check_results"]] == [True] * 4
    assert body["checklist"][0]["label"] == "通硬化路" and body["steps"][0]["action"] == "propose"
    case = VillageExitCase.objects.get(pk=body["id"])
    assert audited("village_exit.propose", case)
    offered = township.get(f"{VILLAGES}{case.pk}/transitions/").json()
    assert [s["action"] for s in offered] == ["open_notice", "withdraw"]
    for action, username, days in [("open_notice", "township_daxi", 9), ("close_notice", "township_daxi", 1)]:
        response = api_for(username).post(
            f"{VILLAGES}{case.pk}/transitions/", {"action": action, "on_date": ago(days).isoformat()}
        )
        assert response.status_code == 200, response.content
    response = api_for("county_jianghua").post(f"{VILLAGES}{case.pk}/transitions/", {"action": "county_approve"})
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert audited("village_exit.county_approve", case)
    assert [s["action"] for s in response.json()["steps"]] == [
        "propose",
        "open_notice",
        "close_notice",
        "county_approve",
    ]


def test_village_exit_refusals_are_structured(api_for, village, proposed):
    township = api_for("township_daxi")
    failing = {**CHECKLIST, "hardened_road": {"met": False, "evidence": ""}}
    other = poverty_village_for_refusal(village)
    error = assert_error(township.post(VILLAGES, {"village": other.code, "year": 2019, "checklist": failing}), 409)
    assert error["code"] == "checks_failed" and error["fields"]["checks"] == ["通硬化路：未达标。"]
    error = assert_error(township.post(VILLAGES, {"village": village.code, "year": 2019, "checklist": CHECKLIST}), 409)
    assert error["code"] == "conflict"
    assert_error(township.post(VILLAGES, {"village": village.code, "checklist": CHECKLIST}), 400, "invalid")
    assert_error(township.post(VILLAGES, {"village": village.code, "year": 2019, "checklist": {"x": 1}}), 400)
    clients = {u: api_for(u) for u in ("county_jianghua", "auditor_hunan", "api_hunan", "team_lian")}
    counts = (VillageExitStep.objects.count(), AuditEntry.objects.count())
    url = f"{VILLAGES}{proposed.pk}/transitions/"
    assert_error(township.post(url, {"action": "county_approve"}), 409, "transition_not_allowed")
    assert_error(township.post(url, {"action": "withdraw"}), 400, "invalid")
    assert_error(township.post(url, {"action": "objection_return"}), 400, "invalid")
    for client in clients.values():
        assert_error(client.post(url, {"action": "open_notice"}), 403, "permission_denied")
    assert (VillageExitStep.objects.count(), AuditEntry.objects.count()) == counts
    assert VillageExitCase.objects.get(pk=proposed.pk).status == "proposed"


def poverty_village_for_refusal(village):
    other = make_village(parent=village.parent, number=8, name="另一村")
    village_status_set(actor=None, village=other, is_poverty_village=True, rural_population=300)
    return other


def test_another_county_gets_404_and_never_sees_the_village_case(api_for, proposed):
    client = api_for("county_shaoyang")
    assert_error(client.get(f"{VILLAGES}{proposed.pk}/"), 404, "not_found")
    assert_error(client.get(f"{VILLAGES}{proposed.pk}/transitions/"), 404, "not_found")
    assert_error(client.post(f"{VILLAGES}{proposed.pk}/transitions/", {"action": "withdraw", "reason": "x"}), 404)
    assert client.get(VILLAGES).json()["results"] == []
    assert [c["id"] for c in api_for("county_jianghua").get(VILLAGES).json()["results"]] == [proposed.pk]
    assert_error(api_for("county_jianghua").get(VILLAGES, {"status": "bogus"}), 400, "invalid")


# County exit -------------------------------------------------------------------------------------------


def test_county_exit_through_the_api(api_for, guidong):
    response = api_for("county_guidong").post(COUNTIES, {"county": guidong.county.code, "year": 2017})
    assert response.status_code == 201, response.content
    case = CountyExitCase.objects.get(pk=response.json()["id"])
    assert audited("county_exit.apply", case)
    url = f"{COUNTIES}{case.pk}/"
    assert (
        api_for("prefecture_chenzhou").post(f"{url}transitions/", {"action": "prefecture_approve"}).status_code == 200
    )
    province = api_for("province_hunan")
    offered = {s["action"]: s["endpoint"] for s in province.get(f"{url}transitions/").json()}
    assert offered == {"draw_sample": "sample/"}
    response = province.post(f"{url}sample/", {"households": 10, "villages": 2, "seed": 2017})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "verifying" and body["sample"]["seed"] == 2017
    assert len(body["sampled_households"]) == 10 and len(body["sampled_villages"]) == 2
    assert audited("county_exit.draw_sample", case)
    error = assert_error(province.post(f"{url}evaluate/", {}), 409, "visits_incomplete")
    assert error["message"] == "尚有 10 户、2 个村未登记核查记录，不能评估。"
    today = date.today().isoformat()
    for i, row in enumerate(body["sampled_households"]):
        visit = {"sampled_household": row["id"], "wrongly_exited": False, "approves": i < 9, "visited_on": today}
        response = province.post(f"{url}household-visits/", visit)
        assert response.status_code == 200 and response.json()["recorded_by"] == "province_hunan"
    for row in body["sampled_villages"]:
        missed = 10 if row["village_name"] == "甲村" else 20
        visit = {"sampled_village": row["id"], "missed_persons": missed, "visited_on": today}
        assert province.post(f"{url}village-visits/", visit).status_code == 200
    response = province.post(f"{url}evaluate/", {})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["wrong_exit_rate"], body["missed_rate"], body["approval_rate"]) == ("0.00", "2.00", "90.00")
    assert body["evaluation_passed"] is True and len(body["evaluation_checks"]) == 4
    assert audited("county_exit.evaluate", case)


def test_county_exit_refusals_are_structured(api_for, guidong, applied):
    url = f"{COUNTIES}{applied.pk}/"
    c = {u: api_for(u) for u in ("county_guidong", "auditor_hunan", "province_hunan", "prefecture_chenzhou")}
    counts = AuditEntry.objects.count()
    assert_error(c["county_guidong"].post(f"{url}transitions/", {"action": "prefecture_approve"}), 403)
    assert_error(c["auditor_hunan"].post(f"{url}sample/", {"households": 1, "villages": 1}), 403)
    assert_error(c["province_hunan"].post(f"{url}sample/", {"households": 1, "villages": 1}), 409)
    assert_error(c["prefecture_chenzhou"].post(f"{url}transitions/", {"action": "draw_sample"}), 400)
    assert_error(c["county_guidong"].post(COUNTIES, {"county": guidong.county.code, "year": 2017}), 409, "conflict")
    assert AuditEntry.objects.count() == counts
    case = sampled(applied, guidong.people, households=2, villages=1, seed=3)
    row = case.sampled_villages.get()
    visit = {"sampled_village": row.pk, "missed_persons": row.unregistered_population + 1, "visited_on": date.today()}
    error = assert_error(api_for("province_hunan").post(f"{url}village-visits/", visit), 400, "invalid")
    assert "missed_persons" in error["fields"]
    visit = {"sampled_household": 10**9, "wrongly_exited": False, "approves": True, "visited_on": date.today()}
    error = assert_error(api_for("province_hunan").post(f"{url}household-visits/", visit), 400, "invalid")
    assert "sampled_household" in error["fields"]
    size = {"households": 1, "villages": 1}
    assert_error(api_for("province_hunan").post(f"{url}sample/", {**size, "seed": -1}), 400, "invalid")


def test_another_county_gets_404_on_the_county_case(api_for, applied):
    assert_error(api_for("county_jianghua").get(f"{COUNTIES}{applied.pk}/"), 404, "not_found")
    assert api_for("county_shaoyang").get(COUNTIES).json()["results"] == []
    assert len(api_for("province_hunan").get(COUNTIES).json()["results"]) == 1


# Plans -------------------------------------------------------------------------------------------------


def test_plans_through_the_api(api_for, guidong):
    client = api_for("county_guidong")
    data = {
        "county": guidong.county.code,
        "year": 2017,
        "persons_to_exit": 12,
        "villages_to_exit": 1,
        "county_exits": True,
    }
    response = client.post(PLANS, data)
    assert response.status_code == 201, response.content
    body = response.json()
    plan = ReductionPlan.objects.get(pk=body["id"])
    assert audited("reduction_plan.create", plan)
    assert body["progress"]["persons_exited"] == 0 and body["progress"]["county_exit_done"] is False
    response = client.patch(f"{PLANS}{plan.pk}/", {"persons_to_exit": 20})
    assert response.status_code == 200 and response.json()["persons_to_exit"] == 20
    assert audited("reduction_plan.update", plan)
    assert_error(client.post(PLANS, data), 409, "conflict")
    assert_error(client.patch(f"{PLANS}{plan.pk}/", {"county": "x"}), 400, "invalid")
    for username in ("auditor_hunan", "api_hunan"):
        assert_error(api_for(username).patch(f"{PLANS}{plan.pk}/", {"persons_to_exit": 1}), 403, "permission_denied")
    assert_error(api_for("prefecture_chenzhou").post(PLANS, {**data, "year": 2018}), 403, "permission_denied")
    assert_error(api_for("county_jianghua").get(f"{PLANS}{plan.pk}/"), 404, "not_found")
    assert api_for("province_hunan").get(f"{PLANS}{plan.pk}/").json()["progress"]["persons_percent"] == "0.0"


def test_list_progress_matches_the_service(api_for, guidong):
    plan = reduction_plan_create(
        actor=guidong.people["county_guidong"], county=guidong.county, year=2017, persons_to_exit=4, villages_to_exit=1
    )
    listed = api_for("province_hunan").get(PLANS).json()["results"][0]["progress"]
    progress = reduction_plan_progress(plan=plan)
    assert listed["persons_exited"] == progress.persons_exited
    assert listed["villages_exited"] == progress.villages_exited
    assert listed["county_exit_year"] == progress.county_exit_year


# Filters -----------------------------------------------------------------------------------------------


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_village_case_filters(api_for, users, divisions, proposed):
    other = poverty_village(divisions, number=8, name="平地村")
    noticed = village_exit_propose(actor=users["township_daxi"], village=other, year=2019, checklist=CHECKLIST)
    noticed = ax.village_exit_transition(actor=users["township_daxi"], case=noticed, action="open_notice")
    VillageExitCase.objects.filter(pk=proposed.pk).update(updated_at=timezone.now() - timedelta(days=30))
    client = api_for("county_jianghua")
    assert ids(client.get(VILLAGES, {"status": "in_notice"})) == [noticed.pk]
    assert ids(client.get(VILLAGES, {"status": ["in_notice", "proposed"]})) == [proposed.pk, noticed.pk]
    assert ids(client.get(VILLAGES, {"year": 2019})) == [proposed.pk, noticed.pk]
    assert ids(client.get(VILLAGES, {"year": 2018})) == []
    assert ids(client.get(VILLAGES, {"q": "平地"})) == [noticed.pk]
    assert ids(client.get(VILLAGES, {"q": other.code[:11]})) == [proposed.pk, noticed.pk]
    assert ids(client.get(VILLAGES, {"within": other.code})) == [noticed.pk]
    assert ids(client.get(VILLAGES, {"within": DAXI})) == [proposed.pk, noticed.pk]
    assert ids(api_for("province_hunan").get(VILLAGES, {"within": SHAOYANG_COUNTY})) == []
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(client.get(VILLAGES, {"updated_since": since})) == [noticed.pk]


def test_county_case_and_plan_filters(api_for, guidong, applied):
    reduction_plan_create(
        actor=guidong.people["county_guidong"], county=guidong.county, year=2017, persons_to_exit=4, villages_to_exit=1
    )
    plan = reduction_plan_create(
        actor=guidong.people["county_guidong"], county=guidong.county, year=2018, persons_to_exit=2, villages_to_exit=0
    )
    client = api_for("province_hunan")
    for params, expected in [
        ({"status": "applied"}, [applied.pk]),
        ({"status": "approved"}, []),
        ({"year": 2017, "q": "桂东"}, [applied.pk]),
        ({"q": "江华"}, []),
        ({"within": CHENZHOU}, [applied.pk]),
        ({"within": YONGZHOU}, []),
        ({"updated_since": (timezone.now() + timedelta(hours=1)).isoformat()}, []),
    ]:
        assert ids(client.get(COUNTIES, params)) == expected, params
    assert len(ids(client.get(PLANS, {"within": CHENZHOU, "q": "431027"}))) == 2
    assert ids(client.get(PLANS, {"year": 2018})) == [plan.pk]
    assert ids(client.get(PLANS, {"within": YONGZHOU})) == []
    assert ids(client.get(PLANS, {"updated_since": (timezone.now() + timedelta(hours=1)).isoformat()})) == []


@pytest.mark.parametrize("url", [VILLAGES, COUNTIES, PLANS])
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"year": "abc"}, "year"),
        ({"year": "99999"}, "year"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"cursor": "abc"}, "cursor"),
    ],
)
def test_bad_filter_values_are_a_structured_400(api_for, url, params, field):
    error = assert_error(api_for("province_hunan").get(url, params), 400, "invalid")
    assert field in error["fields"]


@pytest.mark.parametrize("url", [VILLAGES, COUNTIES])
def test_bad_status_is_a_structured_400(api_for, url):
    error = assert_error(api_for("province_hunan").get(url, {"status": "bogus"}), 400, "invalid")
    assert "status" in error["fields"]


# Query counts ------------------------------------------------------------------------------------------


def _counts(client, url) -> list[tuple[int, int]]:
    counts = []
    for size in (1, 20):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"page_size": size})
        assert response.status_code == 200
        counts.append((len(queries), len(response.json()["results"])))
    return counts


def test_list_query_counts_do_not_grow_with_page_size(api_for, users, divisions, guidong):
    for number in (7, 8, 9):
        village = poverty_village(divisions, number=number, name=f"村{number}")
        case = village_exit_propose(actor=users["township_daxi"], village=village, year=2019, checklist=CHECKLIST)
        ax.village_exit_transition(actor=users["township_daxi"], case=case, action="open_notice")
    for year in (2017, 2018, 2019):
        reduction_plan_create(
            actor=guidong.people["county_guidong"], county=guidong.county, year=year, persons_to_exit=1,
            villages_to_exit=0,
        )  # fmt: skip
    county_exit_apply(actor=guidong.people["county_guidong"], county=guidong.county, year=2017)
    client = api_for("province_hunan")
    (small, small_rows), (large, large_rows) = _counts(client, VILLAGES)
    assert (small_rows, large_rows) == (1, 3) and small == large
    (small, small_rows), (large, large_rows) = _counts(client, PLANS)
    assert (small_rows, large_rows) == (1, 3) and small == large
    (small, _rows), (large, _rows) = _counts(client, COUNTIES)
    assert small == large


def test_schema_enums_of_the_area_procedures(client, db):
    schemas = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    assert schemas["VillageExitActionEnum"]["enum"] == [
        "open_notice", "close_notice", "county_approve", "county_return", "reject", "withdraw",
    ]  # fmt: skip
    assert "draw_sample" not in schemas["CountyExitActionEnum"]["enum"]
    assert schemas["CountyExitCaseStatusEnum"]["enum"][0] == "applied"
    assert schemas["VillageExitCaseStatusEnum"]["enum"][0] == "proposed"
