"""Village exit (贫困村出列): incidence and checklist, township notice, county approval, refusals."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from assessments import area_exits
from assessments.area_exits import (
    VILLAGE_STEPS,
    available_steps,
    village_exit_objection_raise,
    village_exit_objection_resolve,
    village_exit_propose,
    village_exit_resubmit,
    village_exit_transition,
)
from assessments.choices import ParameterKey
from assessments.models import VillageExitCase, VillageExitStep
from assessments.parameters import parameter_set
from households import errors as household_errors
from registry.errors import FOUR_EYES_VIOLATION, ApplicationError
from registry.models import AuditEntry
from tests.factories import make_household, make_village
from villages.models import VillageStatus
from villages.services import village_status_set

DAXI = "431129203000"
LIAN = "431129203201"
SHETIAN = "430523104201"
HUNAN = "430000000000"
CHECKLIST = {
    "hardened_road": {"met": True, "evidence": "2018 年通村水泥路 4.2 公里竣工验收"},
    "collective_income": {"met": True, "evidence": "村集体光伏电站年收入 5.6 万元"},
    "public_services": {"met": True, "evidence": "村卫生室、文化活动室已建成并验收"},
}
#: The procedure after the proposal: (action, user, days before today).
PATH = [
    ("open_notice", "township_daxi", 10),
    ("close_notice", "township_daxi", 2),
    ("county_approve", "county_jianghua", 0),
]


def ago(days: int) -> date:
    return date.today() - timedelta(days=days)


@pytest.fixture
def village(divisions):
    """A poverty village of 大锡乡 with 400 rural residents and two registered households of 3 (1.50 %)."""
    village = make_village(parent=divisions[DAXI], number=7, name="石枧村")
    village_status_set(actor=None, village=village, is_poverty_village=True, identified_year=2014, rural_population=400)
    for _ in range(2):
        make_household(village=village, status="registered", persons=3)
    return village


@pytest.fixture
def proposed(users, village):
    return village_exit_propose(
        actor=users["township_daxi"], village=village, year=2019, checklist=CHECKLIST, on_date=ago(10)
    )


def through(case, users, *, start: str = "open_notice", until: str = "county_approve"):
    """Take ``case`` along ``PATH`` from the step ``start`` up to and including ``until``."""
    actions = [a for a, _u, _d in PATH]
    for action, username, days in PATH[actions.index(start) :]:
        case = village_exit_transition(actor=users[username], case=case, action=action, on_date=ago(days))
        if action == until:
            break
    return case


def refused(func, *, case, message=None, code=None) -> ApplicationError:
    """Call ``func``, expect a refusal, and check it changed nothing."""
    before = VillageExitCase.objects.values().get(pk=case.pk)
    counts = (VillageExitStep.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ApplicationError) as info:
        func()
    if message is not None:
        assert str(info.value) == str(message)
    if code is not None:
        assert info.value.code == code
    assert VillageExitCase.objects.values().get(pk=case.pk) == before
    assert (VillageExitStep.objects.count(), AuditEntry.objects.count()) == counts
    return info.value


# The whole procedure --------------------------------------------------------------------------------


def test_the_whole_procedure_exits_the_village(users, village, proposed):
    assert proposed.status == "proposed"
    # 6 poor persons ÷ 400 rural residents = 1.50 % < 2 % (江华县 is central/east).
    assert (proposed.poor_persons, proposed.rural_population) == (6, 400)
    assert proposed.incidence == pytest.approx(1.5) and proposed.threshold == 2
    assert [r["passed"] for r in proposed.check_results] == [True, True, True, True]
    assert proposed.check_results[0]["explanation"] == "贫困发生率 1.50%（6 ÷ 400）< 退出标准 2.00%。"
    case = through(proposed, users, until="open_notice")
    assert case.notice_ends_on == ago(10) + timedelta(days=7)
    case = through(case, users, start="close_notice")
    assert case.status == "approved" and case.approved_on == date.today()
    status = VillageStatus.objects.get(pk=village.pk)
    assert (status.exit_status, status.exit_year) == ("exited", 2019)
    steps = list(case.steps.values_list("action", "actor__username"))
    assert steps == [("propose", "township_daxi"), *[(a, u) for a, u, _d in PATH]]
    assert AuditEntry.objects.filter(object_id=str(case.pk), action__startswith="village_exit.").count() == 4
    exit_audit = AuditEntry.objects.get(action="village_status.exit", object_id=village.pk)
    assert exit_audit.after == {"exit_status": "exited", "exit_year": 2019}
    assert exit_audit.actor_username == "county_jianghua"


def test_steps_offered_follow_the_role(users, proposed):
    assert [s.action for s in available_steps(proposed, users["township_daxi"])] == ["open_notice", "withdraw"]
    assert available_steps(proposed, users["county_jianghua"]) == []
    case = through(proposed, users, until="close_notice")
    assert [s.action for s in available_steps(case, users["county_jianghua"])] == [
        "county_approve",
        "county_return",
        "reject",
    ]


# Refusals at the proposal ------------------------------------------------------------------------


def test_incidence_above_the_threshold_is_refused_with_its_values(users, village):
    make_household(village=village, status="registered", persons=3)
    with pytest.raises(ApplicationError) as info:
        village_exit_propose(actor=users["township_daxi"], village=village, year=2019, checklist=CHECKLIST)
    # 9 ÷ 400 = 2.25 % ≥ 2 %.
    assert info.value.code == "checks_failed"
    assert info.value.fields["checks"] == ["贫困发生率：贫困发生率 2.25%（9 ÷ 400）≥ 退出标准 2.00%。"]
    assert not VillageExitCase.objects.filter(village=village).exists()


def test_incidence_exactly_at_the_threshold_is_refused(users, village):
    make_household(village=village, status="registered", persons=3)
    village_status_set(actor=None, village=village, rural_population=450)
    with pytest.raises(ApplicationError) as info:
        village_exit_propose(actor=users["township_daxi"], village=village, year=2019, checklist=CHECKLIST)
    # 9 ÷ 450 = 2.00 %: the incidence must be *below* the threshold.
    assert "贫困发生率 2.00%（9 ÷ 450）≥ 退出标准 2.00%" in str(info.value)


def test_the_west_threshold_applies_to_a_western_county(users, village):
    from villages.services import county_status_set

    make_household(village=village, status="registered", persons=3)
    county_status_set(actor=None, county=village.parent.parent, region_class="west")
    case = village_exit_propose(actor=users["township_daxi"], village=village, year=2019, checklist=CHECKLIST)
    assert case.threshold == 3 and case.region_class == "west"  # 2.25 % < 3 %


def test_each_checklist_item_must_be_met_with_evidence(users, village):
    checklist = {
        **CHECKLIST,
        "collective_income": {"met": False, "evidence": "尚无集体经济收入"},
        "public_services": {"met": True, "evidence": "  "},
    }
    with pytest.raises(ApplicationError) as info:
        village_exit_propose(actor=users["township_daxi"], village=village, year=2019, checklist=checklist)
    assert info.value.fields["checks"] == [
        "有村集体经济收入：未达标。",
        "基本公共服务（卫生室、文化室等）达标：记为达标，但未填写佐证材料。",
    ]
    assert str(info.value).startswith("不符合出列条件（2 项未达到）")


def test_the_checklist_is_a_parameter(users, village):
    parameter_set(
        actor=users["province_hunan"],
        key=ParameterKey.VILLAGE_EXIT_CHECKLIST,
        scope_code=HUNAN,
        value=["hardened_road", "collective_income", "public_services", "safe_water"],
    )
    with pytest.raises(ApplicationError) as info:
        village_exit_propose(actor=users["township_daxi"], village=village, year=2019, checklist=CHECKLIST)
    assert info.value.fields["checks"] == ["safe_water：未达标。"]
    checklist = {**CHECKLIST, "safe_water": {"met": True, "evidence": "集中供水工程覆盖全村"}}
    case = village_exit_propose(actor=users["township_daxi"], village=village, year=2019, checklist=checklist)
    assert [r["rule"] for r in case.check_results] == [
        "incidence",
        "hardened_road",
        "collective_income",
        "public_services",
        "safe_water",
    ]


def test_an_item_not_on_the_checklist_is_refused(users, village):
    checklist = {**CHECKLIST, "ktv": {"met": True, "evidence": "x"}}
    with pytest.raises(ApplicationError) as info:
        village_exit_propose(actor=users["township_daxi"], village=village, year=2019, checklist=checklist)
    assert str(info.value) == str(area_exits.CHECKLIST_UNKNOWN_ITEMS % {"items": "ktv"})


def test_who_and_what_may_be_proposed(users, divisions, village):
    for username in ("team_lian", "county_jianghua", "province_hunan"):
        with pytest.raises(ApplicationError) as info:
            village_exit_propose(actor=users[username], village=village, year=2019, checklist=CHECKLIST)
        assert info.value.code == "permission_denied"
    with pytest.raises(ApplicationError) as info:
        village_exit_propose(actor=users["township_daxi"], village=divisions[SHETIAN], year=2019, checklist=CHECKLIST)
    assert info.value.code == "not_found"
    with pytest.raises(ApplicationError) as info:
        village_exit_propose(actor=users["township_daxi"], village=divisions[LIAN], year=2019, checklist=CHECKLIST)
    assert str(info.value) == str(area_exits.VILLAGE_ALREADY_EXITED % {"village": "栗安村", "year": 2018})
    other = make_village(parent=divisions[DAXI], number=8, name="非贫困村")
    village_status_set(actor=None, village=other, rural_population=300)
    with pytest.raises(ApplicationError) as info:
        village_exit_propose(actor=users["township_daxi"], village=other, year=2019, checklist=CHECKLIST)
    assert str(info.value) == str(area_exits.NOT_A_POVERTY_VILLAGE % {"village": "非贫困村"})
    assert not VillageExitCase.objects.exists()


def test_one_live_case_per_village(users, village, proposed):
    with pytest.raises(ApplicationError) as info:
        village_exit_propose(actor=users["township_daxi"], village=village, year=2020, checklist=CHECKLIST)
    assert str(info.value) == str(area_exits.VILLAGE_CASE_OPEN % {"village": village.name})


# Forbidden transitions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "username"),
    [
        ("close_notice", "township_daxi"),
        ("county_approve", "county_jianghua"),
        ("county_return", "county_jianghua"),
        ("reject", "county_jianghua"),
        ("resubmit", "township_daxi"),
        ("objection_return", "township_daxi"),
        ("fly", "township_daxi"),
    ],
)
def test_steps_out_of_order_or_internal_are_refused(users, proposed, action, username):
    error = refused(
        lambda: village_exit_transition(actor=users[username], case=proposed, action=action, reason="x"),
        case=proposed,
    )
    assert error.code in ("transition_not_allowed", "invalid")


def test_steps_need_the_right_role(users, proposed):
    refused(
        lambda: village_exit_transition(actor=users["county_jianghua"], case=proposed, action="open_notice"),
        case=proposed,
        code="permission_denied",
    )
    case = through(proposed, users, until="close_notice")
    refused(
        lambda: village_exit_transition(actor=users["township_daxi"], case=case, action="county_approve"),
        case=case,
        code="permission_denied",
    )
    refused(
        lambda: village_exit_transition(actor=users["county_shaoyang"], case=case, action="county_approve"),
        case=case,
        code="not_found",
    )


def test_four_eyes_at_the_county_approval(users, village):
    case = village_exit_propose(actor=users["admin"], village=village, year=2019, checklist=CHECKLIST, on_date=ago(10))
    case = through(case, users, until="close_notice")
    refused(
        lambda: village_exit_transition(actor=users["admin"], case=case, action="county_approve"),
        case=case,
        message=FOUR_EYES_VIOLATION,
    )
    assert through(case, users, start="county_approve").status == "approved"


def test_the_notice_must_run_its_days(users, proposed):
    case = village_exit_transition(actor=users["township_daxi"], case=proposed, action="open_notice", on_date=ago(3))
    error = refused(
        lambda: village_exit_transition(actor=users["township_daxi"], case=case, action="close_notice"),
        case=case,
        code="notice_not_ended",
    )
    assert str(error) == str(household_errors.NOTICE_NOT_ENDED % {"ends": ago(3) + timedelta(days=7)})


def test_return_and_reject_need_a_reason(users, proposed):
    case = through(proposed, users, until="close_notice")
    for action in ("county_return", "reject"):
        refused(
            lambda action=action: village_exit_transition(actor=users["county_jianghua"], case=case, action=action),
            case=case,
            message=household_errors.REASON_REQUIRED % {"action": VILLAGE_STEPS[action].label},
        )
    case = village_exit_transition(
        actor=users["county_jianghua"], case=case, action="reject", reason="集体经济收入不实"
    )
    assert case.status == "rejected" and case.status_reason == "集体经济收入不实"
    assert VillageStatus.objects.get(pk=case.village_id).exit_status == "not_exited"
    # A rejected case no longer blocks a new proposal.
    village_exit_propose(actor=users["township_daxi"], village=case.village, year=2020, checklist=CHECKLIST)


def test_the_approval_counts_the_registry_again(users, village, proposed):
    case = through(proposed, users, until="close_notice")
    make_household(village=village, status="registered", persons=3)  # now 9 ÷ 400 = 2.25 %
    error = refused(
        lambda: village_exit_transition(actor=users["county_jianghua"], case=case, action="county_approve"),
        case=case,
        code="checks_failed",
    )
    assert "贫困发生率 2.25%（9 ÷ 400）≥ 退出标准 2.00%" in str(error)
    assert VillageStatus.objects.get(pk=village.pk).exit_status == "not_exited"


def test_the_approval_refuses_figures_changed_since_the_notice_though_it_would_pass(users, village, proposed):
    case = through(proposed, users, until="close_notice")
    village_status_set(actor=None, village=village, rural_population=600)  # now 6 ÷ 600 = 1.00 %
    error = refused(
        lambda: village_exit_transition(actor=users["county_jianghua"], case=case, action="county_approve"),
        case=case,
        code="data_changed",
    )
    assert error.fields["changes"] == ["农村户籍人口 400→600"] and "请退回后重新提交" in str(error)
    assert VillageStatus.objects.get(pk=village.pk).exit_status == "not_exited"
    case = village_exit_transition(
        actor=users["county_jianghua"], case=case, action="county_return", reason="人口已更正"
    )
    case = village_exit_resubmit(actor=users["township_daxi"], case=case, checklist=CHECKLIST)
    assert (case.rural_population, str(case.incidence)) == (600, "1.00")


def test_returned_case_is_resubmitted_with_an_amended_checklist(users, proposed):
    case = through(proposed, users, until="close_notice")
    case = village_exit_transition(
        actor=users["county_jianghua"], case=case, action="county_return", reason="道路佐证不足"
    )
    bad = {**CHECKLIST, "hardened_road": {"met": False, "evidence": ""}}
    refused(
        lambda: village_exit_resubmit(actor=users["township_daxi"], case=case, checklist=bad),
        case=case,
        code="checks_failed",
    )
    amended = {**CHECKLIST, "hardened_road": {"met": True, "evidence": "交通局验收单 2019-06"}}
    case = village_exit_resubmit(actor=users["township_daxi"], case=case, checklist=amended)
    assert case.status == "proposed" and case.checklist["hardened_road"]["evidence"] == "交通局验收单 2019-06"


def test_withdrawal(users, proposed):
    case = village_exit_transition(actor=users["township_daxi"], case=proposed, action="withdraw", reason="数据待核")
    assert case.status == "withdrawn"
    refused(
        lambda: village_exit_transition(actor=users["township_daxi"], case=case, action="open_notice"),
        case=case,
        code="transition_not_allowed",
    )


# Objections during the notice -----------------------------------------------------------------------


def test_an_objection_blocks_until_dismissed(users, proposed):
    case = through(proposed, users, until="open_notice")
    objection = village_exit_objection_raise(
        actor=users["township_daxi"], case=case, objector="村民甲", content="组道未硬化", raised_on=ago(5)
    )
    refused(
        lambda: village_exit_transition(actor=users["township_daxi"], case=case, action="close_notice", on_date=ago(2)),
        case=case,
        code="objection_pending",
    )
    with pytest.raises(ApplicationError) as info:  # the recorder may not decide it
        village_exit_objection_resolve(
            actor=users["township_daxi"], objection=objection, upheld=False, resolution="已核实"
        )
    assert str(info.value) == str(FOUR_EYES_VIOLATION)
    with pytest.raises(ApplicationError) as info:
        village_exit_objection_resolve(actor=users["team_lian"], objection=objection, upheld=False, resolution="x")
    assert info.value.code == "permission_denied"
    village_exit_objection_resolve(
        actor=users["county_jianghua"], objection=objection, upheld=False, resolution="组道属另一村"
    )
    assert through(case, users, start="close_notice").status == "approved"
    actions = list(
        AuditEntry.objects.filter(action__startswith="village_exit_objection.").order_by("id").values_list("action")
    )
    assert actions == [("village_exit_objection.raise",), ("village_exit_objection.resolve",)]


def test_an_upheld_objection_returns_the_case(users, proposed):
    case = through(proposed, users, until="open_notice")
    objection = village_exit_objection_raise(
        actor=users["county_jianghua"], case=case, objector="", content="卫生室未运行"
    )
    assert objection.objector == "匿名"
    village_exit_objection_resolve(
        actor=users["township_daxi"], objection=objection, upheld=True, resolution="卫生室尚无村医"
    )
    case.refresh_from_db()
    assert case.status == "returned" and case.status_reason == "卫生室尚无村医"
    assert case.steps.last().action == "objection_return"


def test_only_the_offices_along_the_procedure_record_objections(users, proposed):
    case = through(proposed, users, until="open_notice")
    for username in ("auditor_hunan", "team_lian", "api_hunan"):
        with pytest.raises(ApplicationError) as info:
            village_exit_objection_raise(actor=users[username], case=case, objector="甲", content="x")
        assert info.value.code == "permission_denied"
    assert not case.objections.exists()


def test_objections_only_during_the_notice(users, proposed):
    with pytest.raises(ApplicationError) as info:
        village_exit_objection_raise(actor=users["township_daxi"], case=proposed, objector="甲", content="x")
    assert str(info.value) == str(area_exits.OBJECTION_NOT_IN_NOTICE)


# Admin ----------------------------------------------------------------------------------------------


def test_the_county_approves_through_the_admin_action(client_for, users, proposed):
    case = through(proposed, users, until="close_notice")
    url = reverse("admin:assessments_villageexitcase_changelist")
    client = client_for("county_jianghua")
    response = client.post(url, {"action": "step_county_approve", "_selected_action": [case.pk]})
    assert response.status_code == 200 and 'name="on_date"' in response.content.decode()
    data = {"action": "step_county_approve", "_selected_action": [case.pk], "apply": "1", "on_date": date.today()}
    assert client.post(url, data).status_code == 302
    case.refresh_from_db()
    assert case.status == "approved"
    assert VillageStatus.objects.get(pk=case.village_id).exit_status == "exited"


def test_the_township_proposes_through_the_admin(client_for, village):
    client = client_for("township_daxi")
    url = reverse("admin:assessments_villageexitcase_add")
    page = client.get(url).content.decode()
    assert 'name="hardened_road__evidence"' in page and 'name="public_services__met"' in page
    data = {"village": village.code, "year": 2019}
    for item, entry in CHECKLIST.items():
        data[f"{item}__met"] = "on"
        data[f"{item}__evidence"] = entry["evidence"]
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    case = VillageExitCase.objects.get(village=village)
    assert case.checklist == CHECKLIST and case.steps.get().actor.username == "township_daxi"
    # The county cannot add a proposal.
    assert client_for("county_jianghua").get(url).status_code == 403


def test_the_case_page_shows_the_checks_and_the_steps(client_for, users, proposed):
    case = through(proposed, users, until="open_notice")
    response = client_for("county_jianghua").get(reverse("admin:assessments_villageexitcase_change", args=[case.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "open_notice" in page and "大锡乡审核员" in page  # the steps, with who took them
    assert "✔ 贫困发生率：贫困发生率 1.50%（6 ÷ 400）&lt; 退出标准 2.00%。" in page
