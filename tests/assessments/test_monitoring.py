"""After exit: the transition period, monitoring flags (防止返贫监测) and return to poverty (返贫)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from assessments.exit_cases import exit_case_propose
from assessments.models import MonitoringFlag, MonitoringFlagStep
from assessments.monitoring import (
    FLAG_ALREADY_OPEN,
    FLAG_NOT_IN_TRANSITION,
    RETURN_NO_ACTIVE_FLAG,
    households_in_transition,
    in_transition,
    monitoring_check_assessment,
    monitoring_flag_raise,
    monitoring_flag_transition,
    return_to_poverty,
)
from assessments.parameters import monitoring_threshold, parameter_set
from assessments.services import assessment_record
from households import errors as household_errors
from households.models import Household
from registry.errors import FOUR_EYES_VIOLATION, ApplicationError
from registry.models import AuditEntry
from tests.factories import exit_through, make_assessed, make_household
from villages.selectors import poverty_incidence

LIAN = "431129203201"
TODAY = date.today()


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


@pytest.fixture
def exited(users, divisions):
    """A 3-person 栗安村 household exited in 2018 (certified twelve days ago)."""
    return _exited(users, divisions)


@pytest.fixture
def flaggable(users, divisions):
    """The exited household, with Hunan's transition long enough to reach today (the demo years are past)."""
    parameter_set(actor=None, key="transition_years", value=TODAY.year - 2018, scope_code="430000000000")
    return _exited(users, divisions)


def _exited(users, divisions):
    household, _assessment = make_assessed(village=divisions[LIAN])
    case = exit_case_propose(actor=users["team_lian"], household=household, year=2018, on_date=days_ago(21))
    exit_through(case, users)
    return Household.objects.get(pk=household.pk)


def assess(household, *, year: int = 2019, wage) -> object:
    return assessment_record(
        actor=None, household=household, year=year, data={"wage_income": wage, "assessed_on": date(year, 11, 1)}
    )


def raise_event(users, household, on_date=None):
    return monitoring_flag_raise(
        actor=users["team_lian"],
        household=household,
        kind="sudden",
        reason="户主突发重病，住院费用远超家庭收入",
        event="重大疾病",
        on_date=on_date or days_ago(12),
    )


def to_notice(users, flag, *, on_date=None, removal: bool = False):
    day = on_date or days_ago(12)
    if removal:
        flag = monitoring_flag_transition(
            actor=users["team_lian"], flag=flag, action="propose_removal", reason="收入稳定", on_date=day
        )
    for action in ("appraise_removal", "open_removal_notice") if removal else ("appraise", "open_notice"):
        flag = monitoring_flag_transition(actor=users["team_lian"], flag=flag, action=action, on_date=day)
    return flag


def active_flag(users, household):
    flag = to_notice(users, raise_event(users, household))
    return monitoring_flag_transition(actor=users["county_jianghua"], flag=flag, action="approve", on_date=days_ago(7))


def refused(func, *, flag=None, household=None, message=None, code=None) -> ApplicationError:
    flags = list(MonitoringFlag.objects.values().order_by("pk"))
    row = Household.objects.values().get(pk=household.pk) if household else None
    counts = (MonitoringFlagStep.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ApplicationError) as info:
        func()
    if message is not None:
        assert str(info.value) == str(message)
    if code is not None:
        assert info.value.code == code
    assert list(MonitoringFlag.objects.values().order_by("pk")) == flags
    if household:
        assert Household.objects.values().get(pk=household.pk) == row
    assert (MonitoringFlagStep.objects.count(), AuditEntry.objects.count()) == counts
    return info.value


# The transition period ---------------------------------------------------------------------


def test_transition_runs_from_the_exit_year_through_five_more(users, exited):
    assert not in_transition(exited, 2017)
    assert in_transition(exited, 2018)
    assert in_transition(exited, 2023)
    assert not in_transition(exited, 2024)
    lian = users["county_jianghua"]
    assert exited in households_in_transition(user=lian, year=2023)
    assert exited not in households_in_transition(user=lian, year=2024)
    assert exited not in households_in_transition(user=users["county_shaoyang"], year=2020)


def test_a_registered_household_is_not_in_transition(divisions):
    household = make_household(village=divisions[LIAN], status="registered")
    assert not in_transition(household, 2019)


# Raising from an assessment ----------------------------------------------------------------


def test_an_assessment_below_the_threshold_proposes_an_unstable_flag(users, exited):
    assessment = assess(exited, wage=12000)  # 4,000 a head < 1.5 × 3,747
    flag = monitoring_check_assessment(actor=users["team_lian"], assessment=assessment)
    assert (flag.status, flag.kind, flag.trigger) == ("proposed", "unstable", "assessment")
    assert flag.source_assessment == assessment and "5620.50" in flag.reason
    assert list(flag.steps.values_list("action", "actor__username")) == [("raise", "team_lian")]
    assert AuditEntry.objects.filter(action="monitoring_flag.raise", object_id=str(flag.pk)).exists()
    assert monitoring_check_assessment(actor=users["team_lian"], assessment=assessment) is None  # no duplicate
    assert MonitoringFlag.objects.filter(household=exited).count() == 1


def test_an_assessment_at_the_threshold_raises_nothing(users, exited):
    threshold = monitoring_threshold(2019, LIAN)
    assert threshold == Decimal("5620.50")
    assessment = assess(exited, wage=threshold * 3)
    assert assessment.per_capita_net_income == threshold
    assert monitoring_check_assessment(actor=users["team_lian"], assessment=assessment) is None
    assert not MonitoringFlag.objects.filter(household=exited).exists()


def test_an_assessment_of_a_household_not_exited_raises_nothing(users, divisions):
    household, assessment = make_assessed(village=divisions[LIAN], wage=3000)
    assert monitoring_check_assessment(actor=users["team_lian"], assessment=assessment) is None
    assert not MonitoringFlag.objects.filter(household=household).exists()


def test_checking_an_assessment_is_refused_outside_the_jurisdiction(users, exited):
    assessment = assess(exited, wage=12000)
    refused(lambda: monitoring_check_assessment(actor=users["county_shaoyang"], assessment=assessment))


# Raising from an event ---------------------------------------------------------------------


def test_an_event_flag_is_raised_by_the_work_team_with_its_reason(users, flaggable):
    flag = raise_event(users, flaggable)
    assert (flag.status, flag.kind, flag.trigger, flag.event) == ("proposed", "sudden", "event", "重大疾病")
    refused(lambda: raise_event(users, flaggable), message=FLAG_ALREADY_OPEN, code="conflict")


def test_raising_is_refused_to_other_roles_without_reason_or_outside_transition(users, divisions, flaggable):
    refused(
        lambda: monitoring_flag_raise(actor=users["county_jianghua"], household=flaggable, kind="sudden", reason="病"),
        code="permission_denied",
    )
    refused(lambda: monitoring_flag_raise(actor=users["team_lian"], household=flaggable, kind="sudden", reason=" "))
    registered = make_household(village=divisions[LIAN], status="registered")
    refused(
        lambda: monitoring_flag_raise(actor=users["team_lian"], household=registered, kind="sudden", reason="灾"),
        message=FLAG_NOT_IN_TRANSITION % {"status": registered.get_status_display()},
    )


# The flag path -----------------------------------------------------------------------------


def test_the_flag_path_waits_for_the_notice_and_the_county(users, flaggable):
    flag = to_notice(users, raise_event(users, flaggable))
    assert flag.status == "in_notice" and flag.notice_ends_on == days_ago(7)  # five days
    refused(
        lambda: monitoring_flag_transition(
            actor=users["county_jianghua"], flag=flag, action="approve", on_date=days_ago(8)
        ),
        flag=flag,
        message=household_errors.NOTICE_NOT_ENDED % {"ends": days_ago(7)},
    )
    refused(
        lambda: monitoring_flag_transition(actor=users["team_lian"], flag=flag, action="approve", on_date=days_ago(7)),
        code="permission_denied",
    )
    flag = monitoring_flag_transition(actor=users["county_jianghua"], flag=flag, action="approve", on_date=days_ago(7))
    assert flag.status == "active"
    assert list(flag.steps.values_list("action", flat=True)) == ["raise", "appraise", "open_notice", "approve"]
    assert AuditEntry.objects.filter(action="monitoring_flag.approve", object_id=str(flag.pk)).exists()


def test_the_county_approval_judges_the_assessment_again(users, flaggable):
    assessment = assess(flaggable, wage=12000)  # 4,000 a head < the threshold
    raised = monitoring_check_assessment(actor=users["team_lian"], assessment=assessment, on_date=days_ago(12))
    flag = to_notice(users, raised)
    assess(flaggable, wage=30000)  # corrected during the notice: 10,000 a head
    error = refused(
        lambda: monitoring_flag_transition(actor=users["county_jianghua"], flag=flag, action="approve"),
        flag=flag,
        code="data_changed",
    )
    assert error.fields["changes"] == ["2019 年人均纯收入现为 10000.00 元，已不低于监测标准 5620.50 元"]
    flag = monitoring_flag_transition(actor=users["county_jianghua"], flag=flag, action="reject", reason="收入已更正")
    assert flag.status == "rejected"


def test_the_county_step_keeps_four_eyes(users, flaggable):
    admin = users["admin"]
    flag = monitoring_flag_raise(
        actor=admin, household=flaggable, kind="sudden", reason="洪灾冲毁房屋", on_date=days_ago(12)
    )
    flag = monitoring_flag_transition(actor=admin, flag=flag, action="appraise", on_date=days_ago(12))
    flag = monitoring_flag_transition(actor=admin, flag=flag, action="open_notice", on_date=days_ago(12))
    refused(
        lambda: monitoring_flag_transition(actor=admin, flag=flag, action="approve", on_date=days_ago(7)),
        message=FOUR_EYES_VIOLATION,
        code="four_eyes",
    )


def test_rejection_at_the_county_needs_a_reason(users, flaggable):
    flag = to_notice(users, raise_event(users, flaggable))
    county = users["county_jianghua"]
    refused(lambda: monitoring_flag_transition(actor=county, flag=flag, action="reject", on_date=days_ago(7)))
    flag = monitoring_flag_transition(actor=county, flag=flag, action="reject", reason="医保报销后开支可承受")
    assert flag.status == "rejected" and flag.status_reason == "医保报销后开支可承受"
    assert raise_event(users, flaggable, on_date=TODAY).status == "proposed"  # a rejected flag is closed


def test_a_step_not_in_the_table_cannot_happen(users, flaggable):
    flag = raise_event(users, flaggable)
    for action in ("approve", "open_notice", "approve_removal", "return_to_poverty", "nonsense"):
        refused(lambda action=action: monitoring_flag_transition(actor=users["admin"], flag=flag, action=action))


# Risk removal (风险消除) -------------------------------------------------------------------


def test_the_removal_path(users, flaggable):
    flag = active_flag(users, flaggable)
    flag = to_notice(users, flag, on_date=days_ago(6), removal=True)
    assert flag.status == "removal_in_notice" and flag.notice_ends_on == days_ago(1)
    county = users["county_jianghua"]
    refused(lambda: monitoring_flag_transition(actor=county, flag=flag, action="approve_removal", on_date=days_ago(2)))
    refused(lambda: monitoring_flag_transition(actor=county, flag=flag, action="reject_removal", on_date=days_ago(1)))
    kept = monitoring_flag_transition(
        actor=county, flag=flag, action="reject_removal", reason="仍需观察", on_date=days_ago(1)
    )
    assert (kept.status, kept.status_reason) == ("active", "仍需观察")
    flag = to_notice(users, kept, on_date=days_ago(1), removal=True)
    assert flag.notice_ends_on == TODAY + timedelta(days=4)
    refused(lambda: monitoring_flag_transition(actor=county, flag=flag, action="approve_removal"))


def test_an_approved_removal_closes_the_flag(users, flaggable):
    flag = to_notice(users, active_flag(users, flaggable), on_date=days_ago(6), removal=True)
    flag = monitoring_flag_transition(
        actor=users["county_jianghua"], flag=flag, action="approve_removal", on_date=days_ago(1)
    )
    assert flag.status == "removed"
    assert list(flag.steps.values_list("action", flat=True))[-4:] == [
        "propose_removal", "appraise_removal", "open_removal_notice", "approve_removal",
    ]  # fmt: skip


def test_the_removal_county_step_keeps_four_eyes_and_roles(users, flaggable):
    flag = active_flag(users, flaggable)
    county, admin = users["county_jianghua"], users["admin"]
    refused(
        lambda: monitoring_flag_transition(actor=county, flag=flag, action="propose_removal", reason="收入稳定"),
        code="permission_denied",
    )
    flag = monitoring_flag_transition(
        actor=admin, flag=flag, action="propose_removal", reason="收入稳定", on_date=days_ago(6)
    )
    for action in ("appraise_removal", "open_removal_notice"):
        flag = monitoring_flag_transition(actor=admin, flag=flag, action=action, on_date=days_ago(6))
    refused(
        lambda: monitoring_flag_transition(actor=admin, flag=flag, action="approve_removal", on_date=days_ago(1)),
        message=FOUR_EYES_VIOLATION,
    )
    assert monitoring_flag_transition(actor=county, flag=flag, action="approve_removal").status == "removed"


# Return to poverty (返贫) ------------------------------------------------------------------


def test_return_to_poverty_registers_the_household_again(users, flaggable, divisions):
    village = divisions[LIAN]
    before = poverty_incidence(village).poor_persons
    flag = active_flag(users, flaggable)
    household = return_to_poverty(
        actor=users["county_jianghua"], household=flaggable, cause="disaster", reason="洪灾后收入低于扶贫标准",
        on_date=days_ago(3),
    )  # fmt: skip
    household.refresh_from_db()
    assert (household.status, household.main_cause, household.status_date) == ("returned", "disaster", days_ago(3))
    assert household.status_changes.last().action == "return_to_poverty"
    flag.refresh_from_db()
    assert flag.status == "returned" and flag.steps.last().action == "return_to_poverty"
    assert AuditEntry.objects.filter(action="household.update", object_id=str(household.pk)).exists()
    assert poverty_incidence(village).poor_persons == before + 3
    assert not in_transition(household, 2020)


def test_return_to_poverty_is_refused_without_an_active_flag_or_by_other_roles(users, flaggable):
    county = users["county_jianghua"]

    def attempt(actor=county, **extra):
        data = {"cause": "illness", "reason": "因病返贫", "on_date": TODAY, **extra}
        return lambda: return_to_poverty(actor=actor, household=flaggable, **data)

    refused(attempt(), household=flaggable, message=RETURN_NO_ACTIVE_FLAG)
    flag = to_notice(users, raise_event(users, flaggable))
    refused(attempt(), household=flaggable, message=RETURN_NO_ACTIVE_FLAG)  # in notice, not yet approved
    monitoring_flag_transition(actor=county, flag=flag, action="approve", on_date=days_ago(7))
    refused(attempt(actor=users["team_lian"]), household=flaggable, code="permission_denied")
    refused(attempt(actor=users["county_shaoyang"]), household=flaggable)
    refused(attempt(cause="bad_luck"), household=flaggable)
    refused(attempt(reason=""), household=flaggable)
    refused(attempt(on_date=days_ago(8)), household=flaggable)  # before the approval


# Admin ---------------------------------------------------------------------------------------


def test_admin_steps_call_the_services(users, flaggable, client_for):
    flag = to_notice(users, raise_event(users, flaggable))
    url = "/admin/assessments/monitoringflag/"
    team = client_for("team_lian").get(url).content.decode()
    assert "step_appraise" in team and "step_approve" not in team and "return_to_poverty" not in team
    assert client_for("team_lian").get(f"{url}add/").status_code == 200
    county = client_for("county_jianghua")
    assert "公示截止日期" in county.get(f"{url}{flag.pk}/change/").content.decode()
    data = {"action": "step_approve", "_selected_action": [flag.pk], "apply": "1", "reason": "", "on_date": days_ago(8)}
    assert "公示期未满" in county.post(url, data, follow=True).content.decode()
    assert MonitoringFlag.objects.get(pk=flag.pk).status == "in_notice"
    county.post(url, {**data, "on_date": days_ago(7)})
    assert MonitoringFlag.objects.get(pk=flag.pk).status == "active"
    county.post(
        url,
        {
            "action": "return_to_poverty",
            "_selected_action": [flag.pk],
            "apply": "1",
            "cause": "illness",
            "reason": "因病返贫",
            "on_date": TODAY,
        },
    )
    assert Household.objects.get(pk=flaggable.pk).status == "returned"
