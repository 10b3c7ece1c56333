"""/api/v1/exit-cases/ and /exit-objections/: rule results, steps, scoping, the procedure
through the API (audited), refusals, objections, batch certification, the certificate PDF
and query counts."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from assessments.certificates import NOT_CERTIFIED
from assessments.exit_cases import STEPS, exit_case_propose, exit_case_transition, exit_objection_raise
from assessments.models import ExitCase, ExitCaseStep, ExitObjection
from assessments.services import assessment_record
from demo.loader import DAXI, JIANGHUA, LIAN, SHAOYANG_COUNTY, SHETIAN
from households.models import Household, Member
from registry.api.errors import NOT_FOUND
from registry.errors import FOUR_EYES_VIOLATION
from registry.models import AuditEntry
from tests.api.helpers import assert_error
from tests.factories import EXIT_PATH, exit_through, make_assessed

URL = "/api/v1/exit-cases/"
READ_ONLY = ["prefecture_yongzhou", "province_hunan", "auditor_hunan", "api_hunan"]
RULES = ["income", "food", "clothing", "water", "education", "medical", "housing"]


@pytest.fixture
def api_for(api_for):
    """The shared token client, sending JSON (the only body these endpoints parse)."""

    def make(username: str):
        client = api_for(username)
        client.default_format = "json"
        return client

    return make


def days_ago(n: int) -> str:
    return (date.today() - timedelta(days=n)).isoformat()


def url(case, suffix: str = "") -> str:
    return f"{URL}{case.pk}/{suffix}"


def body(response, status: int = 200):
    """Return the JSON of ``response`` after checking its status and that no ID number leaks."""
    assert response.status_code == status, response.content
    content = response.content.decode()
    leaked = [n for n in Member.objects.values_list("id_number", flat=True) if n and n in content]
    assert not leaked, f"unmasked ID numbers in the response: {leaked}"
    return response.json()


def state(case) -> tuple:
    """Return what a refused request must leave untouched: the case row, its steps, the audit log."""
    row = ExitCase.objects.values().get(pk=case.pk)
    return row, ExitCaseStep.objects.filter(case=case).count(), AuditEntry.objects.count()


def audited(action: str, obj) -> bool:
    return AuditEntry.objects.filter(action=action, object_id=str(obj.pk)).exists()


def propose(users, divisions, village=LIAN, **assessment) -> ExitCase:
    household, _assessment = make_assessed(village=divisions[village], **assessment)
    actor = users["team_lian"] if village == LIAN else None
    return exit_case_propose(actor=actor, household=household, year=2018, on_date=date.today() - timedelta(days=21))


@pytest.fixture
def proposed(users, divisions):
    """A 栗安村 household (wages 20,000, three persons) proposed to exit for 2018."""
    return propose(users, divisions)


@pytest.fixture
def reviewed(users, proposed):
    """The proposed case, reviewed by the township: awaiting county certification."""
    return exit_through(proposed, users, until="township_approve")


# Fields and labels ---------------------------------------------------------------------


def test_proposal_over_the_api_stores_rule_results_figures_and_steps(api_for, users, divisions):
    household, _assessment = make_assessed(village=divisions[LIAN])
    created = body(
        api_for("team_lian").post(URL, {"household": household.pk, "year": 2018, "on_date": days_ago(21)}), 201
    )
    case = ExitCase.objects.get(pk=created["id"])
    assert (case.household, case.status, case.eligible) == (household, "proposed", True)
    assert audited("exit_case.propose", case)
    assert (created["status"], created["status_display"], created["year"]) == ("proposed", "村提名", 2018)
    assert (created["registry_number"], created["head_name"], created["assessment"]) == (
        household.registry_number,
        "户主",
        case.assessment_id,
    )
    assert (created["village_name"], created["township"], created["township_name"]) == ("栗安村", DAXI, "大锡乡")
    assert created["rule_set_version"] == "2016.1"
    assert [r["rule"] for r in created["rule_results"]] == RULES
    income = created["rule_results"][0]
    assert (income["label"], income["passed"]) == ("收入稳定超过扶贫标准", True)
    assert income["values"] == {"per_capita_net_income": "6666.67", "poverty_line": "3535", "year": 2018}
    assert income["explanation"] == "人均纯收入 6666.67 元，高于 2018 年扶贫标准 3535 元。"
    assert all(r["passed"] and r["label"] and r["explanation"] for r in created["rule_results"])
    assert created["figures"] == {
        "per_capita_net_income": "6666.67",
        "poverty_line": "3535.00",
        "net_income": "20000.00",
        "household_size": 3,
        "assessed_on": "2018-11-01",
        "assessment_version": 1,
    }
    (step,) = created["steps"]
    assert (step["action"], step["action_display"], step["from_status"], step["from_status_display"]) == (
        "propose",
        "村提名",
        None,
        None,
    )
    assert (step["to_status"], step["to_status_display"], step["actor"], step["effective_date"]) == (
        "proposed",
        "村提名",
        "team_lian",
        days_ago(21),
    )
    assert created["objections"] == []
    listed = body(api_for("county_jianghua").get(URL, {"household": household.pk}))["results"]
    assert listed == [{k: v for k, v in created.items() if k != "objections"}]


@pytest.mark.parametrize("path", ["abc", "999999999", "99999999999999999999", "-1"])
def test_unknown_case_is_a_structured_404(api_for, path):
    client = api_for("admin")
    assert_error(client.get(f"{URL}{path}/"), 404, "not_found")
    assert_error(client.get(f"{URL}{path}/certificate.pdf"), 404, "not_found")


# Refusals of a proposal ----------------------------------------------------------------


def test_failed_rules_are_a_409_listing_them(api_for, divisions):
    household, _assessment = make_assessed(village=divisions[LIAN], wage=3000, housing_grade="D")
    error = assert_error(api_for("team_lian").post(URL, {"household": household.pk, "year": 2018}), 409, "rules_failed")
    rules = error["fields"]["rules"]
    assert [line.split("：")[0] for line in rules] == ["收入稳定超过扶贫标准", "住房安全有保障"]
    assert "未超过 2018 年扶贫标准 3535 元" in rules[0] and "D 级危房" in rules[1]
    assert "2 项未达到" in error["message"]
    assert not ExitCase.objects.filter(household=household).exists()


def test_proposal_refusals(api_for, divisions, proposed):
    client = api_for("team_lian")
    household = proposed.household
    error = assert_error(client.post(URL, {"household": household.pk, "year": date.today().year + 1}), 400)
    assert "year" in error["fields"]
    assert_error(client.post(URL, {"household": household.pk, "year": 2017}), 409, "conflict")  # none for 2017
    assert_error(client.post(URL, {"household": household.pk, "year": 2018}), 409, "conflict")  # already open
    assert_error(api_for("township_daxi").post(URL, {"household": household.pk, "year": 2018}), 403)
    error = assert_error(api_for("county_shaoyang").post(URL, {"household": household.pk, "year": 2018}), 400)
    assert error["fields"] == {"household": [str(NOT_FOUND)]}
    for data in ({"household": household.pk}, {"household": "x", "year": 2018}, {"year": 2018, "status": "certified"}):
        assert_error(client.post(URL, data), 400, "invalid")
    assert ExitCase.objects.filter(household=household).count() == 1


# Scoping -------------------------------------------------------------------------------


def test_another_county_gets_404_and_never_sees_the_case(api_for, users, proposed):
    case = exit_through(proposed, users)
    client = api_for("county_shaoyang")
    before = state(case)
    for path in ("", "transitions/", "certificate.pdf"):
        assert_error(client.get(url(case, path)), 404, "not_found")
    assert_error(client.post(url(case, "transitions/"), {"action": "county_return", "reason": "x"}), 404)
    assert_error(client.post(url(case, "objections/"), {"content": "x"}), 404)
    assert case.pk not in [r["id"] for r in body(client.get(URL, {"page_size": 500}))["results"]]
    assert body(client.get(URL, {"village": LIAN}))["results"] == []
    assert "栗安村" not in client.get(URL).content.decode()
    assert state(case) == before


@pytest.mark.parametrize(
    ("username", "sees"), [("team_lian", True), ("county_shaoyang", False), ("province_hunan", True)]
)
def test_reach_of_roles(api_for, proposed, username, sees):
    assert (proposed.pk in [r["id"] for r in body(api_for(username).get(URL))["results"]]) is sees


# The procedure -------------------------------------------------------------------------


def test_whole_procedure_over_the_api_down_to_the_certificate(api_for, users, proposed):
    clients = {name: api_for(name) for name in {u for _a, u in EXIT_PATH}}
    day = date.today() - timedelta(days=20)
    for action, username in EXIT_PATH:
        if action == "close_notice":
            day += timedelta(days=8)
        client = clients[username]
        assert action in [t["action"] for t in body(client.get(url(proposed, "transitions/")))]
        data = {"action": action, "on_date": day.isoformat()}
        if action == "acknowledge":
            data["reason"] = "户主"
        moved = body(client.post(url(proposed, "transitions/"), data))
        assert moved["status"] == STEPS[action].target
        assert audited(f"exit_case.{action}", proposed)
    assert (moved["status_display"], moved["acknowledged_by"], moved["certified_on"]) == (
        "县级审定，已脱贫",
        "户主",
        day.isoformat(),
    )
    assert len(moved["certificate_code"]) == 12
    assert [(s["action"], s["actor"]) for s in moved["steps"]] == [("propose", "team_lian"), *EXIT_PATH]
    assert moved["steps"][-1]["action_display"] == "县级审定并公告退出"
    assert Household.objects.get(pk=proposed.household_id).status == "exited"
    response = api_for("auditor_hunan").get(url(proposed, "certificate.pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "栗安村" in text and "2018 年" in text and moved["certificate_code"] in text


def test_available_actions_follow_status_and_role(api_for, proposed):
    team = body(api_for("team_lian").get(url(proposed, "transitions/")))
    assert [t["action"] for t in team] == ["appraise", "withdraw"]
    assert team[1] == {
        "action": "withdraw",
        "label": "撤回申请",
        "needs_reason": True,
        "review": False,
        "opens_notice": False,
        "closes_notice": False,
    }
    assert body(api_for("county_jianghua").get(url(proposed, "transitions/"))) == []
    assert body(api_for("auditor_hunan").get(url(proposed, "transitions/"))) == []


@pytest.mark.parametrize(("action", "username"), EXIT_PATH[1:])
def test_out_of_order_step_is_a_409_and_changes_nothing(api_for, proposed, action, username):
    client = api_for(username)
    before = state(proposed)
    data = {"action": action, "reason": "户主"}
    error = assert_error(client.post(url(proposed, "transitions/"), data), 409, "transition_not_allowed")
    assert str(STEPS[action].label) in error["message"]
    assert state(proposed) == before


def test_four_eyes_is_a_409_and_changes_nothing(api_for, users, proposed):
    case = exit_through(proposed, users, until="open_notice", start=date.today() - timedelta(days=20))
    township = api_for("township_daxi")
    body(township.post(url(case, "transitions/"), {"action": "close_notice"}))
    before = state(case)
    error = assert_error(township.post(url(case, "transitions/"), {"action": "township_approve"}), 409, "four_eyes")
    assert error["message"] == str(FOUR_EYES_VIOLATION)
    assert state(case) == before


def test_wrong_role_is_a_403_and_changes_nothing(api_for, proposed):
    client = api_for("township_daxi")
    before = state(proposed)
    assert_error(client.post(url(proposed, "transitions/"), {"action": "appraise"}), 403, "permission_denied")
    assert state(proposed) == before


@pytest.mark.parametrize("username", READ_ONLY)
def test_read_only_roles_get_403_on_every_write(api_for, users, reviewed, username):
    client = api_for(username)
    before, objections = state(reviewed), ExitObjection.objects.count()
    writes = [
        (URL, {"household": reviewed.household_id, "year": 2018}),
        (url(reviewed, "transitions/"), {"action": "county_certify"}),
        (f"{URL}certify-batch/", {"ids": [reviewed.pk]}),
        (url(reviewed, "objections/"), {"content": "有车"}),
    ]
    for path, data in writes:
        assert_error(client.post(path, data), 403, "permission_denied")
    assert (state(reviewed), ExitObjection.objects.count()) == (before, objections)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"action": "objection_return"}, "action"),
        ({"action": "fly"}, "action"),
        ({}, "action"),
        ({"action": "withdraw"}, "reason"),
        ({"action": "withdraw", "reason": "长" * 501}, "reason"),
        ({"action": "appraise", "on_date": "2999-01-01"}, "on_date"),
        ({"action": "appraise", "on_date": "2000-01-01"}, "on_date"),
        ({"action": "appraise", "on_date": "tomorrow"}, "on_date"),
        ({"action": "appraise", "status": "certified"}, "status"),
    ],
)
def test_bad_step_input_is_a_400_and_changes_nothing(api_for, proposed, data, field):
    client = api_for("team_lian")
    before = state(proposed)
    error = assert_error(client.post(url(proposed, "transitions/"), data), 400, "invalid")
    assert field in error["fields"], error
    assert state(proposed) == before


def test_acknowledgement_signatory_must_fit_the_record(api_for, users, proposed):
    case = exit_through(proposed, users, until="verify")
    client = api_for("team_lian")
    before = state(case)
    error = assert_error(client.post(url(case, "transitions/"), {"action": "acknowledge"}), 400, "invalid")
    assert "reason" in error["fields"]
    error = assert_error(client.post(url(case, "transitions/"), {"action": "acknowledge", "reason": "名" * 51}), 400)
    assert "reason" in error["fields"]
    assert state(case) == before
    assert (
        body(client.post(url(case, "transitions/"), {"action": "acknowledge", "reason": "名" * 50}))["acknowledged_by"]
        == "名" * 50
    )


def test_certification_refuses_a_case_whose_assessment_changed(api_for, users, reviewed):
    assessment_record(actor=users["team_lian"], household=reviewed.household, year=2018, data={"wage_income": 900})
    client = api_for("county_jianghua")
    before = state(reviewed)
    error = assert_error(client.post(url(reviewed, "transitions/"), {"action": "county_certify"}), 409, "data_changed")
    assert "提出后以下信息已修改：家庭纯收入" in error["message"]
    assert [c.split(" ")[0] for c in error["fields"]["changes"]] == ["家庭纯收入", "人均纯收入"]
    assert state(reviewed) == before


# Objections ----------------------------------------------------------------------------


def test_objection_blocks_the_notice_until_dismissed(api_for, users, proposed):
    case = exit_through(proposed, users, until="open_notice", start=date.today() - timedelta(days=20))
    team = api_for("team_lian")
    raised = body(
        team.post(url(case, "objections/"), {"objector": "村民甲", "content": "收入虚报", "raised_on": days_ago(15)}),
        201,
    )
    objection = ExitObjection.objects.get(pk=raised["id"])
    assert (objection.case, objection.recorded_by, objection.outcome) == (case, users["team_lian"], "pending")
    assert (raised["outcome"], raised["outcome_display"], raised["recorded_by"]) == ("pending", "待处理", "team_lian")
    assert audited("exit_objection.raise", objection)
    assert body(team.get(url(case)))["objections"] == [raised]
    assert_error(team.post(url(case, "transitions/"), {"action": "close_notice"}), 409, "objection_pending")
    resolve = f"/api/v1/exit-objections/{objection.pk}/resolve/"
    decision = {"outcome": "dismissed", "resolution": "经核实属实申报"}
    assert_error(team.post(resolve, decision), 403, "permission_denied")
    assert_error(api_for("auditor_hunan").post(resolve, decision), 403, "permission_denied")
    for bad, field in (({"outcome": "pending"}, "outcome"), ({"resolution": " "}, "resolution")):
        error = assert_error(api_for("township_daxi").post(resolve, {**decision, **bad}), 400, "invalid")
        assert field in error["fields"]
    assert ExitObjection.objects.get(pk=objection.pk).outcome == "pending"
    decided = body(api_for("township_daxi").post(resolve, decision))
    assert (decided["outcome"], decided["outcome_display"], decided["resolved_by"]) == (
        "dismissed",
        "异议不成立",
        "township_daxi",
    )
    assert audited("exit_objection.resolve", objection)
    assert_error(api_for("county_jianghua").post(resolve, decision), 409, "conflict")
    assert body(team.post(url(case, "transitions/"), {"action": "close_notice"}))["status"] == "notice_ended"
    assert body(api_for("county_jianghua").get(f"/api/v1/exit-objections/{objection.pk}/"))["outcome"] == "dismissed"


def test_upheld_objection_returns_the_case_and_the_recorder_cannot_decide(api_for, users, proposed):
    case = exit_through(proposed, users, until="open_notice")
    objection = exit_objection_raise(actor=users["township_daxi"], case=case, objector="匿名", content="有车")
    resolve = f"/api/v1/exit-objections/{objection.pk}/resolve/"
    township = api_for("township_daxi")
    before = state(case)
    error = assert_error(township.post(resolve, {"outcome": "upheld", "resolution": "属实"}), 409, "four_eyes")
    assert error["message"] == str(FOUR_EYES_VIOLATION)
    assert state(case) == before
    body(api_for("county_jianghua").post(resolve, {"outcome": "upheld", "resolution": "车辆属实"}))
    returned = body(api_for("team_lian").get(url(case)))
    assert (returned["status"], returned["status_reason"]) == ("returned", "车辆属实")
    assert returned["steps"][-1]["action"] == "objection_return"
    assert returned["steps"][-1]["action_display"] == "异议成立，退回修改"


def test_objection_outside_the_notice_or_scope(api_for, users, proposed):
    error = assert_error(api_for("team_lian").post(url(proposed, "objections/"), {"content": "有车"}), 409)
    assert error["code"] == "transition_not_allowed"
    error = assert_error(api_for("team_lian").post(url(proposed, "objections/"), {"objector": "x"}), 400, "invalid")
    assert "content" in error["fields"]
    case = exit_through(proposed, users, until="open_notice")
    objection = exit_objection_raise(actor=users["team_lian"], case=case, objector="匿名", content="有车")
    client = api_for("county_shaoyang")
    assert_error(client.get(f"/api/v1/exit-objections/{objection.pk}/"), 404, "not_found")
    assert_error(client.post(f"/api/v1/exit-objections/{objection.pk}/resolve/", {"outcome": "dismissed"}), 404)
    assert ExitObjection.objects.count() == 1


# Batch certification -------------------------------------------------------------------


def test_batch_certifies_each_case_and_reports_every_id(api_for, users, divisions):
    cases = [exit_through(propose(users, divisions), users, until="township_approve") for _ in range(3)]
    # The second case's income is corrected after the township review: it must be refused.
    assessment_record(actor=users["team_lian"], household=cases[1].household, year=2018, data={"wage_income": 30000})
    elsewhere = propose(users, divisions, village=SHETIAN)
    ids = [c.pk for c in cases] + [elsewhere.pk, 999999999, cases[0].pk]
    answer = body(api_for("county_jianghua").post(f"{URL}certify-batch/", {"ids": ids, "on_date": days_ago(1)}))
    outcomes = [(r["id"], r["outcome"]) for r in answer["results"]]
    assert outcomes == [
        (cases[0].pk, "certified"),
        (cases[1].pk, "refused"),
        (cases[2].pk, "certified"),
        (elsewhere.pk, "not_found"),
        (999999999, "not_found"),
    ]
    assert (answer["certified"], answer["refused"], answer["not_found"]) == (2, 1, 2)
    first, refused, _third, hidden, _missing = answer["results"]
    assert (first["status"], first["status_display"], first["message"]) == ("certified", "县级审定，已脱贫", "")
    assert first["certificate_code"] == ExitCase.objects.get(pk=cases[0].pk).certificate_code
    assert (refused["status"], refused["outcome_display"], refused["certificate_code"]) == (
        "township_reviewed",
        "未审定（见原因）",
        None,
    )
    assert "提出后以下信息已修改：家庭纯收入" in refused["message"]
    assert (hidden["status"], hidden["message"]) == (None, str(NOT_FOUND))
    statuses = dict(ExitCase.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert [statuses[c.pk] for c in cases] == ["certified", "township_reviewed", "certified"]
    assert statuses[elsewhere.pk] == "proposed"
    certified = ExitCaseStep.objects.filter(case__in=cases, action="county_certify")
    assert sorted(certified.values_list("case_id", flat=True)) == sorted([cases[0].pk, cases[2].pk])
    assert all(s.actor == users["county_jianghua"] and s.effective_date == date.today() - timedelta(days=1)
               for s in certified)  # fmt: skip
    assert audited("exit_case.county_certify", cases[0]) and not audited("exit_case.county_certify", cases[1])


def test_batch_refusals(api_for, reviewed):
    path = f"{URL}certify-batch/"
    team, township, client = api_for("team_lian"), api_for("township_daxi"), api_for("county_jianghua")
    before = state(reviewed)
    assert_error(team.post(path, {"ids": [reviewed.pk]}), 403, "permission_denied")
    assert_error(township.post(path, {"ids": [reviewed.pk]}), 403, "permission_denied")
    for data, field in (
        ({"ids": []}, "ids"),
        ({}, "ids"),
        ({"ids": ["abc"]}, "ids.0"),
        ({"ids": reviewed.pk}, "ids"),
        ({"ids": [reviewed.pk], "on_date": "2999-01-01"}, "on_date"),
        ({"ids": [reviewed.pk], "force": True}, "force"),
    ):
        error = assert_error(client.post(path, data), 400, "invalid")
        assert field in error["fields"], error
    assert state(reviewed) == before


# The certificate -----------------------------------------------------------------------


def test_certificate_only_for_a_certified_case_and_errors_stay_json(api_for, users, reviewed):
    client = api_for("county_jianghua")
    error = assert_error(client.get(url(reviewed, "certificate.pdf")), 409, "not_certified")
    assert error["message"] == str(NOT_CERTIFIED)
    response = client.get(url(reviewed, "certificate.pdf"), HTTP_ACCEPT="application/pdf")
    assert response["Content-Type"] == "application/json"
    assert_error(response, 409, "not_certified")
    case = exit_case_transition(actor=users["county_jianghua"], case=reviewed, action="county_certify")
    response = client.get(url(case, "certificate.pdf"), HTTP_ACCEPT="application/pdf")
    assert (response.status_code, response["Content-Type"]) == (200, "application/pdf")
    assert response.content.startswith(b"%PDF")
    ExitCase.objects.filter(pk=case.pk).update(revoked=True, revoked_reason="错退")
    assert_error(client.get(url(case, "certificate.pdf")), 409, "not_certified")


# Filters and query counts --------------------------------------------------------------


def test_filters(api_for, users, divisions, proposed):
    reviewed = exit_through(propose(users, divisions), users, until="township_approve")
    elsewhere = propose(users, divisions, village=SHETIAN)
    client = api_for("admin")

    def found(**params):
        return {r["id"] for r in body(client.get(URL, {"page_size": 500, **params}))["results"]}

    assert found(status="township_reviewed") == {reviewed.pk}
    assert found(status=["proposed", "township_reviewed"], village=LIAN) == {proposed.pk, reviewed.pk}
    assert found(within=JIANGHUA) == found(within=DAXI) == {proposed.pk, reviewed.pk}
    assert found(within=SHAOYANG_COUNTY) == found(village=SHETIAN) == {elsewhere.pk}
    assert found(year=2018, q=proposed.household.registry_number) == {proposed.pk}
    assert found(year=2019) == set()
    assert found(updated_since=(timezone.now() + timedelta(hours=1)).isoformat()) == set()
    assert_error(client.get(URL, {"status": "bogus"}), 400, "invalid")
    assert_error(client.get(URL, {"year": "abc"}), 400, "invalid")


@pytest.mark.parametrize("username", ["admin", "county_jianghua", "team_lian"])
def test_list_query_count_does_not_grow_with_page_size(api_for, users, divisions, username):
    for until in ("appraise", "open_notice", "township_approve", "county_certify"):
        exit_through(propose(users, divisions), users, until=until)
    client = api_for(username)
    counts = []
    for size in (2, 20):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(URL, {"page_size": size})
        assert response.status_code == 200
        counts.append((len(queries), len(response.json()["results"])))
    (small, small_rows), (large, large_rows) = counts
    assert (small_rows, large_rows) == (2, 4)
    assert small == large
    assert large <= 7


def test_schema_enums_of_the_exit_procedure(client, db):
    schemas = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    requested = schemas["ExitCaseActionEnum"]["enum"]
    assert requested == [a for a, step in STEPS.items() if not step.internal]
    assert "objection_return" not in requested and "county_certify" in requested
    assert schemas["ExitCaseStepActionEnum"]["enum"] == ["propose", *STEPS]
    assert schemas["ExitCaseStatusEnum"]["enum"][0] == "proposed"
    assert schemas["ExitObjectionDecisionEnum"]["enum"] == ["upheld", "dismissed"]
    assert schemas["BatchOutcomeEnum"]["enum"] == ["certified", "refused", "not_found"]
    rule = schemas["RuleResult"]["properties"]
    assert set(rule) == {"rule", "label", "passed", "values", "explanation"}
