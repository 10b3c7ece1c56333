"""The identification state machine: every allowed transition, forbidden ones, four-eyes,
notices and objections."""

from datetime import date, timedelta

import pytest

from households import errors
from households.choices import HouseholdStatus, IdentificationStep, ObjectionOutcome
from households.models import Household, StatusChange
from households.services import objection_raise, objection_resolve
from households.workflow import TRANSITIONS, available_transitions, household_transition
from registry.errors import FOUR_EYES_VIOLATION, OUT_OF_JURISDICTION, ApplicationError
from registry.models import AuditEntry
from tests.factories import IDENTIFICATION_PATH, advance, make_applied

LIAN = "431129203201"
ACTORS = {
    "appraise": "team_lian",
    "open_village_notice": "team_lian",
    "close_village_notice": "team_lian",
    "township_approve": "township_daxi",
    "close_township_notice": "township_daxi",
    "county_approve": "county_jianghua",
}
EXPECTED = {
    "appraise": (HouseholdStatus.APPRAISED, IdentificationStep.APPRAISED),
    "open_village_notice": (HouseholdStatus.IN_NOTICE, IdentificationStep.VILLAGE_NOTICE),
    "close_village_notice": (HouseholdStatus.IN_NOTICE, IdentificationStep.TOWNSHIP_REVIEW),
    "township_approve": (HouseholdStatus.IN_NOTICE, IdentificationStep.TOWNSHIP_NOTICE),
    "close_township_notice": (HouseholdStatus.IN_NOTICE, IdentificationStep.COUNTY_APPROVAL),
    "county_approve": (HouseholdStatus.REGISTERED, IdentificationStep.ANNOUNCED),
}


def days_ago(n: int) -> date:
    return date.today() - timedelta(days=n)


@pytest.fixture
def applied(users, divisions):
    return make_applied(village=divisions[LIAN], actor=users["team_lian"], on_date=days_ago(31))


def step(users, household, action, username=None, **kwargs):
    kwargs.setdefault("on_date", days_ago(dict(IDENTIFICATION_PATH).get(action, 0)))
    return household_transition(actor=users[username or ACTORS[action]], household=household, action=action, **kwargs)


def assert_refused(func, message=None, *, household, code=None):
    """The call is refused, with ``message``, and the household is exactly as before."""
    before = Household.objects.values().get(pk=household.pk)
    changes, audits = StatusChange.objects.count(), AuditEntry.objects.count()
    with pytest.raises(ApplicationError) as info:
        func()
    if message is not None:
        assert str(info.value) == str(message)
    if code is not None:
        assert info.value.code == code
    assert Household.objects.values().get(pk=household.pk) == before
    assert (StatusChange.objects.count(), AuditEntry.objects.count()) == (changes, audits)
    return info.value


def test_full_identification_path_by_three_people(users, applied):
    household = applied
    for action, _days in IDENTIFICATION_PATH:
        household = step(users, household, action)
        assert (household.status, household.step) == EXPECTED[action]
    assert household.identified_year == days_ago(14).year
    history = list(household.status_changes.values_list("action", "actor__username"))
    assert history == [("apply", "team_lian"), *[(a, ACTORS[a]) for a, _d in IDENTIFICATION_PATH]]
    audited = AuditEntry.objects.filter(object_id=str(household.pk), action__startswith="household.")
    assert [e.action for e in audited.order_by("id")] == ["household.apply"] + [
        f"household.{a}" for a, _d in IDENTIFICATION_PATH
    ]
    assert household.members.filter(current=True).count() == 3


@pytest.mark.parametrize("action", [a for a, _d in IDENTIFICATION_PATH])
def test_each_step_only_from_its_own_step(users, applied, action):
    """Every path step is refused from every other step of the path."""
    household = applied
    for earlier, _days in IDENTIFICATION_PATH:
        if earlier == action:
            break
        if TRANSITIONS[action].from_steps and household.step not in TRANSITIONS[action].from_steps:
            assert_refused(
                lambda h=household: step(users, h, action), household=household, code="transition_not_allowed"
            )
        household = step(users, household, earlier)


def test_work_team_cannot_approve_for_the_township(users, applied):
    household = advance(applied, until="close_village_notice", actors={a: users[u] for a, u in ACTORS.items()})
    error = assert_refused(lambda: step(users, household, "township_approve", "team_lian"), household=household)
    assert error.status == 403 and "乡镇审核员" in str(error)


def test_four_eyes_township_reviewer_who_closed_the_notice_cannot_approve(users, applied):
    household = advance(applied, until="open_village_notice", actors={a: users[u] for a, u in ACTORS.items()})
    household = step(users, household, "close_village_notice", "township_daxi")
    assert_refused(
        lambda: step(users, household, "township_approve", "township_daxi"),
        FOUR_EYES_VIOLATION,
        household=household,
    )


def test_four_eyes_the_proposer_cannot_approve_even_as_admin(users, divisions):
    household = make_applied(village=divisions[LIAN], actor=users["admin"], on_date=days_ago(31))
    actors = {a: users[u] for a, u in ACTORS.items()}
    household = advance(household, until="close_township_notice", actors=actors)
    assert_refused(lambda: step(users, household, "county_approve", "admin"), FOUR_EYES_VIOLATION, household=household)
    assert step(users, household, "county_approve").status == HouseholdStatus.REGISTERED


def test_notice_cannot_close_before_its_end(users, applied):
    household = step(users, applied, "appraise", on_date=days_ago(3))
    household = step(users, household, "open_village_notice", on_date=days_ago(3))
    assert household.notice_ends_on == days_ago(3) + timedelta(days=7)
    assert_refused(
        lambda: step(users, household, "close_village_notice", on_date=date.today()),
        errors.NOTICE_NOT_ENDED % {"ends": household.notice_ends_on},
        household=household,
    )


def test_notice_days_are_configurable(users, applied):
    from assessments.parameters import parameter_set

    parameter_set(actor=users["admin"], key="notice_days", qualifier="village", value=3)
    household = step(users, applied, "appraise", on_date=days_ago(3))
    household = step(users, household, "open_village_notice", on_date=days_ago(3))
    assert step(users, household, "close_village_notice", on_date=date.today()).step == "township_review"


def test_dates_cannot_be_in_the_future_or_before_the_previous_step(users, applied):
    assert_refused(
        lambda: step(users, applied, "appraise", on_date=date.today() + timedelta(days=1)), household=applied
    )
    assert_refused(
        lambda: step(users, applied, "appraise", on_date=days_ago(40)),
        errors.DATE_BEFORE_PREVIOUS % {"previous": days_ago(31)},
        household=applied,
    )


@pytest.mark.parametrize(
    ("until", "action", "username"),
    [
        (None, "appraisal_reject", "team_lian"),
        ("close_village_notice", "township_reject", "township_daxi"),
        ("close_township_notice", "county_reject", "county_jianghua"),
    ],
)
def test_rejection_needs_a_reason_and_frees_the_members(users, applied, until, action, username):
    household = applied
    if until:
        household = advance(household, until=until, actors={a: users[u] for a, u in ACTORS.items()})
    assert_refused(
        lambda: step(users, household, action, username, on_date=date.today()),
        errors.REASON_REQUIRED % {"action": TRANSITIONS[action].label},
        household=household,
    )
    household = step(users, household, action, username, reason="家庭收入超过标准", on_date=date.today())
    assert (household.status, household.step, household.status_reason) == ("rejected", "rejected", "家庭收入超过标准")
    assert not household.members.filter(current=True).exists()
    assert available_transitions(household, users["admin"]) == []


def test_unknown_and_objection_only_actions_are_refused(users, applied):
    assert_refused(lambda: step(users, applied, "teleport", "team_lian"), household=applied)
    assert_refused(lambda: step(users, applied, "objection_return", "county_jianghua"), household=applied)


def test_out_of_jurisdiction_is_not_found(users, applied):
    error = assert_refused(
        lambda: step(users, applied, "appraise", "county_shaoyang"), OUT_OF_JURISDICTION, household=applied
    )
    assert error.status == 404


def test_available_transitions_follow_role_and_state(users, applied):
    assert [t.action for t in available_transitions(applied, users["team_lian"])] == ["appraise", "appraisal_reject"]
    assert [t.action for t in available_transitions(applied, users["township_daxi"])] == ["natural_decrease"]
    assert available_transitions(applied, users["auditor_hunan"]) == []


# Objections ---------------------------------------------------------------------------


@pytest.fixture
def in_village_notice(users, applied):
    return advance(applied, until="open_village_notice", actors={a: users[u] for a, u in ACTORS.items()})


def test_objection_blocks_until_dismissed(users, in_village_notice):
    household = in_village_notice
    objection = objection_raise(
        actor=users["team_lian"], household=household, objector="村民甲", content="家有货车", raised_on=days_ago(25)
    )
    assert_refused(
        lambda: step(users, household, "close_village_notice"),
        errors.OBJECTION_PENDING % {"count": 1},
        household=household,
    )
    objection_resolve(
        actor=users["township_daxi"],
        objection=objection,
        outcome=ObjectionOutcome.DISMISSED,
        resolution="经核实车辆已报废",
    )
    objection.refresh_from_db()
    assert (objection.resolved_by, objection.outcome) == (users["township_daxi"], "dismissed")
    assert step(users, household, "close_village_notice").step == IdentificationStep.TOWNSHIP_REVIEW


def test_upheld_objection_returns_the_case_to_appraisal(users, in_village_notice):
    objection = objection_raise(
        actor=users["team_lian"], household=in_village_notice, objector="匿名", content="优亲厚友"
    )
    objection_resolve(
        actor=users["township_daxi"],
        objection=objection,
        outcome=ObjectionOutcome.UPHELD_RETURN,
        resolution="评议程序不规范，重新评议",
    )
    household = Household.objects.get(pk=in_village_notice.pk)
    assert (household.status, household.step) == (HouseholdStatus.APPLIED, IdentificationStep.APPLICATION)
    assert household.status_changes.last().action == "objection_return"


def test_upheld_objection_can_reject(users, in_village_notice):
    objection = objection_raise(
        actor=users["team_lian"], household=in_village_notice, objector="村民乙", content="有商品房"
    )
    objection_resolve(
        actor=users["county_jianghua"], objection=objection, outcome=ObjectionOutcome.UPHELD_REJECT, resolution="属实"
    )
    household = Household.objects.get(pk=in_village_notice.pk)
    assert household.status == HouseholdStatus.REJECTED
    assert not household.members.filter(current=True).exists()


def test_objection_rules(users, divisions, in_village_notice):
    other = make_applied(village=divisions[LIAN], actor=users["team_lian"])
    with pytest.raises(ApplicationError) as info:
        objection_raise(actor=users["team_lian"], household=other, objector="x", content="y")
    assert str(info.value) == str(errors.OBJECTION_ONLY_IN_NOTICE)
    objection = objection_raise(actor=users["county_jianghua"], household=in_village_notice, objector="x", content="y")
    with pytest.raises(ApplicationError) as info:  # the work team ran the notice: it may not decide
        objection_resolve(actor=users["team_lian"], objection=objection, outcome="dismissed", resolution="z")
    assert info.value.status == 403
    with pytest.raises(ApplicationError) as info:  # who recorded it may not decide it
        objection_resolve(actor=users["county_jianghua"], objection=objection, outcome="dismissed", resolution="z")
    assert str(info.value) == str(FOUR_EYES_VIOLATION)
    with pytest.raises(ApplicationError):
        objection_resolve(actor=users["township_daxi"], objection=objection, outcome="dismissed", resolution=" ")
    objection_resolve(actor=users["township_daxi"], objection=objection, outcome="dismissed", resolution="不属实")
    with pytest.raises(ApplicationError) as info:
        objection_resolve(actor=users["township_daxi"], objection=objection, outcome="dismissed", resolution="again")
    assert str(info.value) == str(errors.OBJECTION_ALREADY_RESOLVED)


# After registration ----------------------------------------------------------------------


@pytest.fixture
def registered(users, applied):
    return advance(applied, until="county_approve", actors={a: users[u] for a, u in ACTORS.items()})


def test_removal_needs_the_county_and_a_reason(users, registered):
    assert_refused(lambda: step(users, registered, "remove", "team_lian", reason="错评"), household=registered)
    assert_refused(lambda: step(users, registered, "remove", "county_jianghua"), household=registered)
    household = step(users, registered, "remove", "county_jianghua", reason="错评：家有财政供养人员")
    assert household.status == HouseholdStatus.REMOVED and household.step == IdentificationStep.ANNOUNCED
    assert not household.members.filter(current=True).exists()
    assert Household.objects.filter(pk=household.pk).exists(), "records are never deleted"


def test_natural_decrease_takes_a_listed_reason(users, registered):
    assert_refused(
        lambda: step(users, registered, "natural_decrease", "township_daxi", reason="不知道"), household=registered
    )
    household = step(users, registered, "natural_decrease", "township_daxi", reason="merged")
    assert household.status == HouseholdStatus.NATURAL_DECREASE
    assert_refused(lambda: step(users, household, "remove", "county_jianghua", reason="x"), household=household)


def test_reason_longer_than_the_record_holds_is_refused(users, applied):
    assert_refused(
        lambda: step(users, applied, "appraisal_reject", "team_lian", reason="长" * 501, on_date=date.today()),
        errors.REASON_TOO_LONG % {"limit": 500},
        household=applied,
    )
    rejected = step(users, applied, "appraisal_reject", "team_lian", reason="长" * 500, on_date=date.today())
    assert rejected.status == "rejected"
