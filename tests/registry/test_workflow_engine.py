"""The workflow engine on a procedure declared here, over the exit case's tables: a step added
as one row gets four eyes, notice days and objections from the engine, at apply and in what
is offered."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from assessments.choices import ExitCaseStatus as C
from assessments.exit_cases import exit_case_propose
from assessments.models import ExitCase, ExitCaseStep, ExitObjection
from registry import workflow as engine
from registry.errors import FOUR_EYES_VIOLATION, ApplicationError
from registry.models import AuditEntry
from registry.roles import Role
from registry.workflow import Step, Workflow
from tests.factories import make_assessed

LIAN = "431129203201"
TEAM, TOWNSHIP, COUNTY = frozenset({Role.WORK_TEAM}), frozenset({Role.TOWNSHIP}), frozenset({Role.COUNTY})

STEPS = {
    s.action: s
    for s in [
        Step("publish", "张榜", (C.PROPOSED,), C.IN_NOTICE, TEAM, opens_notice="test_notice"),
        Step("conclude", "期满", (C.IN_NOTICE,), C.NOTICE_ENDED, TOWNSHIP | TEAM, closes_notice=True),
        Step("uphold", "成立", (C.IN_NOTICE,), C.RETURNED, frozenset(), internal=True),
    ]
}


def declare(steps: dict) -> Workflow:
    return Workflow(
        name="test_case", model=ExitCase, history=ExitCaseStep, history_key="case", steps=steps,
        code=lambda case: case.household.village_id, notice_days=lambda procedure, code: 5,
        not_allowed="当前为“%(status)s”，不能“%(action)s”。", round_starts=frozenset({"propose"}),
        objections=ExitObjection, objection_recorders=TEAM | TOWNSHIP, objection_deciders=COUNTY,
        objection_outcomes={"upheld": "uphold", "dismissed": None}, related=("household",),
    )  # fmt: skip


BASE = declare(STEPS)
#: The same procedure with one more row: a township sign-off under four eyes.
EXTENDED = declare(
    {
        **STEPS,
        "sign_off": Step("sign_off", "签发", (C.NOTICE_ENDED,), C.TOWNSHIP_REVIEWED, TOWNSHIP | COUNTY, review=True),
    }
)


def days_ago(n: int) -> date:
    return date.today() - timedelta(days=n)


@pytest.fixture
def case(users, divisions):
    household, _assessment = make_assessed(village=divisions[LIAN])
    return exit_case_propose(actor=users["team_lian"], household=household, year=2018, on_date=days_ago(20))


def offered(workflow, case, user) -> list[str]:
    return [s.action for s in engine.available_steps(workflow, ExitCase.objects.get(pk=case.pk), user)]


def refused(workflow, case, user, action, code, **kwargs) -> ApplicationError:
    before = (ExitCase.objects.values().get(pk=case.pk), ExitCaseStep.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ApplicationError) as info:
        engine.apply(workflow, actor=user, obj=case, action=action, **kwargs)
    assert info.value.code == code
    after = (ExitCase.objects.values().get(pk=case.pk), ExitCaseStep.objects.count(), AuditEntry.objects.count())
    assert after == before
    return info.value


def test_a_row_added_to_the_table_is_a_step_with_four_eyes(users, case):
    assert "sign_off" not in BASE.steps
    team, township, county = users["team_lian"], users["township_daxi"], users["county_jianghua"]
    case = engine.apply(EXTENDED, actor=team, obj=case, action="publish", on_date=days_ago(12))
    case = engine.apply(EXTENDED, actor=township, obj=case, action="conclude", on_date=days_ago(6))
    # The township concluded the notice in this round: it may not sign off too, and is not offered it.
    assert offered(EXTENDED, case, township) == [] and offered(EXTENDED, case, county) == ["sign_off"]
    error = refused(EXTENDED, case, township, "sign_off", "four_eyes")
    assert str(error) == str(FOUR_EYES_VIOLATION)
    refused(BASE, case, county, "sign_off", "invalid")  # not a row of the base table
    case = engine.apply(EXTENDED, actor=county, obj=case, action="sign_off")
    assert case.status == C.TOWNSHIP_REVIEWED and case.version == 4
    history = list(ExitCaseStep.objects.filter(case=case).values_list("action", "from_status", "to_status", "actor"))
    assert history[-1] == ("sign_off", C.NOTICE_ENDED, C.TOWNSHIP_REVIEWED, county.pk)
    audit = AuditEntry.objects.filter(action="test_case.sign_off", object_id=str(case.pk)).get()
    assert audit.before == {"status": C.NOTICE_ENDED} and audit.after["status"] == C.TOWNSHIP_REVIEWED


def test_the_notice_runs_its_declared_days_and_objections_block_it(users, case):
    team, township, county = users["team_lian"], users["township_daxi"], users["county_jianghua"]
    case = engine.apply(EXTENDED, actor=team, obj=case, action="publish", on_date=days_ago(8))
    assert case.notice_ends_on == days_ago(3)
    refused(EXTENDED, case, township, "conclude", "notice_not_ended", on_date=days_ago(4))
    objection = engine.objection_raise(
        EXTENDED, actor=team, obj=case, objector="", content="收入不实", raised_on=days_ago(5)
    )
    assert objection.objector == engine.ANONYMOUS
    assert offered(EXTENDED, case, township) == []  # an objection is pending
    refused(EXTENDED, case, township, "conclude", "objection_pending")
    with pytest.raises(ApplicationError) as info:  # only the declared deciders decide
        engine.objection_resolve(EXTENDED, actor=team, objection=objection, outcome="dismissed", resolution="不实")
    assert info.value.code == "permission_denied"
    engine.objection_resolve(EXTENDED, actor=county, objection=objection, outcome="dismissed", resolution="核实不成立")
    assert offered(EXTENDED, case, township) == ["conclude"]
    case = engine.apply(EXTENDED, actor=township, obj=case, action="conclude")
    assert case.status == C.NOTICE_ENDED


def test_an_upheld_objection_takes_its_declared_internal_step(users, case):
    team, county = users["team_lian"], users["county_jianghua"]
    case = engine.apply(EXTENDED, actor=team, obj=case, action="publish", on_date=days_ago(8))
    refused(EXTENDED, case, county, "uphold", "invalid")  # internal: no door takes it
    objection = engine.objection_raise(
        EXTENDED, actor=team, obj=case, objector="村民甲", content="有车", raised_on=days_ago(2)
    )
    engine.objection_resolve(EXTENDED, actor=county, objection=objection, outcome="upheld", resolution="属实")
    case.refresh_from_db()
    assert (case.status, case.status_reason, case.notice_ends_on) == (C.RETURNED, "属实", None)
    assert ExitCaseStep.objects.filter(case=case).last().action == "uphold"
    with pytest.raises(ApplicationError) as info:  # no longer in notice
        engine.objection_raise(EXTENDED, actor=team, obj=case, objector="", content="x")
    assert info.value.code == "transition_not_allowed"


def test_checks_decide_what_is_offered_and_rechecks_what_is_taken(users, case):
    calls = []

    def closed(case, actor, on_date):
        raise ApplicationError("本月不办理", code="closed", status=409)

    def judged(case, actor, on_date):
        calls.append(case.pk)
        raise ApplicationError("数据已变", code="data_changed", status=409)

    steps = {
        **STEPS,
        "shut": Step("shut", "关闭", (C.PROPOSED,), C.WITHDRAWN, TEAM, checks=(closed,)),
        "judge": Step("judge", "复核", (C.PROPOSED,), C.APPRAISED, TEAM, rechecks=(judged,)),
    }
    workflow = declare(steps)
    team = users["team_lian"]
    assert offered(workflow, case, team) == ["publish", "judge"] and calls == []
    refused(workflow, case, team, "shut", "closed")
    refused(workflow, case, team, "judge", "data_changed")
    assert calls == [case.pk]
    refused(workflow, case, team, "publish", "invalid", on_date=date.today() + timedelta(days=1))
    error = refused(workflow, case, team, "publish", "invalid", on_date=date(1, 1, 1))
    assert error.fields == {"on_date": ["日期 0001-01-01 不合理：流程日期不能早于 2000-01-01。"]}
    refused(workflow, case, users["county_jianghua"], "publish", "permission_denied")
