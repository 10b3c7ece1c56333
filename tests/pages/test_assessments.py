"""The assessment and exit pages: scoping, forms through the services, errors beside the
fields, buttons per role, the county queue's batch, the public verification, query counts."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from assessments import errors
from assessments.certificates import mask_name
from assessments.exit_cases import available_steps, exit_case_propose
from assessments.models import Assessment, ExitCase, ExitCaseStep, ExitObjection
from assessments.selectors import campaign_deadline, campaign_default_year, reassessment_campaign
from assessments.services import assessment_record
from demo.loader import LIAN
from households import errors as household_errors
from households.models import Household
from households.services import household_apply, household_update
from registry.models import AuditEntry
from tests.factories import advance, exit_through, household_data, make_assessed, make_household, member_data

YEAR = 2018
HEAD = "盘秀英"  # a name that appears nowhere else on the pages


def days_ago(n: int) -> date:
    return date.today() - timedelta(days=n)


def get(client: Client, url: str, expected: int = 200, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == expected, (url, response.status_code)
    return response.content.decode()


def assessment_url(household, year: int = YEAR) -> str:
    return f"/assessments/households/{household.pk}/{year}/"


def step_url(case, action: str) -> str:
    return f"/assessments/cases/{case.pk}/steps/{action}/"


def field_block(html: str, name: str) -> str:
    """Return the field ``<div>`` (label, input, help, errors) that holds the first input ``name``."""
    at = html.index(f'name="{name}"')
    start = max(m.start() for m in re.finditer(r'<div[^>]*class="field[ "]', html[:at]))
    return html[start : html.index("</div>", at)]


def step_actions(html: str, case) -> set[str]:
    return set(re.findall(rf'action="/assessments/cases/{case.pk}/steps/([a-z_]+)/"', html))


def form_post(**changes) -> dict:
    data = {
        "assessed_on": "2018-11-01",
        "wage_income": "12000",
        "operating_income": "3000",
        "operating_cost": "1000",
        "property_income": "",
        "transfer_dibao": "600",
        "transfer_pension": "",
        "food_secure": "on",
        "clothing_secure": "on",
        "water_quality_safe": "on",
        "water_litres_per_person_day": "60",
        "water_fetch_minutes": "10",
        "notes": "入户核查",
        "version": "0",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def household(divisions):
    household = make_household(village=divisions[LIAN], status="registered")
    return household_update(actor=None, household=household, changes={"housing_grade": "B"})


@pytest.fixture
def proposed(users, divisions):
    household, _assessment = make_assessed(village=divisions[LIAN], year=YEAR)
    return exit_case_propose(actor=users["team_lian"], household=household, year=YEAR, on_date=days_ago(21))


def named_household(divisions, *, head: str = HEAD):
    """Register a 栗安村 household whose head has a distinctive name, assessed for YEAR with B housing."""
    village = divisions[LIAN]
    members = [member_data(name=head, area=village.code[:6])]
    members.append(member_data(name="儿子", relationship="son", birth="20010601", area=village.code[:6]))
    household = household_apply(
        actor=None, village=village, household=household_data(), members=members, on_date=days_ago(31)
    )
    household = advance(household, until="county_approve")
    household = household_update(actor=None, household=household, changes={"housing_grade": "B"})
    assessment_record(
        actor=None, household=household, year=YEAR, data={"wage_income": 20000, "assessed_on": date(YEAR, 11, 1)}
    )
    return household


# Scoping ---------------------------------------------------------------------------------


def test_outside_the_jurisdiction_everything_is_not_found(client_for, users, proposed):
    client = client_for("county_shaoyang")
    household = proposed.household
    for url in (
        f"/assessments/cases/{proposed.pk}/",
        f"/assessments/cases/{proposed.pk}/certificate/",
        f"/assessments/households/{household.pk}/",
        assessment_url(household),
        f"/assessments/campaign/{YEAR}/{LIAN}/",
    ):
        get(client, url, 404)
    counts = (ExitCaseStep.objects.count(), AuditEntry.objects.count())
    assert client.post(step_url(proposed, "appraise"), {}).status_code in (403, 404)
    assert client.post(assessment_url(household), form_post(version="1")).status_code == 404
    assert (ExitCaseStep.objects.count(), AuditEntry.objects.count()) == counts
    assert "栗安村" not in get(client, "/assessments/cases/")
    assert ExitCase.objects.get(pk=proposed.pk).status == "proposed"


def test_case_list_shows_the_jurisdiction(client_for, proposed):
    html = get(client_for("county_jianghua"), "/assessments/cases/", status="proposed")
    assert proposed.household.registry_number in html and "栗安村" in html


# The assessment form -----------------------------------------------------------------------


def test_the_form_fits_a_phone_and_shows_derived_indicators(client_for, household):
    html = get(client_for("team_lian"), assessment_url(household))
    assert 'name="viewport"' in html
    assert re.search(r'name="wage_income"[^>]*inputmode="decimal"|inputmode="decimal"[^>]*name="wage_income"', html)
    for item in ("transfer_dibao", "transfer_tekun", "transfer_pension", "transfer_remittance"):
        assert f'name="{item}"' in html
    assert "6–15 岁未在校" in html and "未参加基本医保" in html and "B级" in html
    assert 'name="education_exempt_members"' in html and "户主" in html
    assert "保存核查" in html


def test_saving_writes_through_the_service_and_shows_the_rules(client_for, household):
    client = client_for("team_lian")
    response = client.post(assessment_url(household), form_post())
    assert response.status_code == 302, response.content.decode()[:3000]
    assessment = Assessment.objects.get(household=household, year=YEAR)
    assert assessment.net_income == Decimal("14600")  # 12000 + 3000 − 1000 + 600
    assert (assessment.household_size, assessment.per_capita_net_income) == (3, Decimal("4866.67"))
    assert assessment.transfers == {"dibao": "600"} and assessment.water_litres_per_person_day == 60
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.actor.username) == ("assessment.create", "team_lian")
    html = get(client, response.url)
    assert "4866.67" in html and "已保存 2018 年度核查" in html
    for label in ("收入稳定超过扶贫标准", "不愁吃", "饮水安全", "义务教育有保障", "基本医疗有保障", "住房安全有保障"):
        assert label in html
    assert "人均纯收入 4866.67 元，高于 2018 年扶贫标准" in html
    assert "符合退出标准" in html and "提名 2018 年脱贫退出" in html


def test_a_correction_carries_the_version(client_for, household):
    client = client_for("team_lian")
    client.post(assessment_url(household), form_post())
    html = get(client, assessment_url(household))
    assert 'name="version" value="1"' in html
    assert client.post(assessment_url(household), form_post(wage_income="15000", version="1")).status_code == 302
    assessment = Assessment.objects.get(household=household, year=YEAR)
    assert (assessment.version, assessment.wage_income) == (2, Decimal("15000"))
    assert AuditEntry.objects.latest("id").action == "assessment.update"


@pytest.mark.parametrize("stale_version", ["1", "0"])
def test_a_stale_form_is_a_conflict(client_for, household, stale_version):
    client = client_for("team_lian")
    client.post(assessment_url(household), form_post())
    assessment_record(actor=None, household=household, year=YEAR, data={"wage_income": 9000})  # version 2 now
    counts = AuditEntry.objects.count()
    response = client.post(assessment_url(household), form_post(wage_income="1", version=stale_version))
    html = response.content.decode()
    assert response.status_code == 200
    message = household_errors.VERSION_CONFLICT % {"current": 2, "expected": int(stale_version)}
    assert str(message) in html and "重新打开" in html
    assert Assessment.objects.get(household=household, year=YEAR).wage_income == Decimal("9000")
    assert AuditEntry.objects.count() == counts


def test_service_refusals_show_in_chinese_beside_their_fields(client_for, household):
    client = client_for("team_lian")
    future = (date.today() + timedelta(days=3)).isoformat()
    html = client.post(assessment_url(household), form_post(wage_income="-5")).content.decode()
    expected = errors.AMOUNT_NEGATIVE % {"field": "工资性收入"}
    assert str(expected) in field_block(html, "wage_income")
    html = client.post(assessment_url(household), form_post(assessed_on=future)).content.decode()
    assert str(household_errors.DATE_IN_FUTURE) in field_block(html, "assessed_on")
    html = client.post(assessment_url(household), form_post(wage_income="abc")).content.decode()
    assert "数字" in field_block(html, "wage_income")
    assert not Assessment.objects.filter(household=household).exists()


def test_read_only_roles_see_the_form_without_a_save_button(client_for, users, household):
    assessment_record(actor=None, household=household, year=YEAR, data={"assessed_on": date(YEAR, 11, 1)})
    client = client_for("province_hunan")
    html = get(client, assessment_url(household))
    assert "保存核查" not in html and "disabled" in html and "提名" not in html
    assert client.post(assessment_url(household), form_post(version="1")).status_code == 403
    assert Assessment.objects.get(household=household, year=YEAR).version == 1


def test_a_failed_proposal_lists_the_failed_rules(client_for, divisions):
    household, _assessment = make_assessed(village=divisions[LIAN], wage=1000, housing_grade="D")
    client = client_for("team_lian")
    html = get(client, assessment_url(household))
    assert "未达到退出标准" in html
    response = client.post(f"/assessments/households/{household.pk}/{YEAR}/propose/", {"on_date": ""})
    html = response.content.decode()
    assert response.status_code == 200
    assert "不符合退出标准，以下 2 项未达到" in html
    items = re.findall(r"<li>([^<]*)</li>", html.split('id="propose"')[1].split("</form>")[0])
    assert len(items) == 2
    assert items[0].startswith("收入稳定超过扶贫标准：人均纯收入 333.33 元，未超过 2018 年扶贫标准")
    assert items[1] == "住房安全有保障：住房为 D 级危房，尚未改造。"
    assert not ExitCase.objects.filter(household=household).exists()


def test_a_proposal_opens_the_case(client_for, divisions):
    household, _assessment = make_assessed(village=divisions[LIAN])
    client = client_for("team_lian")
    response = client.post(
        f"/assessments/households/{household.pk}/{YEAR}/propose/", {"on_date": days_ago(30).isoformat()}
    )
    case = ExitCase.objects.get(household=household, year=YEAR)
    assert response.status_code == 302 and response.url == case.get_absolute_url()
    assert case.steps.get().effective_date == days_ago(30)
    assert AuditEntry.objects.latest("id").action == "exit_case.propose"
    household_page = get(client, f"/assessments/households/{household.pk}/")
    assert case.get_absolute_url() in household_page
    assert "提名 2018 年脱贫退出" not in get(client, assessment_url(household))  # one open case per year


# The exit case page ------------------------------------------------------------------------


def test_the_case_page_shows_rules_figures_and_steps(client_for, proposed):
    html = get(client_for("county_jianghua"), proposed.get_absolute_url())
    for result in proposed.rule_results:
        assert result["label"] in html and result["explanation"] in html
    assert "规则版本 2016.1" in html and "6666.67" in html and "3535" in html  # per capita, 2018 line
    assert "扶贫标准（元）" in html and "村提名" in html and "栗安村工作队" in html


@pytest.mark.parametrize(
    "username", ["team_lian", "township_daxi", "county_jianghua", "province_hunan", "auditor_hunan"]
)
@pytest.mark.parametrize("until", [None, "close_notice", "township_approve"])
def test_buttons_are_exactly_the_available_steps(client_for, users, proposed, username, until):
    case = exit_through(proposed, users, until=until, start=days_ago(20)) if until else proposed
    html = get(client_for(username), case.get_absolute_url())
    assert step_actions(html, case) == {s.action for s in available_steps(case, users[username])}


def test_steps_through_the_page_are_recorded_and_audited(client_for, proposed):
    client = client_for("team_lian")
    response = client.post(step_url(proposed, "appraise"), {"reason": "评议通过", "on_date": days_ago(20).isoformat()})
    assert response.status_code == 302
    step = ExitCaseStep.objects.filter(case=proposed).latest("id")
    assert (step.action, step.actor.username, step.reason, step.effective_date) == (
        "appraise",
        "team_lian",
        "评议通过",
        days_ago(20),
    )
    assert AuditEntry.objects.latest("id").action == "exit_case.appraise"
    assert ExitCase.objects.get(pk=proposed.pk).status == "appraised"


def test_acknowledgement_asks_for_the_signatory(client_for, users, proposed):
    case = exit_through(proposed, users, until="verify", start=days_ago(20))
    client = client_for("team_lian")
    html = get(client, case.get_absolute_url())
    assert "签字认可的户主或家庭成员姓名" in html
    html = client.post(step_url(case, "acknowledge"), {"reason": " "}).content.decode()
    assert str(errors.EXIT_ACK_NAME_REQUIRED) in field_block(html, "reason")
    assert ExitCase.objects.get(pk=case.pk).status == "verified"
    client.post(step_url(case, "acknowledge"), {"reason": "户主本人"})
    assert ExitCase.objects.get(pk=case.pk).acknowledged_by == "户主本人"


def test_service_refusals_of_a_step_show_on_the_page(client_for, users, divisions, proposed):
    case = exit_through(proposed, users, until="open_notice", start=days_ago(3))
    client = client_for("team_lian")
    assert "/steps/close_notice/" not in get(client, case.get_absolute_url())  # not offered while the notice runs
    html = client.post(step_url(case, "close_notice"), {}, follow=True).content.decode()
    notice = household_errors.NOTICE_NOT_ENDED % {"ends": ExitCase.objects.get(pk=case.pk).notice_ends_on}
    assert str(notice) in html
    assert ExitCase.objects.get(pk=case.pk).status == "in_notice"
    household, _assessment = make_assessed(village=divisions[LIAN], year=YEAR)
    other = exit_case_propose(actor=users["team_lian"], household=household, year=YEAR, on_date=days_ago(21))
    ended = exit_through(other, users, until="open_notice", start=days_ago(20))
    html = client.post(step_url(ended, "close_notice"), {"on_date": days_ago(21).isoformat()}).content.decode()
    previous = household_errors.DATE_BEFORE_PREVIOUS % {"previous": days_ago(20)}
    assert str(previous) in field_block(html, "on_date")
    assert ExitCase.objects.get(pk=ended.pk).status == "in_notice"


def test_a_role_without_the_step_is_refused(client_for, proposed):
    counts = (ExitCaseStep.objects.count(), AuditEntry.objects.count())
    assert client_for("province_hunan").post(step_url(proposed, "appraise"), {}).status_code == 403
    assert client_for("county_jianghua").post(step_url(proposed, "appraise"), {}).status_code == 403
    assert client_for("team_lian").post(step_url(proposed, "objection_return"), {}).status_code == 404
    assert (ExitCaseStep.objects.count(), AuditEntry.objects.count()) == counts


def test_objections_are_raised_and_decided_on_the_page(client_for, users, proposed):
    case = exit_through(proposed, users, until="open_notice", start=days_ago(20))
    team = client_for("team_lian")
    html = get(team, case.get_absolute_url())
    assert "登记公示期异议" in html
    assert (
        team.post(
            f"/assessments/cases/{case.pk}/objections/", {"objector": "村民甲", "content": "收入不实"}
        ).status_code
        == 302
    )
    objection = ExitObjection.objects.get(case=case)
    assert (objection.recorded_by.username, AuditEntry.objects.latest("id").action) == (
        "team_lian",
        "exit_objection.raise",
    )
    assert "/steps/close_notice/" not in get(team, case.get_absolute_url())  # not offered while one is pending
    html = team.post(step_url(case, "close_notice"), {}, follow=True).content.decode()
    assert str(household_errors.OBJECTION_PENDING % {"count": 1}) in html
    assert "处理异议" not in get(team, case.get_absolute_url())
    township = client_for("township_daxi")
    resolve = f"/assessments/cases/{case.pk}/objections/{objection.pk}/resolve/"
    assert 'name="outcome"' in get(township, case.get_absolute_url())
    html = township.post(resolve, {"outcome": "dismissed", "resolution": ""}).content.decode()
    assert str(household_errors.OBJECTION_RESOLUTION_REQUIRED) in field_block(html, "resolution")
    assert township.post(resolve, {"outcome": "dismissed", "resolution": "经核实收入属实"}).status_code == 302
    objection.refresh_from_db()
    assert (objection.outcome, objection.resolved_by.username) == ("dismissed", "township_daxi")
    assert AuditEntry.objects.latest("id").action == "exit_objection.resolve"
    assert team.post(step_url(case, "close_notice"), {}).status_code == 302
    assert ExitCase.objects.get(pk=case.pk).status == "notice_ended"


def test_the_certificate_downloads_for_a_certified_case_only(client_for, users, proposed):
    client = client_for("county_jianghua")
    get(client, f"/assessments/cases/{proposed.pk}/certificate/", 404)
    case = exit_through(proposed, users)
    assert "下载脱贫证明" in get(client, case.get_absolute_url())
    response = client.get(f"/assessments/cases/{case.pk}/certificate/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "栗安村" in text and "2018 年" in text and case.certificate_code in text
    get(client_for("county_shaoyang"), f"/assessments/cases/{case.pk}/certificate/", 404)


# County review queue -----------------------------------------------------------------------


def reviewed_cases(users, divisions, count: int) -> list[ExitCase]:
    cases = []
    for _ in range(count):
        household, _assessment = make_assessed(village=divisions[LIAN])
        case = exit_case_propose(actor=users["team_lian"], household=household, year=YEAR, on_date=days_ago(21))
        cases.append(exit_through(case, users, until="township_approve", start=days_ago(20)))
    return cases


def test_the_queue_certifies_a_batch_and_reports_every_case(client_for, users, divisions):
    good, changed, other = reviewed_cases(users, divisions, 3)
    assessment_record(actor=None, household=changed.household, year=YEAR, data={"wage_income": 30000})
    client = client_for("county_jianghua")
    html = get(client, "/assessments/queue/")
    assert all(f'value="{c.pk}"' in html for c in (good, changed, other)) and "批量审定" in html
    response = client.post("/assessments/queue/", {"case": [good.pk, changed.pk, 999999]})
    html = response.content.decode()
    assert response.status_code == 200
    assert "审定通过 1 户，未通过 2 户" in html
    assert "提出后以下信息已修改：家庭纯收入" in html and "不在待审定队列" in html and "#999999" in html
    statuses = dict(ExitCase.objects.filter(pk__in=[good.pk, changed.pk, other.pk]).values_list("pk", "status"))
    assert statuses == {good.pk: "certified", changed.pk: "township_reviewed", other.pk: "township_reviewed"}
    assert ExitCase.objects.get(pk=good.pk).certificate_code in html
    assert Household.objects.get(pk=good.household_id).status == "exited"
    html = client.post("/assessments/queue/", {}).content.decode()
    assert "请至少勾选一户" in html


def test_only_the_county_certifies_from_the_queue(client_for, users, divisions):
    (case,) = reviewed_cases(users, divisions, 1)
    township = client_for("township_daxi")
    html = get(township, "/assessments/queue/")
    assert case.household.registry_number in html and "批量审定" not in html
    assert township.post("/assessments/queue/", {"case": [case.pk]}).status_code == 403
    assert ExitCase.objects.get(pk=case.pk).status == "township_reviewed"
    assert case.household.registry_number not in get(client_for("county_shaoyang"), "/assessments/queue/")


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_queue_runs_a_constant_number_of_queries(client_for, users, divisions):
    client = client_for("county_jianghua")
    reviewed_cases(users, divisions, 2)
    few = count_queries(client, "/assessments/queue/")
    reviewed_cases(users, divisions, 18)
    many = count_queries(client, "/assessments/queue/")
    assert few == many
    assert len(re.findall(r'<input type="checkbox" name="case"', get(client, "/assessments/queue/"))) == 20


# Public verification -----------------------------------------------------------------------


def test_verification_shows_masked_facts_only(users, divisions):
    household = named_household(divisions)
    case = exit_case_propose(actor=users["team_lian"], household=household, year=YEAR, on_date=days_ago(21))
    case = exit_through(case, users)
    anonymous = Client()
    html = get(anonymous, f"/verify/{case.certificate_code.lower()}/")
    assert mask_name(HEAD) in html and "栗安村" in html and "2018 年" in html and "有效" in html
    assert HEAD not in html
    assert household.registry_number not in html
    for member in household.members.all():
        assert member.id_number not in html
    assert "儿子" not in html and "20000" not in html
    response = anonymous.get("/verify/", {"code": f" {case.certificate_code.lower()} "})
    assert response.status_code == 302 and response.url == f"/verify/{case.certificate_code}/"
    html = get(anonymous, "/verify/")
    assert "校验码" in html


def test_an_unknown_code_is_a_clear_not_found(db):
    html = get(Client(), "/verify/ABCDEFGHJKLM/", 404)
    assert "未找到" in html and "没有找到该校验码" in html


# Reassessment campaign ---------------------------------------------------------------------


def test_the_campaign_counts_due_assessed_and_overdue(client_for, users, divisions):
    village = divisions[LIAN]
    assessed, _assessment = make_assessed(village=village, year=YEAR)
    make_household(village=village, status="registered")
    make_household(village=village, status="returned")
    long_gone = make_household(village=village, status="exited")
    Household.objects.filter(pk=long_gone.pk).update(status_date=date(2011, 6, 1))
    recent = make_household(village=village, status="exited")
    Household.objects.filter(pk=recent.pk).update(status_date=date(2016, 6, 1))
    make_household(village=village, status="applied")
    client = client_for("township_daxi")
    html = get(client, f"/assessments/campaign/{YEAR}/")
    assert "栗安村" in html and "江华瑶族自治县农业农村局" in html
    row = html.split("栗安村")[1]
    numbers = [int(n) for n in re.findall(r'class="num">(?:<span class="rate high">)?(\d+)', row)[:3]]
    assert numbers == [4, 1, 3]  # due: registered, registered, returned, exited 2016; 1 assessed; 3 overdue
    html = get(client, f"/assessments/campaign/{YEAR}/{LIAN}/")
    assert html.index("未核查") < html.index(assessed.registry_number)
    assert assessment_url(assessed) in html
    assert "栗安村" not in get(client_for("county_shaoyang"), f"/assessments/campaign/{YEAR}/")


def test_before_the_deadline_nothing_is_overdue(users, divisions):
    make_household(village=divisions[LIAN], status="registered")
    deadline = campaign_deadline(YEAR)
    assert deadline == date(2018, 12, 30)
    before = reassessment_campaign(user=users["team_lian"], year=YEAR, today=deadline)
    after = reassessment_campaign(user=users["team_lian"], year=YEAR, today=deadline + timedelta(days=1))
    assert (before.due, before.overdue, after.overdue) == (1, 0, 1)
    assert before.rows[0].team is not None
    assert campaign_default_year(date(2026, 9, 30)) == 2025 and campaign_default_year(date(2026, 10, 1)) == 2026


def test_the_index_opens_the_current_campaign(client_for):
    client = client_for("team_lian")
    response = client.get("/assessments/")
    assert response.status_code == 302 and response.url == f"/assessments/campaign/{campaign_default_year()}/"
    assert client.get("/assessments/", {"year": "2017"}).url == "/assessments/campaign/2017/"
    html = get(client, "/")
    assert 'href="/assessments/"' in html and 'href="/assessments/cases/"' in html
    assert 'href="/assessments/queue/"' not in html
    assert 'href="/assessments/queue/"' in get(client_for("county_jianghua"), "/")


def test_the_campaign_runs_a_constant_number_of_queries(client_for, divisions):
    from tests.factories import make_team, make_village

    client = client_for("county_jianghua")
    make_household(village=divisions[LIAN], status="registered")
    few = count_queries(client, f"/assessments/campaign/{YEAR}/")
    township = divisions[LIAN].parent
    for number in (11, 12, 13):
        village = make_village(parent=township, number=number, name=f"测试村{number}")
        make_team(village=village)
        make_household(village=village, status="registered")
    many = count_queries(client, f"/assessments/campaign/{YEAR}/")
    assert few == many
    assert get(client, f"/assessments/campaign/{YEAR}/").count("测试派出单位") == 3
