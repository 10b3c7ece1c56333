"""Assessments: income arithmetic, household size on the day, indicators, refusals, locking."""

from datetime import date
from decimal import Decimal

import pytest

from assessments import errors
from assessments.choices import ParameterKey
from assessments.parameters import parameter_set
from assessments.services import assessment_record, help_measure_add, helper_visit_add, income_year_bounds
from households.choices import MemberEventKind
from households.services import member_add, member_leave
from registry.errors import ApplicationError
from registry.models import AuditEntry
from tests.factories import make_applied, make_assessed, make_household, member_data

LIAN = "431129203201"


def test_per_capita_net_income(users, divisions):
    household = make_household(village=divisions[LIAN], status="registered", persons=4)
    assessment = assessment_record(
        actor=users["team_lian"],
        household=household,
        year=2018,
        data={
            "wage_income": Decimal("9000"),
            "operating_income": Decimal("6000"),
            "operating_cost": Decimal("2000"),
            "property_income": Decimal("500"),
            "transfers": {"dibao": "1200", "ecological": "300"},
            "assessed_on": date(2018, 11, 1),
        },
    )
    assert assessment.transfer_income == Decimal("1500")
    assert assessment.net_income == Decimal("15000")
    assert (assessment.household_size, assessment.per_capita_net_income) == (4, Decimal("3750.00"))
    assert AuditEntry.objects.latest("id").action == "assessment.create"


def test_which_transfers_count_is_a_parameter(users, divisions):
    parameter_set(actor=users["admin"], key=ParameterKey.TRANSFER_ITEMS_COUNTED, value=["dibao"])
    _household, assessment = make_assessed(
        village=divisions[LIAN], wage=3000, transfers={"dibao": "600", "remittance": "3000"}
    )
    assert assessment.transfer_income == Decimal("600")
    assert assessment.per_capita_net_income == Decimal("1200.00")


def test_household_size_is_counted_on_the_assessment_date(users, divisions):
    household = make_household(village=divisions[LIAN], status="registered", persons=3)
    son = household.members.exclude(relationship="head").first()
    member_leave(actor=None, member=son, kind=MemberEventKind.DEATH, event_date=date(2019, 3, 1))
    member_add(
        actor=None,
        household=household,
        data=member_data(name="新生儿", relationship="grandchild", birth="20190501"),
        kind=MemberEventKind.BIRTH,
        event_date=date(2019, 5, 1),
    )
    on_2018 = assessment_record(actor=None, household=household, year=2018, data={"assessed_on": date(2018, 11, 1)})
    on_2019 = assessment_record(actor=None, household=household, year=2019, data={"assessed_on": date(2019, 11, 1)})
    assert (on_2018.household_size, on_2019.household_size) == (3, 3)  # 3 then; 3 - 1 + 1 now


def test_refusals_change_nothing(users, divisions):
    applied = make_applied(village=divisions[LIAN])
    with pytest.raises(ApplicationError) as info:
        assessment_record(actor=users["team_lian"], household=applied, year=2018, data={})
    assert "申请" in str(info.value)
    household = make_household(village=divisions[LIAN], status="registered")
    for data in ({"wage_income": Decimal("-1")}, {"transfers": {"lottery": "5"}}, {"status": "x"}):
        with pytest.raises(ApplicationError):
            assessment_record(actor=users["team_lian"], household=household, year=2018, data=data)
    assert not household.assessments.exists()
    with pytest.raises(ApplicationError):
        assessment_record(actor=users["auditor_hunan"], household=household, year=2018, data={})
    with pytest.raises(ApplicationError) as info:
        assessment_record(actor=users["county_shaoyang"], household=household, year=2018, data={})
    assert info.value.status == 404


def test_correction_bumps_the_version_and_refuses_a_stale_one(users, divisions):
    household, _assessment = make_assessed(village=divisions[LIAN])
    corrected = assessment_record(
        actor=users["team_lian"], household=household, year=2018, data={"wage_income": 18000}, expected_version=1
    )
    assert corrected.version == 2 and corrected.per_capita_net_income == Decimal("6000.00")
    with pytest.raises(ApplicationError) as info:
        assessment_record(
            actor=users["team_lian"], household=household, year=2018, data={"wage_income": 1}, expected_version=1
        )
    assert info.value.status == 409


def test_income_year_runs_from_october(db):
    assert income_year_bounds(2018) == (date(2017, 10, 1), date(2018, 9, 30))


def test_help_measures_and_visits_are_recorded(users, divisions):
    household = make_household(village=divisions[LIAN], status="registered")
    measure = help_measure_add(
        actor=users["team_lian"],
        household=household,
        data={"category": "industry", "five_batches": "production", "measure_date": date(2018, 4, 1), "amount": 3000},
    )
    assert measure.county_code == "431129"
    with pytest.raises(ApplicationError) as info:
        help_measure_add(
            actor=users["team_lian"],
            household=household,
            data={"category": "industry", "measure_date": date(2018, 4, 1)},
        )
    assert str(info.value) == str(errors.MEASURE_FIVE_BATCHES)
    visit = helper_visit_add(
        actor=users["team_lian"], household=household, visited_on=date(2018, 5, 2), note="了解产业"
    )
    assert AuditEntry.objects.latest("id").object_id == str(visit.pk)


def test_assessment_date_must_fall_in_or_after_its_income_year(users, divisions):
    household = make_household(village=divisions[LIAN], status="registered")
    for day in (date(2017, 9, 30), date(2019, 10, 1)):
        with pytest.raises(ApplicationError) as info:
            assessment_record(actor=users["team_lian"], household=household, year=2018, data={"assessed_on": day})
        assert str(info.value) == str(errors.ASSESSMENT_DATE_YEAR % {"date": day, "year": 2018})
    assert not household.assessments.exists()
    with pytest.raises(ApplicationError) as info:
        help_measure_add(actor=users["team_lian"], household=household, data={"category": "industry", "cost": 1})
    assert "cost" in str(info.value)
