"""Household exit cases: the whole procedure, refusals, four-eyes, objections, batch, replay, certificate."""

import io
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pypdf import PdfReader

from assessments import errors
from assessments.certificates import certificate_pdf, mask_name, public_facts
from assessments.exit_cases import (
    STEPS,
    available_steps,
    exit_case_certify_batch,
    exit_case_propose,
    exit_case_transition,
    exit_objection_raise,
    exit_objection_resolve,
)
from assessments.models import ExitCase, ExitCaseStep
from assessments.services import assessment_record
from households.models import Household
from registry.errors import FOUR_EYES_VIOLATION, ApplicationError
from registry.models import AuditEntry
from tests.factories import EXIT_PATH, exit_through, make_assessed

LIAN = "431129203201"


@pytest.fixture
def proposed(users, divisions):
    household, _assessment = make_assessed(village=divisions[LIAN])
    return exit_case_propose(
        actor=users["team_lian"], household=household, year=2018, on_date=date.today() - timedelta(days=21)
    )


def refused(func, *, case, message=None, code=None) -> ApplicationError:
    before = ExitCase.objects.values().get(pk=case.pk)
    counts = (ExitCaseStep.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ApplicationError) as info:
        func()
    if message is not None:
        assert str(info.value) == str(message)
    if code is not None:
        assert info.value.code == code
    assert ExitCase.objects.values().get(pk=case.pk) == before
    assert (ExitCaseStep.objects.count(), AuditEntry.objects.count()) == counts
    return info.value


def test_the_whole_procedure_exits_the_household(users, proposed):
    case = exit_through(proposed, users)
    assert case.status == "certified" and len(case.certificate_code) == 12
    household = Household.objects.get(pk=case.household_id)
    assert household.status == "exited"
    assert household.status_changes.last().action == "certify_exit"
    actions = list(case.steps.values_list("action", "actor__username"))
    assert actions == [("propose", "team_lian"), *EXIT_PATH]
    assert case.acknowledged_by == "户主签字"
    audited = AuditEntry.objects.filter(object_id=str(case.pk), action__startswith="exit_case.").count()
    assert audited == len(EXIT_PATH) + 1


def test_proposal_is_refused_with_the_failed_rules(users, divisions):
    household, _assessment = make_assessed(village=divisions[LIAN], wage=3000, housing_grade="D")
    with pytest.raises(ApplicationError) as info:
        exit_case_propose(actor=users["team_lian"], household=household, year=2018)
    assert info.value.code == "rules_failed"
    assert [line.split("：")[0] for line in info.value.fields["rules"]] == ["收入稳定超过扶贫标准", "住房安全有保障"]
    assert not ExitCase.objects.filter(household=household).exists()


def test_proposal_needs_an_assessment_and_a_registered_household(users, divisions):
    household, _assessment = make_assessed(village=divisions[LIAN])
    with pytest.raises(ApplicationError) as info:
        exit_case_propose(actor=users["team_lian"], household=household, year=2019)
    assert str(info.value) == str(errors.EXIT_NO_ASSESSMENT % {"year": 2019})
    with pytest.raises(ApplicationError):
        exit_case_propose(actor=users["township_daxi"], household=household, year=2018)
    exit_case_propose(actor=users["team_lian"], household=household, year=2018)
    with pytest.raises(ApplicationError) as info:
        exit_case_propose(actor=users["team_lian"], household=household, year=2018)
    assert str(info.value) == str(errors.EXIT_ALREADY_OPEN % {"year": 2018})


@pytest.mark.parametrize("action", [a for a, _u in EXIT_PATH[1:]])
def test_steps_out_of_order_are_refused(users, proposed, action):
    username = dict(EXIT_PATH)[action]
    refused(
        lambda: exit_case_transition(actor=users[username], case=proposed, action=action, reason="x"),
        case=proposed,
        code="transition_not_allowed",
    )


def test_acknowledgement_needs_the_signatory(users, proposed):
    case = exit_through(proposed, users, until="verify")
    refused(
        lambda: exit_case_transition(actor=users["team_lian"], case=case, action="acknowledge"),
        case=case,
        message=errors.EXIT_ACK_NAME_REQUIRED,
    )


def test_four_eyes_at_township_and_county(users, proposed):
    case = exit_through(proposed, users, until="open_notice", start=date.today() - timedelta(days=20))
    case = exit_case_transition(actor=users["township_daxi"], case=case, action="close_notice", on_date=date.today())
    refused(
        lambda: exit_case_transition(actor=users["township_daxi"], case=case, action="township_approve"),
        case=case,
        message=FOUR_EYES_VIOLATION,
    )


def test_notice_must_run_its_days(users, proposed):
    case = exit_through(proposed, users, until="open_notice", start=date.today() - timedelta(days=3))
    refused(
        lambda: exit_case_transition(actor=users["team_lian"], case=case, action="close_notice"),
        case=case,
        code="notice_not_ended",
    )


def test_upheld_objection_returns_the_case_and_resubmission_rejudges(users, proposed):
    case = exit_through(proposed, users, until="open_notice")
    objection = exit_objection_raise(actor=users["team_lian"], case=case, objector="村民", content="收入虚报")
    refused(
        lambda: exit_case_transition(actor=users["team_lian"], case=case, action="close_notice"),
        case=case,
        code="objection_pending",
    )
    exit_objection_resolve(actor=users["township_daxi"], objection=objection, upheld=True, resolution="工资收入需核实")
    case.refresh_from_db()
    assert case.status == "returned"
    household = case.household
    assessment_record(actor=users["team_lian"], household=household, year=2018, data={"wage_income": 3000})
    with pytest.raises(ApplicationError) as info:
        exit_case_transition(actor=users["team_lian"], case=case, action="resubmit")
    assert info.value.code == "rules_failed"
    assessment_record(actor=users["team_lian"], household=household, year=2018, data={"wage_income": 15000})
    case = exit_case_transition(actor=users["team_lian"], case=case, action="resubmit")
    assert case.status == "proposed" and case.snapshot["assessment"]["version"] == 3


def test_dismissed_objection_lets_the_notice_close(users, proposed):
    case = exit_through(proposed, users, until="open_notice")
    objection = exit_objection_raise(actor=users["county_jianghua"], case=case, objector="匿名", content="有车")
    with pytest.raises(ApplicationError):  # the recorder may not decide
        exit_objection_resolve(actor=users["county_jianghua"], objection=objection, upheld=False, resolution="无车")
    exit_objection_resolve(actor=users["township_daxi"], objection=objection, upheld=False, resolution="核实无车")
    case = exit_case_transition(actor=users["team_lian"], case=case, action="close_notice")
    assert case.status == "notice_ended"


def test_certification_refuses_a_case_whose_assessment_changed(users, proposed):
    case = exit_through(proposed, users, until="township_approve")
    assessment_record(actor=users["team_lian"], household=case.household, year=2018, data={"wage_income": 25000})
    error = refused(
        lambda: exit_case_transition(actor=users["county_jianghua"], case=case, action="county_certify"),
        case=case,
        code="data_changed",
    )
    assert str(error).startswith("提出后以下信息已修改：家庭纯收入 20000.00→25000.00；人均纯收入")


def test_county_returns_and_rejects_with_a_reason(users, proposed):
    case = exit_through(proposed, users, until="township_approve")
    refused(lambda: exit_case_transition(actor=users["county_jianghua"], case=case, action="county_return"), case=case)
    case = exit_case_transition(actor=users["county_jianghua"], case=case, action="county_return", reason="缺走访记录")
    assert (case.status, case.status_reason) == ("returned", "缺走访记录")
    assert [s.action for s in available_steps(case, users["team_lian"])] == ["withdraw", "resubmit"]


def test_batch_certification_checks_each_case(users, divisions):
    cases = []
    for _ in range(3):
        household, _assessment = make_assessed(village=divisions[LIAN])
        case = exit_case_propose(
            actor=users["team_lian"], household=household, year=2018, on_date=date.today() - timedelta(days=21)
        )
        cases.append(exit_through(case, users, until="township_approve"))
    # The second case's income is corrected after township review: it must not be certified.
    assessment_record(actor=users["team_lian"], household=cases[1].household, year=2018, data={"wage_income": 900})
    outcome = exit_case_certify_batch(actor=users["county_jianghua"], cases=cases)
    assert [error is None for _case, error in outcome] == [True, False, True]
    statuses = list(
        ExitCase.objects.filter(pk__in=[c.pk for c in cases]).order_by("pk").values_list("status", flat=True)
    )
    assert statuses == ["certified", "township_reviewed", "certified"]
    assert ExitCaseStep.objects.filter(case__in=cases, action="county_certify").count() == 2


def test_replay_matches_and_reports_tampering(users, proposed, capsys):
    call_command("replay_exit_case", proposed.pk)
    assert "replay matches" in capsys.readouterr().out
    snapshot = proposed.snapshot
    snapshot["assessment"]["per_capita_net_income"] = "100.00"
    ExitCase.objects.filter(pk=proposed.pk).update(snapshot=snapshot)
    with pytest.raises(CommandError, match="1 difference"):
        call_command("replay_exit_case", proposed.pk)


def test_certificate_pdf_and_public_facts(users, proposed):
    case = exit_through(proposed, users)
    text = PdfReader(io.BytesIO(certificate_pdf(case))).pages[0].extract_text()
    assert "栗安村" in text and "2018 年" in text and case.certificate_code in text
    facts = public_facts(case.certificate_code.lower())
    head = case.household.members.get(relationship="head").name
    assert facts["head"] == mask_name(head) and facts["year"] == 2018 and facts["valid"]
    assert "栗安村" in facts["village"] and public_facts("NOPE") is None


def test_every_step_in_the_table_is_reachable_by_some_role():
    assert all(step.roles or step.internal for step in STEPS.values())


def test_revoking_a_wrong_exit(users, proposed):
    from assessments.exit_cases import exit_case_revoke

    case = exit_through(proposed, users)
    with pytest.raises(ApplicationError):
        exit_case_revoke(actor=users["team_lian"], case=case, reason="错退")
    with pytest.raises(ApplicationError):
        exit_case_revoke(actor=users["county_jianghua"], case=case, reason=" ")
    case = exit_case_revoke(actor=users["county_jianghua"], case=case, reason="核查发现收入虚报")
    assert case.revoked and public_facts(case.certificate_code)["valid"] is False
    assert Household.objects.get(pk=case.household_id).status == "registered"
    assert case.steps.last().action == "revoke"


def test_certificate_issue_is_audited_and_refused_when_revoked(users, proposed):
    from assessments.certificates import certificate_issue
    from assessments.exit_cases import exit_case_revoke

    case = exit_through(proposed, users)
    pdf = certificate_issue(actor=users["county_jianghua"], case=case)
    assert pdf.startswith(b"%PDF")
    assert AuditEntry.objects.latest("id").action == "exit_case.certificate_issue"
    exit_case_revoke(actor=users["county_jianghua"], case=case, reason="错退")
    case.refresh_from_db()
    with pytest.raises(ApplicationError):
        certificate_issue(actor=users["county_jianghua"], case=case)
