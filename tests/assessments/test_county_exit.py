"""County exit (贫困县摘帽): application, prefecture review, the province's sampled evaluation, approval.

The county is 桂东县 (郴州), which the 2017 plan had exit that year. Its test villages:
甲村, 512 rural residents, with ten exited one-person households and one registered
household of two; 乙村, 1,000 rural residents, no registered household. So the
unregistered rural population is 512 − 12 = 500 in 甲村 and 1,000 in 乙村: 1,500 in all.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.urls import reverse

from assessments import area_exits
from assessments.area_exits import (
    county_exit_apply,
    county_exit_draw_sample,
    county_exit_evaluate,
    county_exit_objection_raise,
    county_exit_objection_resolve,
    county_exit_record_household_visit,
    county_exit_record_village_visit,
    county_exit_resubmit,
    county_exit_transition,
    draw,
    household_frame,
)
from assessments.models import CountyExitCase, CountyExitStep, SampledHousehold, SampledVillage
from registry.errors import FOUR_EYES_VIOLATION, ApplicationError
from registry.models import AuditEntry
from registry.roles import Role
from registry.services import user_create
from tests.factories import make_household, make_township, make_village
from villages.models import CountyStatus
from villages.services import county_status_set, village_status_set

GUIDONG = "431027000000"
CHENZHOU = "431000000000"
HUNAN = "430000000000"


def ago(days: int) -> date:
    return date.today() - timedelta(days=days)


@dataclass
class Guidong:
    people: dict
    county: object
    village_a: object
    village_b: object


def setup_guidong(users: dict, divisions, *, rural_population: int = 10000) -> Guidong:
    """Create 桂东县's officials and the two villages of the module docstring (system actor)."""

    def user(username, role, code):
        return user_create(actor=None, username=username, password=None, role=role, jurisdictions=[divisions[code]])

    people = {
        **users,
        "county_guidong": user("county_guidong", Role.COUNTY, GUIDONG),
        "prefecture_chenzhou": user("prefecture_chenzhou", Role.PREFECTURE, CHENZHOU),
        "province_hunan_2": user("province_hunan_2", Role.PROVINCE, HUNAN),
    }
    county = divisions[GUIDONG]
    county_status_set(actor=None, county=county, rural_population=rural_population)
    township = make_township(county=county, number=1, name="沤江镇")
    village_a = make_village(parent=township, number=2, name="甲村")
    village_b = make_village(parent=township, number=3, name="乙村")
    village_status_set(actor=None, village=village_a, is_poverty_village=True, rural_population=512)
    village_status_set(actor=None, village=village_b, rural_population=1000)
    for _ in range(10):
        make_household(village=village_a, status="exited", persons=1)
    make_household(village=village_a, status="registered", persons=2)
    return Guidong(people=people, county=county, village_a=village_a, village_b=village_b)


def sampled(case, people, *, households: int = 10, villages: int = 2, seed: int = 2017, day: date | None = None):
    """Apply → prefecture review → draw the sample (all ten households and both villages by default)."""
    day = day or ago(10)
    case = county_exit_transition(
        actor=people["prefecture_chenzhou"], case=case, action="prefecture_approve", on_date=day
    )
    return county_exit_draw_sample(
        actor=people["province_hunan"], case=case, households=households, villages=villages, seed=seed, on_date=day
    )


def visit_all(case, people, *, wrongly_exited: int, approving: int, missed: dict[str, int], day: date | None = None):
    """Visit every sampled unit: the first ``wrongly_exited`` households wrongly exited, ``approving`` approve."""
    day = day or ago(10)
    for i, row in enumerate(case.sampled_households.order_by("position")):
        county_exit_record_household_visit(
            actor=people["province_hunan"], sampled=row, wrongly_exited=i < wrongly_exited, approves=i < approving,
            visited_on=day,
        )  # fmt: skip
    for row in case.sampled_villages.select_related("village"):
        county_exit_record_village_visit(
            actor=people["province_hunan"], sampled=row, missed_persons=missed[row.village.name], visited_on=day
        )


def exit_county(place: Guidong, *, year: int = 2017) -> CountyExitCase:
    """Take 桂东县 through the whole procedure with a passing evaluation."""
    people = place.people
    case = county_exit_apply(actor=people["county_guidong"], county=place.county, year=year, on_date=ago(10))
    case = sampled(case, people)
    visit_all(case, people, wrongly_exited=0, approving=9, missed={"甲村": 10, "乙村": 20})
    case = county_exit_evaluate(actor=people["province_hunan"], case=case, on_date=ago(10))
    case = county_exit_transition(actor=people["province_hunan"], case=case, action="open_notice", on_date=ago(10))
    case = county_exit_transition(actor=people["province_hunan"], case=case, action="close_notice", on_date=ago(2))
    return county_exit_transition(actor=people["province_hunan_2"], case=case, action="province_approve")


@pytest.fixture
def guidong(users, divisions) -> Guidong:
    return setup_guidong(users, divisions)


@pytest.fixture
def applied(guidong):
    return county_exit_apply(actor=guidong.people["county_guidong"], county=guidong.county, year=2017, on_date=ago(10))


def refused(func, *, case, message=None, code=None) -> ApplicationError:
    """Call ``func``, expect a refusal, and check it changed nothing."""
    state = lambda: (  # noqa: E731
        CountyExitCase.objects.values().get(pk=case.pk),
        list(SampledHousehold.objects.filter(case=case).values()),
        list(SampledVillage.objects.filter(case=case).values()),
        CountyExitStep.objects.count(),
        AuditEntry.objects.count(),
    )
    before = state()
    with pytest.raises(ApplicationError) as info:
        func()
    if message is not None:
        assert str(info.value) == str(message)
    if code is not None:
        assert info.value.code == code, str(info.value)
    assert state() == before
    return info.value


# The whole procedure, on the hand-computed example ----------------------------------------------


def test_the_whole_procedure_exits_the_county(guidong):
    case = exit_county(guidong)
    assert case.status == "approved" and case.approved_on == date.today()
    # Application: 2 poor persons ÷ 10,000 = 0.02 % < 2 %.
    assert (case.poor_persons, case.rural_population, str(case.incidence)) == (2, 10000, "0.02")
    # 错退率 = 0 wrongly exited ÷ 10 sampled exited households = 0.00 %       (≤ 2 %)
    # 漏评率 = (10 + 20) missed ÷ (500 + 1,000) unregistered = 30 ÷ 1,500 = 2.00 % (≤ 2 %: passes at the limit)
    # 认可度 = 9 approving ÷ 10 surveyed = 90.00 %                             (≥ 90 %: passes at the limit)
    # 综合贫困发生率 = (2 poor + 30 missed + 0 wrongly exited persons) ÷ 10,000 = 0.32 % (< 2 %)
    rates = (case.wrong_exit_rate, case.missed_rate, case.approval_rate, case.comprehensive_incidence)
    assert tuple(str(r) for r in rates) == ("0.00", "2.00", "90.00", "0.32")
    assert case.evaluation_passed is True
    assert case.evaluation["counts"] == {
        "sampled_households": 10,
        "wrongly_exited_households": 0,
        "wrongly_exited_persons": 0,
        "approving_households": 9,
        "sampled_villages": 2,
        "unregistered_population": 1500,
        "missed_persons": 30,
        "poor_persons": 2,
        "rural_population": 10000,
    }
    assert [c["explanation"] for c in case.evaluation["checks"]] == [
        "错退率 0.00%（0 ÷ 10）≤ 上限 2.00%。",
        "漏评率 2.00%（30 ÷ 1500）≤ 上限 2.00%。",
        "群众认可度 90.00%（9 ÷ 10）≥ 下限 90.00%。",
        "综合贫困发生率 0.32%（32 ÷ 10000）< 退出标准 2.00%。",
    ]
    status = CountyStatus.objects.get(pk=GUIDONG)
    assert (status.exit_status, status.exit_year) == ("exited", 2017)
    assert list(case.steps.values_list("action", "actor__username")) == [
        ("apply", "county_guidong"),
        ("prefecture_approve", "prefecture_chenzhou"),
        ("draw_sample", "province_hunan"),
        ("evaluate", "province_hunan"),
        ("open_notice", "province_hunan"),
        ("close_notice", "province_hunan"),
        ("province_approve", "province_hunan_2"),
    ]
    audited = AuditEntry.objects.filter(object_id=str(case.pk), action__startswith="county_exit.")
    assert audited.exclude(action__startswith="county_exit.visit_").count() == 7
    assert AuditEntry.objects.filter(action="county_exit.visit_household").count() == 10
    assert AuditEntry.objects.filter(action="county_exit.visit_village").count() == 2
    exit_audit = AuditEntry.objects.get(
        action="county_status.exit", object_id=GUIDONG, actor_username="province_hunan_2"
    )
    assert exit_audit.after == {"exit_status": "exited", "exit_year": 2017}


def test_the_approval_counts_the_evaluation_again_and_refuses_what_changed(guidong):
    people = guidong.people
    case = county_exit_apply(actor=people["county_guidong"], county=guidong.county, year=2017, on_date=ago(10))
    case = sampled(case, people)
    visit_all(case, people, wrongly_exited=0, approving=9, missed={"甲村": 10, "乙村": 20})
    case = county_exit_evaluate(actor=people["province_hunan"], case=case, on_date=ago(10))
    case = county_exit_transition(actor=people["province_hunan"], case=case, action="open_notice", on_date=ago(10))
    case = county_exit_transition(actor=people["province_hunan"], case=case, action="close_notice", on_date=ago(2))
    # The county raises its own denominator after the evaluation: the approval sees it.
    county_status_set(actor=None, county=guidong.county, rural_population=40000)
    make_household(village=guidong.village_a, status="registered", persons=3)
    error = refused(
        lambda: county_exit_transition(actor=people["province_hunan_2"], case=case, action="province_approve"),
        case=case,
        code="data_changed",
    )
    assert error.fields["changes"] == ["未脱贫人口 2→5", "农村户籍人口 10000→40000"]
    assert CountyStatus.objects.get(pk=GUIDONG).exit_status != "exited"


def test_sampled_villages_carry_their_unregistered_population(guidong, applied):
    case = sampled(applied, guidong.people)
    rows = {v.village.name: v for v in case.sampled_villages.select_related("village")}
    # 甲村: 512 − (10 exited + 2 registered) = 500; 乙村: 1,000 − 0 = 1,000.
    assert (rows["甲村"].registered_persons, rows["甲村"].unregistered_population) == (12, 500)
    assert (rows["乙村"].registered_persons, rows["乙村"].unregistered_population) == (0, 1000)
    assert sorted(h.persons for h in case.sampled_households.all()) == [1] * 10


# The vetoes --------------------------------------------------------------------------------------


def test_a_vetoed_evaluation_refuses_the_notice_and_the_approval(guidong, applied):
    people = guidong.people
    case = sampled(applied, people)
    visit_all(case, people, wrongly_exited=1, approving=8, missed={"甲村": 11, "乙村": 20})
    case = county_exit_evaluate(actor=people["province_hunan"], case=case, on_date=ago(9))
    # 错退率 = 1 ÷ 10 = 10.00 % > 2 %; 漏评率 = 31 ÷ 1,500 = 2.0666… → 2.07 % > 2 %;
    # 认可度 = 8 ÷ 10 = 80.00 % < 90 %; 综合贫困发生率 = (2 + 31 + 1) ÷ 10,000 = 0.34 % < 2 % (passes).
    assert case.status == "evaluated" and case.evaluation_passed is False
    rates = (case.wrong_exit_rate, case.missed_rate, case.approval_rate, case.comprehensive_incidence)
    assert tuple(str(r) for r in rates) == ("10.00", "2.07", "80.00", "0.34")
    error = refused(
        lambda: county_exit_transition(actor=people["province_hunan"], case=case, action="open_notice"),
        case=case,
        code="vetoed",
    )
    assert error.fields["checks"] == [
        "错退率：错退率 10.00%（1 ÷ 10）> 上限 2.00%。",
        "漏评率：漏评率 2.07%（31 ÷ 1500）> 上限 2.00%。",
        "群众认可度：群众认可度 80.00%（8 ÷ 10）< 下限 90.00%。",
    ]
    assert str(error).startswith("专项评估未通过（一票否决 3 项）")
    refused(
        lambda: county_exit_transition(actor=people["province_hunan_2"], case=case, action="province_approve"),
        case=case,
        code="transition_not_allowed",
    )
    case = county_exit_transition(actor=people["province_hunan_2"], case=case, action="reject", reason="三项指标否决")
    assert case.status == "rejected"
    assert CountyStatus.objects.get(pk=GUIDONG).exit_status == "not_exited"


def test_the_approval_guard_names_the_vetoes_too(guidong, applied):
    """Defence in depth: a case somehow at the approval with a vetoed evaluation is still refused."""
    people = guidong.people
    case = sampled(applied, people)
    visit_all(case, people, wrongly_exited=1, approving=10, missed={"甲村": 0, "乙村": 0})
    case = county_exit_evaluate(actor=people["province_hunan"], case=case, on_date=ago(9))
    CountyExitCase.objects.filter(pk=case.pk).update(status="notice_ended")
    case.refresh_from_db()
    error = refused(
        lambda: county_exit_transition(actor=people["province_hunan_2"], case=case, action="province_approve"),
        case=case,
        code="vetoed",
    )
    assert error.fields["checks"] == ["错退率：错退率 10.00%（1 ÷ 10）> 上限 2.00%。"]


def test_the_comprehensive_incidence_adds_the_evaluation_findings(users, divisions):
    place = setup_guidong(users, divisions, rural_population=1600)
    people = place.people
    # Application: 2 ÷ 1,600 = 0.13 % < 2 %.
    case = county_exit_apply(actor=people["county_guidong"], county=place.county, year=2017, on_date=ago(10))
    case = sampled(case, people)
    visit_all(case, people, wrongly_exited=0, approving=10, missed={"甲村": 10, "乙村": 20})
    case = county_exit_evaluate(actor=people["province_hunan"], case=case, on_date=ago(9))
    # Evaluation: (2 poor + 30 missed + 0) ÷ 1,600 = 2.00 %, not below 2 %: vetoed.
    assert case.evaluation_passed is False
    failed = [c["explanation"] for c in case.evaluation["checks"] if not c["passed"]]
    assert failed == ["综合贫困发生率 2.00%（32 ÷ 1600）≥ 退出标准 2.00%。"]


def test_the_vetoes_are_parameters(guidong, applied):
    from assessments.choices import ParameterKey
    from assessments.parameters import parameter_set

    parameter_set(actor=guidong.people["province_hunan"], key=ParameterKey.APPROVAL_MIN, scope_code=HUNAN, value="95")
    people = guidong.people
    case = sampled(applied, people)
    visit_all(case, people, wrongly_exited=0, approving=9, missed={"甲村": 0, "乙村": 0})
    case = county_exit_evaluate(actor=people["province_hunan"], case=case, on_date=ago(9))
    assert [c["explanation"] for c in case.evaluation["checks"] if not c["passed"]] == [
        "群众认可度 90.00%（9 ÷ 10）< 下限 95.00%。"
    ]


# Application -------------------------------------------------------------------------------------


def test_application_is_refused_when_the_incidence_is_not_below_the_threshold(users, divisions):
    place = setup_guidong(users, divisions, rural_population=100)
    with pytest.raises(ApplicationError) as info:
        county_exit_apply(actor=place.people["county_guidong"], county=place.county, year=2017)
    # 2 poor persons ÷ 100 = 2.00 %, not below 2 %.
    assert info.value.code == "checks_failed"
    assert info.value.fields["checks"] == ["贫困发生率：贫困发生率 2.00%（2 ÷ 100）≥ 退出标准 2.00%。"]
    assert not CountyExitCase.objects.exists()


def test_who_and_what_may_apply(guidong, users, divisions):
    people = guidong.people
    for username in ("prefecture_chenzhou", "province_hunan", "township_daxi"):
        with pytest.raises(ApplicationError) as info:
            county_exit_apply(actor=people[username], county=guidong.county, year=2017)
        assert info.value.code == "permission_denied"
    with pytest.raises(ApplicationError) as info:
        county_exit_apply(actor=people["county_jianghua"], county=guidong.county, year=2017)
    assert info.value.code == "not_found"
    with pytest.raises(ApplicationError) as info:
        county_exit_apply(actor=people["admin"], county=divisions["431002000000"], year=2017)  # 北湖区
    assert str(info.value) == str(area_exits.NOT_A_POVERTY_COUNTY % {"county": "北湖区"})
    county_exit_apply(actor=people["county_guidong"], county=guidong.county, year=2017)
    with pytest.raises(ApplicationError) as info:
        county_exit_apply(actor=people["county_guidong"], county=guidong.county, year=2018)
    assert str(info.value) == str(area_exits.COUNTY_CASE_OPEN % {"county": "桂东县"})


def test_a_county_without_its_rural_population_cannot_apply(users):
    with pytest.raises(ApplicationError) as info:
        county_exit_apply(
            actor=users["county_shaoyang"], county=CountyStatus.objects.get(pk="430523000000").county, year=2019
        )
    assert str(info.value) == str(area_exits.COUNTY_POPULATION_UNKNOWN % {"county": "邵阳县"})


# Forbidden transitions, roles and four eyes --------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "username"),
    [
        ("open_notice", "province_hunan"),
        ("close_notice", "province_hunan"),
        ("province_approve", "province_hunan"),
        ("reject", "province_hunan"),
        ("resubmit", "county_guidong"),
        ("draw_sample", "province_hunan"),
        ("evaluate", "province_hunan"),
        ("objection_return", "province_hunan"),
    ],
)
def test_steps_out_of_order_or_internal_are_refused(guidong, applied, action, username):
    error = refused(
        lambda: county_exit_transition(actor=guidong.people[username], case=applied, action=action, reason="x"),
        case=applied,
    )
    assert error.code in ("transition_not_allowed", "invalid")


def test_each_review_needs_its_role_and_jurisdiction(guidong, applied):
    people = guidong.people
    for username in ("county_guidong", "province_hunan"):
        refused(
            lambda username=username: county_exit_transition(
                actor=people[username], case=applied, action="prefecture_approve"
            ),
            case=applied,
            code="permission_denied",
        )
    refused(  # 永州 does not review 郴州's counties
        lambda: county_exit_transition(actor=people["prefecture_yongzhou"], case=applied, action="prefecture_approve"),
        case=applied,
        code="not_found",
    )
    case = county_exit_transition(actor=people["prefecture_chenzhou"], case=applied, action="prefecture_approve")
    refused(
        lambda: county_exit_draw_sample(actor=people["prefecture_chenzhou"], case=case, households=1, villages=1),
        case=case,
        code="permission_denied",
    )


def test_the_verifier_cannot_approve(guidong, applied):
    people = guidong.people
    case = sampled(applied, people)
    visit_all(case, people, wrongly_exited=0, approving=10, missed={"甲村": 0, "乙村": 0})
    case = county_exit_evaluate(actor=people["province_hunan"], case=case, on_date=ago(10))
    case = county_exit_transition(actor=people["province_hunan"], case=case, action="open_notice", on_date=ago(10))
    case = county_exit_transition(actor=people["province_hunan"], case=case, action="close_notice", on_date=ago(2))
    refused(
        lambda: county_exit_transition(actor=people["province_hunan"], case=case, action="province_approve"),
        case=case,
        message=FOUR_EYES_VIOLATION,
    )
    refused(
        lambda: county_exit_transition(actor=people["province_hunan"], case=case, action="reject", reason="x"),
        case=case,
        message=FOUR_EYES_VIOLATION,
    )


def test_a_visit_recorder_cannot_approve(guidong, applied):
    """A colleague who only recorded visits took part in the verification too."""
    people = guidong.people
    case = sampled(applied, people)
    visit_all(case, people, wrongly_exited=0, approving=10, missed={"甲村": 0, "乙村": 0})
    row = case.sampled_households.first()
    county_exit_record_household_visit(
        actor=people["province_hunan_2"], sampled=row, wrongly_exited=False, approves=True, visited_on=ago(9)
    )
    case = county_exit_evaluate(actor=people["province_hunan"], case=case, on_date=ago(9))
    case = county_exit_transition(actor=people["province_hunan"], case=case, action="open_notice", on_date=ago(9))
    case = county_exit_transition(actor=people["province_hunan"], case=case, action="close_notice", on_date=ago(1))
    refused(
        lambda: county_exit_transition(actor=people["province_hunan_2"], case=case, action="province_approve"),
        case=case,
        message=FOUR_EYES_VIOLATION,
    )


def test_four_eyes_between_application_and_review(guidong):
    people = guidong.people
    case = county_exit_apply(actor=people["admin"], county=guidong.county, year=2017)
    refused(
        lambda: county_exit_transition(actor=people["admin"], case=case, action="prefecture_approve"),
        case=case,
        message=FOUR_EYES_VIOLATION,
    )


def test_a_returned_application_is_resubmitted_and_counted_again(guidong, applied):
    people = guidong.people
    case = county_exit_transition(
        actor=people["prefecture_chenzhou"], case=applied, action="prefecture_return", reason="补充村级资料"
    )
    assert case.status == "returned"
    make_household(village=guidong.village_b, status="registered", persons=3)
    case = county_exit_resubmit(actor=people["county_guidong"], case=case)
    assert case.status == "applied" and case.poor_persons == 5


# The sample ---------------------------------------------------------------------------------------


def test_the_draw_is_reproducible():
    frame = [f"H{i:03d}" for i in range(50)]
    assert draw(frame, 5, 42) == draw(frame, 5, 42)
    assert draw(frame, 5, 42) != draw(frame, 5, 43)
    assert len(set(draw(frame, 5, 42))) == 5 and set(draw(frame, 5, 42)) <= set(frame)


def test_same_seed_same_sample_different_seed_different_sample(guidong):
    people = guidong.people

    def drawn(seed):
        case = county_exit_apply(actor=people["county_guidong"], county=guidong.county, year=2017)
        case = sampled(case, people, households=3, villages=1, seed=seed, day=date.today())
        numbers = list(case.sampled_households.values_list("household__registry_number", flat=True))
        villages = list(case.sampled_villages.values_list("village_id", flat=True))
        county_exit_transition(actor=people["province_hunan_2"], case=case, action="reject", reason="重新抽样测试")
        return case, numbers, villages

    first, numbers, villages = drawn(42)
    assert first.sample_seed == 42 and (first.sample_household_count, first.sample_village_count) == (3, 1)
    assert first.sample_frame["households"] == 10 and first.sample_frame["villages"] == 2
    # The stored sample is the draw from the stored seed over the frame.
    assert numbers == draw(household_frame(GUIDONG), 3, 42)
    again, numbers_again, villages_again = drawn(42)
    assert (numbers_again, villages_again) == (numbers, villages)
    assert again.sample_frame == first.sample_frame
    _other, numbers_other, _v = drawn(7)
    assert numbers_other != numbers


def test_a_seed_is_chosen_and_stored_when_none_is_given(guidong, applied):
    people = guidong.people
    case = county_exit_transition(actor=people["prefecture_chenzhou"], case=applied, action="prefecture_approve")
    case = county_exit_draw_sample(actor=people["province_hunan"], case=case, households=2, villages=1)
    assert case.sample_seed is not None
    numbers = list(case.sampled_households.values_list("household__registry_number", flat=True))
    assert numbers == draw(household_frame(GUIDONG), 2, case.sample_seed)


def test_the_sample_must_fit_its_frame(guidong, applied):
    people = guidong.people
    case = county_exit_transition(actor=people["prefecture_chenzhou"], case=applied, action="prefecture_approve")
    for households, villages, what in ((11, 1, "脱贫户"), (0, 1, "脱贫户"), (1, 3, "村")):
        available = 10 if what == "脱贫户" else 2
        size = households if what == "脱贫户" else villages
        refused(
            lambda h=households, v=villages: county_exit_draw_sample(
                actor=people["province_hunan"], case=case, households=h, villages=v, seed=1
            ),
            case=case,
            message=area_exits.SAMPLE_SIZE_INVALID % {"what": what, "size": size, "available": available},
        )


# Visits and the evaluation ---------------------------------------------------------------------------


def test_the_evaluation_needs_every_visit(guidong, applied):
    people = guidong.people
    case = sampled(applied, people)
    row = case.sampled_households.first()
    county_exit_record_household_visit(
        actor=people["province_hunan"], sampled=row, wrongly_exited=False, approves=True, visited_on=ago(9)
    )
    refused(
        lambda: county_exit_evaluate(actor=people["province_hunan"], case=case),
        case=case,
        message=area_exits.VISITS_INCOMPLETE % {"households": 9, "villages": 2},
    )


def test_visits_are_checked_and_corrections_audited(guidong, applied):
    people = guidong.people
    case = sampled(applied, people)
    village_row = case.sampled_villages.get(village=guidong.village_a)
    with pytest.raises(ApplicationError) as info:
        county_exit_record_village_visit(
            actor=people["province_hunan"], sampled=village_row, missed_persons=501, visited_on=ago(9)
        )
    assert str(info.value) == str(area_exits.MISSED_EXCEEDS_UNREGISTERED % {"missed": 501, "unregistered": 500})
    with pytest.raises(ApplicationError) as info:
        county_exit_record_village_visit(
            actor=people["province_hunan"], sampled=village_row, missed_persons=1, visited_on=ago(11)
        )
    assert str(info.value) == str(area_exits.VISIT_BEFORE_SAMPLE % {"sampled": ago(10)})
    with pytest.raises(ApplicationError) as info:
        county_exit_record_village_visit(
            actor=people["prefecture_chenzhou"], sampled=village_row, missed_persons=1, visited_on=ago(9)
        )
    assert info.value.code == "permission_denied"
    row = case.sampled_households.first()
    county_exit_record_household_visit(
        actor=people["province_hunan"], sampled=row, wrongly_exited=True, approves=False, visited_on=ago(9)
    )
    county_exit_record_household_visit(
        actor=people["province_hunan"], sampled=row, wrongly_exited=False, approves=True, visited_on=ago(8),
        note="复核：收入证明补齐",
    )  # fmt: skip
    last = AuditEntry.objects.filter(action="county_exit.visit_household").order_by("id").last()
    assert last.before["wrongly_exited"] is True and last.after["wrongly_exited"] is False


def test_visits_only_during_the_verification(guidong, applied):
    people = guidong.people
    case = sampled(applied, people)
    visit_all(case, people, wrongly_exited=0, approving=10, missed={"甲村": 0, "乙村": 0})
    case = county_exit_evaluate(actor=people["province_hunan"], case=case, on_date=ago(9))
    with pytest.raises(ApplicationError) as info:
        county_exit_record_household_visit(
            actor=people["province_hunan"], sampled=case.sampled_households.first(), wrongly_exited=True,
            approves=False, visited_on=ago(8),
        )  # fmt: skip
    assert str(info.value) == str(area_exits.SAMPLE_NOT_IN_VERIFICATION)


# Objections during the public notice ------------------------------------------------------------------


def test_an_upheld_objection_sends_the_case_back_to_verification(guidong, applied):
    people = guidong.people
    case = sampled(applied, people)
    visit_all(case, people, wrongly_exited=0, approving=10, missed={"甲村": 0, "乙村": 0})
    case = county_exit_evaluate(actor=people["province_hunan"], case=case, on_date=ago(10))
    case = county_exit_transition(actor=people["province_hunan"], case=case, action="open_notice", on_date=ago(10))
    objection = county_exit_objection_raise(
        actor=people["county_guidong"], case=case, objector="乙村村民", content="我家应纳未纳", raised_on=ago(5)
    )
    refused(
        lambda: county_exit_transition(
            actor=people["province_hunan"], case=case, action="close_notice", on_date=ago(2)
        ),
        case=case,
        code="objection_pending",
    )
    with pytest.raises(ApplicationError) as info:
        county_exit_objection_resolve(actor=people["county_guidong"], objection=objection, upheld=True, resolution="x")
    assert info.value.code == "permission_denied"
    county_exit_objection_resolve(
        actor=people["province_hunan_2"], objection=objection, upheld=True, resolution="乙村需重新核查漏评"
    )
    case.refresh_from_db()
    assert case.status == "verifying" and case.steps.last().action == "objection_return"
    village_row = case.sampled_villages.get(village=guidong.village_b)
    county_exit_record_village_visit(
        actor=people["province_hunan"], sampled=village_row, missed_persons=3, visited_on=date.today()
    )
    case = county_exit_evaluate(actor=people["province_hunan"], case=case)
    assert case.evaluation["counts"]["missed_persons"] == 3 and case.evaluation_passed is True


# Admin ---------------------------------------------------------------------------------------------


def test_the_province_draws_and_visits_through_the_admin(client_for, guidong, applied):
    people = guidong.people
    case = county_exit_transition(actor=people["prefecture_chenzhou"], case=applied, action="prefecture_approve")
    client = client_for("province_hunan")
    url = reverse("admin:assessments_countyexitcase_changelist")
    data = {
        "action": "draw_sample", "_selected_action": [case.pk], "apply": "1", "households": 2, "villages": 1,
        "seed": 99, "on_date": date.today(),
    }  # fmt: skip
    assert client.post(url, data).status_code == 302
    case.refresh_from_db()
    assert case.status == "verifying" and case.sample_seed == 99 and case.sampled_households.count() == 2
    row = case.sampled_households.first()
    data = {
        "action": "record_visit", "_selected_action": [row.pk], "apply": "1", "approves": "on",
        "visited_on": date.today(),
    }  # fmt: skip
    assert client.post(reverse("admin:assessments_sampledhousehold_changelist"), data).status_code == 302
    row.refresh_from_db()
    assert (row.wrongly_exited, row.approves, row.recorded_by.username) == (False, True, "province_hunan")
    # The county is not offered the province's actions.
    response = client_for("county_jianghua").get(url)
    assert b"draw_sample" not in response.content


def test_case_pages_show_the_sample_and_the_steps(client_for, guidong, applied):
    case = sampled(applied, guidong.people, households=2, villages=1, seed=5)
    for username in ("province_hunan", "county_guidong", "prefecture_chenzhou"):
        response = client_for(username).get(reverse("admin:assessments_countyexitcase_change", args=[case.pk]))
        assert response.status_code == 200, username
        page = response.content.decode()
        assert "draw_sample" in page and case.sampled_households.first().household.registry_number in page
    assert client_for("county_jianghua").get(
        reverse("admin:assessments_countyexitcase_change", args=[case.pk])
    ).status_code in (302, 404)
