"""Bulk snapshots and the eligibility sweep: the same judgement as one household at a time, in few queries."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments.choices import ParameterKey
from assessments.eligibility import build_snapshot, build_snapshots, evaluate
from assessments.models import Assessment, Parameter
from assessments.parameters import parameter_set
from assessments.selectors import eligibility_summary, eligibility_sweep
from assessments.services import assessment_record
from households.choices import MemberEventKind
from households.models import Household
from households.services import household_update, member_add, member_leave
from tests.factories import make_household, make_township, make_village, member_data

LIAN = "431129203201"
YEAR = 2019


def assess(household, year=YEAR, **data):
    fields = {"wage_income": 20000, "assessed_on": date(year, 11, 1), **data}
    return assessment_record(actor=None, household=household, year=year, data=fields)


@pytest.fixture
def varied(users, divisions):
    """Households whose snapshots differ in every way a snapshot can: members on the day, standards, data."""
    village = divisions[LIAN]
    plain = make_household(village=village, status="registered", persons=3)
    household_update(actor=None, household=plain, changes={"housing_grade": "B"})
    assess(plain)
    assess(plain, year=2018, food_secure=False)

    moving = make_household(village=village, status="registered", persons=4)
    son = moving.members.exclude(relationship="head").order_by("id").first()
    member_leave(actor=None, member=son, kind=MemberEventKind.DEATH, event_date=date(2019, 3, 1))
    member_add(
        actor=None, household=moving, kind=MemberEventKind.BIRTH, event_date=date(2019, 5, 1),
        data=member_data(name="新生儿", relationship="grandchild", birth="20190501"),
    )  # fmt: skip
    member_add(
        actor=None, household=moving, kind=MemberEventKind.MARRIAGE_IN, event_date=date(2019, 6, 1),
        data=member_data(name="儿媳", relationship="other", birth="19950101", sex="2"),
    )  # fmt: skip
    assess(moving, year=2018, assessed_on=date(2018, 11, 1))  # the son still in, the newcomers not yet
    assess(moving, year=YEAR, assessed_on=date(2019, 5, 20))  # the son gone, the baby in, the bride not yet

    pupil_home = make_household(village=village, status="exited", persons=2)
    pupil = member_add(
        actor=None, household=pupil_home, kind=MemberEventKind.BIRTH, event_date=date(2010, 3, 1),
        data=member_data(name="小学生", relationship="grandchild", birth="20100301", student_status="not_student"),
    )  # fmt: skip
    household_update(actor=None, household=pupil_home, changes={"housing_grade": "D", "housing_renovated": True})
    assess(pupil_home, education_exempt_members=[pupil.pk], water_litres_per_person_day=20, water_fetch_minutes=45)

    returned = make_household(village=village, status="returned", persons=1)
    household_update(actor=None, household=returned, changes={"drinking_water_safe": False, "housing_grade": "C"})
    assess(returned, wage_income=1000)

    county = divisions["371702000000"]  # 菏泽: another province, which sets its own line for the year
    heze = make_village(parent=make_township(county=county, number=1), number=1)
    parameter_set(actor=None, key=ParameterKey.POVERTY_LINE, value="5000", year=YEAR, scope_code="370000000000")
    shandong = make_household(village=heze, status="registered", persons=2)
    assess(shandong)
    return Assessment.objects.filter(household__in=[plain, moving, pupil_home, returned, shandong])


def one_by_one(queryset):
    return [build_snapshot(a) for a in queryset.select_related("household").order_by("pk")]


def test_bulk_snapshots_equal_one_by_one(varied):
    bulk = list(build_snapshots(varied, chunk_size=3))  # several chunks
    assert [snapshot for _row, snapshot in bulk] == one_by_one(varied)
    assert [row["id"] for row, _snapshot in bulk] == list(varied.order_by("pk").values_list("pk", flat=True))
    lines = {
        s["household"]["village"][:2]: s["standards"]["poverty_line"]
        for _row, s in bulk
        if s["assessment"]["year"] == YEAR
    }
    assert lines == {"43": "3747", "37": "5000"}  # the national line, and the province's own
    sizes = {(s["household"]["id"], s["assessment"]["year"]): len(s["members"]) for _row, s in bulk}
    moving = varied.get(year=2018, household__members__name="新生儿").household_id
    assert (sizes[(moving, 2018)], sizes[(moving, YEAR)]) == (4, 4)  # 4; then 4 - the son + the baby


def test_a_year_without_a_line_has_no_snapshot(varied):
    Parameter.objects.filter(key=ParameterKey.POVERTY_LINE, year=2018).delete()
    rows = list(build_snapshots(varied.filter(year__in=[2018, YEAR])))
    assert sorted((row["year"], snapshot is None) for row, snapshot in rows) == [(2018, True)] * 2 + [(YEAR, False)] * 5


def test_bulk_snapshots_read_in_a_fixed_number_of_queries(varied):
    def count(queryset):
        with CaptureQueriesContext(connection) as queries:
            snapshots = list(build_snapshots(queryset))
        return len(snapshots), len(queries.captured_queries)

    few, many = count(varied.filter(year=2018)), count(varied)
    assert few[0] < many[0] and few[1] == many[1] == 5  # standards; ids; rows, members, events


def test_sweep_judges_as_evaluate_on_build_snapshot(varied, divisions):
    county = divisions["431129000000"]
    rows = list(eligibility_sweep(division=county, year=YEAR))
    expected = {}
    for assessment in varied.filter(year=YEAR, county_code="431129").select_related("household"):
        failed = tuple(r.rule for r in evaluate(build_snapshot(assessment)) if not r.passed)
        expected[assessment.household_id] = (assessment.pk, not failed, failed)
    assert {r.household_id: (r.assessment_id, r.passed, r.failed_rules) for r in rows} == expected
    by_household = {r.household_id: r for r in rows}
    assert {r.status for r in rows} == {"registered", "exited", "returned"}
    returned = Household.objects.get(status="returned", county_code="431129")
    assert set(by_household[returned.pk].failed_rules) == {"income", "water", "housing"}
    summary = eligibility_summary(iter(rows), division=county, year=YEAR)
    assert (summary.assessed, summary.passed, summary.failed, summary.unjudged) == (4, 1, 3, 0)
    assert summary.failures_by_rule == {"income": 1, "water": 2, "housing": 2, "education": 1}


def test_sweep_keeps_to_the_division_the_year_and_the_scope(varied, divisions, users):
    assert [r.registry_number[:6] for r in eligibility_sweep(division=divisions["371702000000"], year=YEAR)] == [
        "371702"
    ]
    assert len(list(eligibility_sweep(division=divisions["431129000000"], year=2018))) == 2
    assert not list(eligibility_sweep(division=divisions["431129000000"], year=YEAR, user=users["county_shaoyang"]))
    assert len(list(eligibility_sweep(division=divisions[LIAN], year=YEAR, user=users["team_lian"]))) == 4


def test_a_sweep_without_the_line_counts_the_unjudged(varied, divisions):
    Parameter.objects.filter(key=ParameterKey.POVERTY_LINE, year=2018).delete()
    summary = eligibility_summary(
        eligibility_sweep(division=divisions["431129000000"], year=2018), division=divisions["431129000000"], year=2018
    )
    assert (summary.assessed, summary.unjudged, summary.passed + summary.failed) == (2, 2, 0)


def test_evaluate_eligibility_command_prints_the_counts(varied):
    out = StringIO()
    call_command("evaluate_eligibility", "--division", "431129000000", "--year", str(YEAR), stdout=out)
    text = out.getvalue()
    assert "assessed 4, passed 1, failed 3, unjudged 0" in text
    assert "income" in text


def test_a_quality_run_judges_exited_households_alongside_the_other_rules(demo, monkeypatch):
    """Outside a transaction the run finds the exit rule's hits in a second thread: the same findings."""
    import threading

    from quality import services
    from quality.models import Finding
    from quality.rules import RULES
    from quality.services import quality_run
    from villages.models import Division

    threads = []
    find = services._find

    def recording(rule, context):
        threads.append((rule.code, threading.current_thread() is threading.main_thread()))
        return find(rule, context)

    monkeypatch.setattr(services, "_find", recording)

    village = Division.objects.get(pk=LIAN)
    failing = make_household(village=village, status="registered", persons=2)
    household_update(actor=None, household=failing, changes={"housing_grade": "B"})
    assess(failing, food_secure=False)
    passing = make_household(village=village, status="registered", persons=2)
    household_update(actor=None, household=passing, changes={"housing_grade": "B"})
    assess(passing)
    Household.objects.filter(pk__in=[failing.pk, passing.pk]).update(status="exited")
    run = quality_run(actor=None, division=village)
    assert list(run.counts) == list(RULES)
    assert run.counts["exited_fails_exit_rules"] == {"found": 1, "opened": 1, "reopened": 0, "fixed": 0}
    finding = Finding.objects.get(rule="exited_fails_exit_rules")
    assert finding.household_id == failing.pk and finding.values["failed_rules"] == ["food"]
    assert threads == [("exited_fails_exit_rules", False)]
