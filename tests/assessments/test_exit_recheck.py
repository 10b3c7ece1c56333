"""What is certified is what was reviewed: a household exit whose data changed after the
proposal is refused at township review and at county certification, at every door, naming
what changed; once returned and resubmitted it is judged on the new data."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from assessments.eligibility import build_snapshot, evaluate, snapshot_changes
from assessments.exit_cases import exit_case_propose, exit_case_transition
from assessments.models import ExitCase, ExitCaseStep
from assessments.services import assessment_record
from households.models import Household, Member
from households.services import household_update, member_update
from registry.errors import ApplicationError
from registry.models import AuditEntry
from tests.factories import exit_through, make_assessed, make_id_number

LIAN = "431129203201"
YEAR = 2018


def _child(household) -> Member:
    """Make the household's youngest member a pupil of 10 on the assessment day."""
    child = household.members.order_by("-id").first()
    return member_update(
        actor=None,
        member=child,
        changes={
            "id_number": make_id_number(birth="20080601"),
            "birth_date": date(2008, 6, 1),
            "student_status": "primary",
        },
    )


def _house_falls(case):
    household_update(actor=None, household=case.household, changes={"housing_grade": "D"})
    return "住房安全等级 B级→D级（整栋危房）"


def _pupil_leaves_school(case):
    child = case.household.members.get(birth_date=date(2008, 6, 1))
    member_update(actor=None, member=child, changes={"student_status": "not_student"})
    return f"成员 {child.name} 的在校生状况 小学→非在校生"


def _insurance_lapses(case):
    member = case.household.members.order_by("id").first()
    member_update(actor=None, member=member, changes={"basic_medical_insurance": False})
    return f"成员 {member.name} 的参加城乡居民基本医疗保险 是→否"


def _water_unsafe(case):
    household_update(actor=None, household=case.household, changes={"drinking_water_safe": False})
    return "饮水安全 是→否"


def _income_corrected(case):
    assessment_record(actor=None, household=case.household, year=YEAR, data={"wage_income": 3000})
    return "人均纯收入"


CHANGES = {
    "housing": _house_falls,
    "education": _pupil_leaves_school,
    "medical": _insurance_lapses,
    "water": _water_unsafe,
    "income": _income_corrected,
}


@pytest.fixture
def reviewed(users, divisions):
    """A case reviewed by the township, on a household with a pupil of 10."""
    household, _assessment = make_assessed(village=divisions[LIAN])
    _child(household)
    assessment_record(actor=None, household=household, year=YEAR, data={"wage_income": 20000})
    case = exit_case_propose(
        actor=users["team_lian"], household=household, year=YEAR, on_date=date.today() - timedelta(days=21)
    )
    return exit_through(case, users, until="township_approve")


def _state(case):
    return (
        ExitCase.objects.values("status", "version", "certificate_code").get(pk=case.pk),
        Household.objects.values_list("status", flat=True).get(pk=case.household_id),
        ExitCaseStep.objects.filter(case=case, action="county_certify").count(),
        AuditEntry.objects.filter(action="exit_case.county_certify").count(),
    )


def _page_step(client_for, case) -> str:
    response = client_for("county_jianghua").post(
        f"/assessments/cases/{case.pk}/steps/county_certify/", {"on_date": date.today().isoformat()}
    )
    assert response.status_code == 409
    return response.content.decode()


def _api_step(api_for, case) -> str:
    response = api_for("county_jianghua").post(
        f"/api/v1/exit-cases/{case.pk}/transitions/", {"action": "county_certify"}, format="json"
    )
    assert response.status_code == 409, response.content
    body = response.json()["error"]
    assert body["code"] == "data_changed"
    return body["message"] + "".join(body["fields"]["changes"])


def _page_batch(client_for, case) -> str:
    response = client_for("county_jianghua").post("/assessments/queue/", {"case": [case.pk]})
    html = response.content.decode()
    assert response.status_code == 200 and "审定通过 0 户，未通过 1 户" in html
    return html


def _api_batch(api_for, case) -> str:
    response = api_for("county_jianghua").post("/api/v1/exit-cases/certify-batch/", {"ids": [case.pk]}, format="json")
    assert response.status_code == 200, response.content
    (row,) = response.json()["results"]
    assert row["outcome"] == "refused" and row["status"] == "township_reviewed"
    return row["message"]


DOORS = {"page_step": _page_step, "api_step": _api_step, "page_batch": _page_batch, "api_batch": _api_batch}


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("change", CHANGES)
def test_certification_refuses_data_changed_after_review(request, reviewed, change, door):
    named = CHANGES[change](reviewed)
    before = _state(reviewed)
    client = request.getfixturevalue("api_for" if door.startswith("api") else "client_for")
    text = DOORS[door](client, reviewed)
    assert "提出后以下信息已修改" in text and named in text
    assert _state(reviewed) == before
    assert before[1] == "registered" and before[3] == 0


def test_township_review_refuses_too_and_resubmission_judges_the_new_data(users, divisions):
    household, _assessment = make_assessed(village=divisions[LIAN])
    case = exit_case_propose(
        actor=users["team_lian"], household=household, year=YEAR, on_date=date.today() - timedelta(days=21)
    )
    case = exit_through(case, users, until="close_notice")
    household_update(actor=None, household=household, changes={"housing_grade": "A"})
    with pytest.raises(ApplicationError) as info:
        exit_case_transition(actor=users["township_daxi"], case=case, action="township_approve")
    assert info.value.status == 409 and info.value.fields["changes"] == ["住房安全等级 B级→A级"]
    assert ExitCase.objects.get(pk=case.pk).status == "notice_ended"
    case = exit_case_transition(actor=users["township_daxi"], case=case, action="township_return", reason="住房已改")
    case = exit_case_transition(actor=users["team_lian"], case=case, action="resubmit")
    assert case.snapshot["household"]["housing_grade"] == "A"
    assert case.steps.last().action == "resubmit"
    for action, username in [
        ("appraise", "team_lian"),
        ("verify", "team_lian"),
        ("acknowledge", "team_lian"),
        ("open_notice", "team_lian"),
    ]:
        reason = "户主签字" if action == "acknowledge" else ""
        case = exit_case_transition(actor=users[username], case=case, action=action, reason=reason)
    assert case.status == "in_notice" and case.notice_ends_on > date.today()


def test_a_change_outside_the_rules_does_not_block_and_the_decision_replays(users, divisions):
    household, assessment = make_assessed(village=divisions[LIAN])
    case = exit_case_propose(
        actor=users["team_lian"], household=household, year=YEAR, on_date=date.today() - timedelta(days=21)
    )
    case = exit_through(case, users, until="township_approve")
    # Notes are not an input of the rules: correcting them leaves nothing to report.
    assessment = assessment_record(actor=None, household=household, year=YEAR, data={"notes": "补记走访情况"})
    assert assessment.version == 2
    case = exit_case_transition(actor=users["county_jianghua"], case=case, action="county_certify")
    assert case.status == "certified"
    assert snapshot_changes(case.snapshot, build_snapshot(assessment)) == []
    assert [r.as_dict() for r in evaluate(case.snapshot)] == case.rule_results
