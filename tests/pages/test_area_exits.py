"""Pages of village exit, county exit and reduction plans: scoping, happy paths through the
services (state and audit), refusals shown in Chinese, buttons per role, query counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments import area_exits as ax
from assessments.area_exits import available_steps, county_exit_apply, village_exit_propose
from assessments.models import CountyExitCase, ReductionPlan, SampledHousehold, VillageExitCase
from assessments.plans import reduction_plan_create
from registry.models import AuditEntry
from tests.assessments.test_county_exit import sampled, setup_guidong
from tests.assessments.test_village_exit import CHECKLIST
from tests.factories import make_household, make_village
from villages.services import village_status_set

DAXI = "431129203000"


def ago(days: int) -> date:
    return date.today() - timedelta(days=days)


def poverty_village(divisions, number: int = 7, name: str = "石枧村"):
    """A poverty village of 大锡乡: 400 rural residents, two registered households of 3 (1.50 %)."""
    village = make_village(parent=divisions[DAXI], number=number, name=name)
    village_status_set(actor=None, village=village, is_poverty_village=True, identified_year=2014, rural_population=400)
    for _ in range(2):
        make_household(village=village, status="registered", persons=3)
    return village


def checklist_post(checklist=CHECKLIST, **extra) -> dict:
    data = {}
    for item, entry in checklist.items():
        if entry.get("met"):
            data[f"{item}__met"] = "on"
        data[f"{item}__evidence"] = entry.get("evidence", "")
    return {**data, **extra}


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


# Village exit ------------------------------------------------------------------------------------------


def test_township_proposes_through_the_page(client_for, village):
    client = client_for("township_daxi")
    html = client.get("/assessments/village-exits/").content.decode()
    assert "石枧村" in html and 'name="village"' in html
    assert client.get("/assessments/village-exits/propose/", {"village": village.code}).status_code == 302
    url = f"/assessments/village-exits/propose/{village.code}/"
    html = client.get(url).content.decode()
    assert "1.50%" in html and "通硬化路" in html
    response = client.post(url, checklist_post(year=2019, on_date=ago(5).isoformat()))
    assert response.status_code == 302
    case = VillageExitCase.objects.get(village=village)
    assert (case.status, case.year, case.poor_persons) == ("proposed", 2019, 6)
    assert AuditEntry.objects.filter(action="village_exit.propose", object_id=str(case.pk)).exists()
    page = client.get(response["Location"]).content.decode()
    assert "贫困发生率 1.50%（6 ÷ 400）&lt; 退出标准 2.00%。" in page
    assert "村卫生室、文化活动室已建成并验收" in page and "乡镇提出出列" in page


def test_a_failed_proposal_lists_the_failed_checks_in_chinese(client_for, village):
    checklist = {**CHECKLIST, "collective_income": {"met": True, "evidence": ""}}
    response = client_for("township_daxi").post(
        f"/assessments/village-exits/propose/{village.code}/", checklist_post(checklist, year=2019)
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "不符合出列条件，以下 1 项未达到：" in html and "有村集体经济收入：记为达标，但未填写佐证材料。" in html
    assert not VillageExitCase.objects.filter(village=village).exists()


def test_only_a_township_proposes(client_for, village):
    assert client_for("county_jianghua").get(f"/assessments/village-exits/propose/{village.code}/").status_code == 403
    assert client_for("county_shaoyang").get(f"/assessments/village-exits/propose/{village.code}/").status_code == 404


@pytest.mark.parametrize("username", ["township_daxi", "county_jianghua", "province_hunan", "auditor_hunan"])
def test_buttons_are_the_available_steps(client_for, users, proposed, username):
    html = client_for(username).get(f"/assessments/village-exits/{proposed.pk}/").content.decode()
    shown = {a for a in ax.VILLAGE_STEPS if f"/village-exits/{proposed.pk}/steps/{a}/" in html}
    assert shown == {s.action for s in available_steps(proposed, users[username]) if not s.internal}


def test_steps_through_the_page_are_recorded_and_audited(client_for, proposed):
    client = client_for("township_daxi")
    url = f"/assessments/village-exits/{proposed.pk}/steps/open_notice/"
    assert client.post(url, {"on_date": ago(9).isoformat()}).status_code == 302
    case = VillageExitCase.objects.get(pk=proposed.pk)
    assert case.status == "in_notice" and case.notice_ends_on == ago(9) + timedelta(days=7)
    assert AuditEntry.objects.latest("id").action == "village_exit.open_notice"
    html = client.get(f"/assessments/village-exits/{proposed.pk}/").content.decode()
    assert "公示至" in html and "登记公示期异议" in html


def test_a_refused_step_shows_in_chinese_and_changes_nothing(client_for, users, proposed):
    case = ax.village_exit_transition(actor=users["township_daxi"], case=proposed, action="open_notice", on_date=ago(2))
    counts = AuditEntry.objects.count()
    township = client_for("township_daxi")
    # The notice runs: the step is not offered, and a page sent before says why on the case page.
    assert "/steps/close_notice/" not in township.get(f"/assessments/village-exits/{case.pk}/").content.decode()
    response = township.post(f"/assessments/village-exits/{case.pk}/steps/close_notice/", {}, follow=True)
    assert response.redirect_chain[-1][0] == f"/assessments/village-exits/{case.pk}/"
    assert f"公示期未满：公示至 {case.notice_ends_on}" in response.content.decode()
    assert VillageExitCase.objects.get(pk=case.pk).status == "in_notice" and AuditEntry.objects.count() == counts
    assert (
        client_for("auditor_hunan").post(f"/assessments/village-exits/{case.pk}/steps/close_notice/").status_code == 403
    )


def test_another_county_gets_404_and_an_empty_list(client_for, proposed):
    client = client_for("county_shaoyang")
    assert client.get(f"/assessments/village-exits/{proposed.pk}/").status_code == 404
    assert client.post(f"/assessments/village-exits/{proposed.pk}/steps/withdraw/", {"reason": "x"}).status_code == 404
    assert "石枧村" not in client.get("/assessments/village-exits/").content.decode()
    assert "石枧村" in client_for("county_jianghua").get("/assessments/village-exits/").content.decode()


def test_the_village_list_runs_a_constant_number_of_queries(client_for, users, divisions):
    client = client_for("county_jianghua")
    counts = []
    for number in (7, 8, 9):
        village = poverty_village(divisions, number=number, name=f"村{number}")
        village_exit_propose(actor=users["township_daxi"], village=village, year=2019, checklist=CHECKLIST)
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/assessments/village-exits/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[-1]


def test_the_village_list_filters_with_the_api_filterset_and_ignores_odd_values(client_for, users, divisions, proposed):
    other = poverty_village(divisions, number=8, name="平地村")
    case = village_exit_propose(actor=users["township_daxi"], village=other, year=2019, checklist=CHECKLIST)
    ax.village_exit_transition(actor=users["township_daxi"], case=case, action="open_notice")
    client = client_for("county_jianghua")
    html = client.get("/assessments/village-exits/", {"status": "in_notice"}).content.decode()
    assert "平地村" in html and "石枧村" not in html
    html = client.get("/assessments/village-exits/", {"q": "石枧", "year": "2019"}).content.decode()
    assert "石枧村" in html and "平地村" not in html
    for odd in ({"status": "bogus"}, {"year": "abc"}, {"year": "99999"}, {"within": "x"}):
        response = client.get("/assessments/village-exits/", odd)
        assert response.status_code == 200, odd
    html = client.get("/assessments/village-exits/", {"status": "bogus", "year": "abc"}).content.decode()
    assert "平地村" in html and "石枧村" in html


# County exit -------------------------------------------------------------------------------------------


def test_the_county_applies_through_the_page(client_for, guidong):
    client = client_for("county_guidong")
    assert "申请摘帽" in client.get("/assessments/county-exits/").content.decode()
    response = client.post("/assessments/county-exits/apply/", {"county": guidong.county.code, "year": 2017})
    assert response.status_code == 302
    case = CountyExitCase.objects.get(county=guidong.county)
    assert case.status == "applied" and AuditEntry.objects.filter(action="county_exit.apply").exists()
    response = client.post("/assessments/county-exits/apply/", {"county": guidong.county.code, "year": 2017})
    assert response.status_code == 409 and "已有在办或已批准的摘帽申请" in response.content.decode()


def test_the_province_draws_visits_and_evaluates_on_the_page(client_for, guidong, applied):
    people = guidong.people
    case = ax.county_exit_transition(actor=people["prefecture_chenzhou"], case=applied, action="prefecture_approve")
    province = client_for("province_hunan")
    page = f"/assessments/county-exits/{case.pk}/"
    assert "省级核查：抽样" in province.get(page).content.decode()
    response = province.post(f"{page}sample/", {"households": 2, "villages": 1, "seed": 42})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.sample_seed) == ("verifying", 42)
    html = province.get(page).content.decode()
    row = case.sampled_households.order_by("position").first()
    assert "42" in html and row.household.registry_number in html and "登记核查记录" in html
    # A visit dated before the draw is refused, in Chinese, beside the date.
    url = f"{page}households/{row.pk}/visit/"
    response = province.post(url, {"approves": "on", "visited_on": ago(400).isoformat()})
    assert response.status_code == 409 and "核查日期不能早于抽样日期" in response.content.decode()
    assert SampledHousehold.objects.get(pk=row.pk).visited_on is None
    assert province.post(url, {"approves": "on", "visited_on": date.today().isoformat()}).status_code == 302
    row.refresh_from_db()
    assert (row.wrongly_exited, row.approves, row.recorded_by.username) == (False, True, "province_hunan")
    assert AuditEntry.objects.filter(action="county_exit.visit_household", object_id=str(row.pk)).exists()
    # Evaluating before every visit is refused in Chinese.
    html = province.post(f"{page}evaluate/", {}).content.decode()
    assert "尚有 1 户、1 个村未登记核查记录，不能评估。" in html
    assert CountyExitCase.objects.get(pk=case.pk).status == "verifying"


def test_county_case_page_buttons_follow_the_role(client_for, guidong, applied):
    page = f"/assessments/county-exits/{applied.pk}/"
    assert "prefecture_approve" in client_for("prefecture_chenzhou").get(page).content.decode()
    html = client_for("county_guidong").get(page).content.decode()
    assert "prefecture_approve" not in html and "steps/withdraw/" in html
    assert "prefecture_approve" not in client_for("province_hunan").get(page).content.decode()
    assert client_for("county_jianghua").get(page).status_code == 404
    response = client_for("county_guidong").post(f"{page}steps/prefecture_approve/", {})
    assert response.status_code == 403 and CountyExitCase.objects.get(pk=applied.pk).status == "applied"


def test_the_sample_shows_its_seed_and_visits(client_for, guidong, applied):
    case = sampled(applied, guidong.people, households=2, villages=1, seed=5)
    html = client_for("county_guidong").get(f"/assessments/county-exits/{case.pk}/").content.decode()
    assert "抽样种子" in html and ">5<" in html and "未核查" in html
    assert "/visit/" not in html  # only the province records visits


# Plans -------------------------------------------------------------------------------------------------


def test_the_county_enters_and_edits_its_plan_on_the_page(client_for, guidong):
    client = client_for("county_guidong")
    url = f"/assessments/plans/{guidong.county.code}/2017/"
    assert "该县本年度尚无减贫计划" in client.get(url).content.decode()
    data = {"persons_to_exit": 12, "villages_to_exit": 1, "county_exits": "on", "note": "时间倒逼"}
    assert client.post(url, data).status_code == 302
    plan = ReductionPlan.objects.get(county=guidong.county, year=2017)
    assert (plan.persons_to_exit, plan.county_exits) == (12, True)
    assert AuditEntry.objects.filter(action="reduction_plan.create", object_id=str(plan.pk)).exists()
    assert client.post(url, {**data, "persons_to_exit": 15}).status_code == 302
    assert ReductionPlan.objects.get(pk=plan.pk).persons_to_exit == 15
    html = client.get(url).content.decode()
    assert "完成进度" in html and "0 / 15" in html and "计划摘帽，未完成" in html
    assert "桂东县" in client.get("/assessments/plans/").content.decode()


def test_plan_refusals(client_for, guidong):
    url = f"/assessments/plans/{guidong.county.code}/2017/"
    response = client_for("county_guidong").post(url, {"persons_to_exit": -1, "villages_to_exit": 1})
    assert response.status_code == 409 and "0" in response.content.decode()
    assert client_for("prefecture_chenzhou").post(url, {"persons_to_exit": 1, "villages_to_exit": 1}).status_code == 403
    assert client_for("county_shaoyang").get(url).status_code == 404
    assert not ReductionPlan.objects.filter(county=guidong.county).exists()


def test_the_plan_list_runs_a_constant_number_of_queries(client_for, guidong):
    client = client_for("province_hunan")
    counts = []
    for year in (2017, 2018, 2019):
        reduction_plan_create(
            actor=guidong.people["county_guidong"], county=guidong.county, year=year, persons_to_exit=1,
            villages_to_exit=0,
        )  # fmt: skip
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/assessments/plans/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[-1]


def test_the_plan_list_filters_by_year(client_for, guidong):
    for year in (2017, 2018):
        reduction_plan_create(
            actor=guidong.people["county_guidong"], county=guidong.county, year=year, persons_to_exit=year - 2000,
            villages_to_exit=0,
        )  # fmt: skip
    client = client_for("province_hunan")
    html = client.get("/assessments/plans/", {"year": "2018"}).content.decode()
    assert "0 / 18" in html and "0 / 17" not in html
    html = client.get("/assessments/plans/", {"year": "later"}).content.decode()
    assert "0 / 18" in html and "0 / 17" in html
