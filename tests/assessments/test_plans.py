"""Annual reduction plans (年度减贫计划): entered by the county, audited, scoped, with progress."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from assessments import plans
from assessments.area_exits import village_exit_propose, village_exit_transition
from assessments.exit_cases import exit_case_propose
from assessments.models import ReductionPlan
from assessments.plans import (
    reduction_plan_create,
    reduction_plan_get_for_user,
    reduction_plan_list,
    reduction_plan_progress,
    reduction_plan_update,
)
from registry.errors import ApplicationError
from registry.models import AuditEntry
from tests.assessments.test_county_exit import GUIDONG, exit_county, setup_guidong
from tests.assessments.test_village_exit import CHECKLIST
from tests.factories import exit_through, make_assessed, make_household, make_village
from villages.services import village_status_set

JIANGHUA = "431129000000"
DAXI = "431129203000"
LIAN = "431129203201"


@pytest.fixture
def guidong(users, divisions):
    return setup_guidong(users, divisions)


@pytest.fixture
def guidong_plan(guidong):
    """郴州's 2017 plan, as the seed reports it: 桂东县 to exit that year."""
    return reduction_plan_create(
        actor=guidong.people["county_guidong"],
        county=guidong.county,
        year=2017,
        persons_to_exit=12,
        villages_to_exit=1,
        county_exits=True,
        note="时间倒逼、任务倒排",
    )


def test_the_county_enters_its_plan_audited(guidong, guidong_plan):
    assert (guidong_plan.county_code, guidong_plan.created_by.username) == ("431027", "county_guidong")
    entry = AuditEntry.objects.get(action="reduction_plan.create", object_id=str(guidong_plan.pk))
    assert entry.scope_code == GUIDONG and entry.after["county_exits"] is True
    plan = reduction_plan_update(actor=guidong.people["county_guidong"], plan=guidong_plan, persons_to_exit=15)
    assert plan.persons_to_exit == 15
    entry = AuditEntry.objects.get(action="reduction_plan.update", object_id=str(plan.pk))
    assert (entry.before, entry.after) == ({"persons_to_exit": 12}, {"persons_to_exit": 15})


def test_one_plan_per_county_and_year(guidong, guidong_plan):
    with pytest.raises(ApplicationError) as info:
        reduction_plan_create(
            actor=guidong.people["county_guidong"], county=guidong.county, year=2017, persons_to_exit=1,
            villages_to_exit=0,
        )  # fmt: skip
    assert str(info.value) == str(plans.PLAN_EXISTS % {"county": "桂东县", "year": 2017})
    assert ReductionPlan.objects.filter(county=guidong.county).count() == 1


def test_who_may_enter_and_change_plans(guidong, guidong_plan, divisions):
    people = guidong.people
    for username, code in (("prefecture_chenzhou", "permission_denied"), ("county_jianghua", "not_found")):
        with pytest.raises(ApplicationError) as info:
            reduction_plan_create(
                actor=people[username], county=guidong.county, year=2018, persons_to_exit=1, villages_to_exit=0
            )
        assert info.value.code == code
        with pytest.raises(ApplicationError) as info:
            reduction_plan_update(actor=people[username], plan=guidong_plan, persons_to_exit=1)
        assert info.value.code == code
    with pytest.raises(ApplicationError) as info:
        reduction_plan_update(actor=people["county_guidong"], plan=guidong_plan, year=2018)
    assert str(info.value) == str(plans.PLAN_FIELD_UNKNOWN % {"fields": "year"})
    with pytest.raises(ApplicationError) as info:
        reduction_plan_create(
            actor=people["admin"], county=divisions[DAXI], year=2018, persons_to_exit=1, villages_to_exit=0
        )
    assert str(info.value) == str(plans.PLAN_NOT_A_COUNTY)
    guidong_plan.refresh_from_db()
    assert guidong_plan.persons_to_exit == 12


def test_plans_are_read_within_the_jurisdiction(guidong, guidong_plan, users):
    assert list(reduction_plan_list(user=users["province_hunan"], year=2017)) == [guidong_plan]
    assert list(reduction_plan_list(user=users["county_jianghua"])) == []
    assert reduction_plan_get_for_user(user=guidong.people["prefecture_chenzhou"], plan_id=guidong_plan.pk)
    from django.http import Http404

    with pytest.raises(Http404):
        reduction_plan_get_for_user(user=users["county_jianghua"], plan_id=guidong_plan.pk)


def test_county_exit_progress(guidong, guidong_plan):
    progress = reduction_plan_progress(plan=guidong_plan)
    assert (progress.county_exited, progress.county_exit_done) == (False, False)
    exit_county(guidong, year=2017)
    progress = reduction_plan_progress(plan=guidong_plan)
    assert (progress.county_exit_year, progress.county_exited, progress.county_exit_done) == (2017, True, True)


def test_person_and_village_progress(users, divisions):
    """江华县 2018: 9 persons and 2 villages planned, no county exit."""
    plan = reduction_plan_create(
        actor=users["county_jianghua"], county=divisions[JIANGHUA], year=2018, persons_to_exit=9, villages_to_exit=2
    )
    lian = divisions[LIAN]
    start = date.today() - timedelta(days=20)
    # Two households of 3 certified for 2018: 6 persons.
    for _ in range(2):
        household, _assessment = make_assessed(village=lian, year=2018, persons=3)
        case = exit_case_propose(actor=users["team_lian"], household=household, year=2018, on_date=start)
        exit_through(case, users, start=start)
    # Not counted: a 2018 case not yet certified, and a household certified for 2019.
    household, _assessment = make_assessed(village=lian, year=2018, persons=3)
    case = exit_case_propose(actor=users["team_lian"], household=household, year=2018, on_date=start)
    exit_through(case, users, start=start, until="township_approve")
    household, _assessment = make_assessed(village=lian, year=2019, persons=2)
    case = exit_case_propose(actor=users["team_lian"], household=household, year=2019, on_date=start)
    exit_through(case, users, start=start)
    # Villages exited in 2018: 栗安村 (the demo) and 石枧村 through the village exit procedure.
    village = make_village(parent=divisions[DAXI], number=7, name="石枧村")
    village_status_set(actor=None, village=village, is_poverty_village=True, rural_population=400)
    make_household(village=village, status="registered", persons=3)
    village_case = village_exit_propose(
        actor=users["township_daxi"], village=village, year=2018, checklist=CHECKLIST, on_date=start
    )
    for action, username, day in (
        ("open_notice", "township_daxi", start),
        ("close_notice", "township_daxi", start + timedelta(days=8)),
        ("county_approve", "county_jianghua", start + timedelta(days=9)),
    ):
        village_case = village_exit_transition(actor=users[username], case=village_case, action=action, on_date=day)
    progress = reduction_plan_progress(plan=plan)
    assert (progress.persons_exited, progress.households_exited, progress.villages_exited) == (6, 2, 2)
    # 6 ÷ 9 = 66.7 %; 2 ÷ 2 = 100.0 %; no county exit planned.
    assert (progress.persons_percent, progress.villages_percent) == (Decimal("66.7"), Decimal("100.0"))
    assert progress.county_exit_done is None and progress.county_exited is False


def test_the_county_enters_a_plan_through_the_admin(client_for, divisions):
    client = client_for("county_jianghua")
    data = {"county": JIANGHUA, "year": 2019, "persons_to_exit": 30000, "villages_to_exit": 40, "county_exits": "on"}
    assert client.post(reverse("admin:assessments_reductionplan_add"), data).status_code == 302
    plan = ReductionPlan.objects.get(county_id=JIANGHUA, year=2019)
    assert plan.created_by.username == "county_jianghua"
    assert AuditEntry.objects.filter(action="reduction_plan.create", object_id=str(plan.pk)).exists()
    change = reverse("admin:assessments_reductionplan_change", args=[plan.pk])
    data = {"persons_to_exit": 32000, "villages_to_exit": 40, "county_exits": "on", "note": "调增"}
    assert client.post(change, data).status_code == 302
    plan.refresh_from_db()
    assert (plan.persons_to_exit, plan.note) == (32000, "调增")
    page = client.get(reverse("admin:assessments_reductionplan_changelist")).content.decode()
    assert "江华" in page
    assert client_for("prefecture_yongzhou").get(reverse("admin:assessments_reductionplan_add")).status_code == 403
