"""Poverty incidence computed from the registry, and the division reads."""

from datetime import date
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from households.choices import HouseholdStatus, MemberEventKind
from households.services import member_leave
from households.workflow import household_transition
from tests.factories import make_household, make_township, make_village
from villages import selectors, services
from villages.models import Division

LIAN = "431129203201"
DAXI = "431129203000"
JIANGHUA = "431129000000"


def test_village_incidence_counts_active_members_of_poor_households(divisions):
    village = divisions[LIAN]
    assert selectors.poverty_incidence(village).poor_persons == 0
    make_household(village=village, status=HouseholdStatus.REGISTERED, persons=4)
    returned = make_household(village=village, status=HouseholdStatus.RETURNED, persons=3)
    make_household(village=village, status=HouseholdStatus.EXITED, persons=5)
    make_household(village=village, status=HouseholdStatus.APPLIED, persons=2)
    removed = make_household(village=village, status=HouseholdStatus.REGISTERED, persons=2)
    household_transition(actor=None, household=removed, action="remove", reason="错评")
    dead = returned.members.exclude(relationship="head").first()
    member_leave(actor=None, member=dead, kind=MemberEventKind.DEATH, event_date=date.today())

    incidence = selectors.poverty_incidence(village)
    assert incidence.poor_persons == 6  # 4 registered + 3 returned - 1 deceased
    assert incidence.rural_population == 689
    assert incidence.rate == Decimal("0.87")  # 6 / 689 = 0.8708 %
    assert incidence.threshold == Decimal("2")
    assert incidence.below_threshold is True


def test_incidence_rolls_up_to_township_county_and_province(users, divisions):
    make_household(village=divisions[LIAN], status=HouseholdStatus.REGISTERED, persons=4)
    other = make_village(parent=divisions[DAXI], number=70, name="另一村")
    services.village_status_set(actor=None, village=other, is_poverty_village=True, rural_population=311)
    make_household(village=other, status=HouseholdStatus.REGISTERED, persons=30)
    make_household(village=divisions["430523104201"], status=HouseholdStatus.REGISTERED, persons=7)

    result = selectors.poverty_incidence_for(
        [divisions[DAXI], divisions[JIANGHUA], divisions["431100000000"], divisions["430000000000"]]
    )
    assert result[DAXI].poor_persons == 34
    assert result[DAXI].rural_population == 1000
    assert result[DAXI].rate == Decimal("3.40")
    assert result[DAXI].below_threshold is False
    # 江华县 has its own recorded rural population (demo: 421,000).
    assert result[JIANGHUA].poor_persons == 34
    assert result[JIANGHUA].rural_population == 421000
    assert result[JIANGHUA].rate == Decimal("0.01")
    assert result["430000000000"].poor_persons == 41
    assert result["430000000000"].threshold is None


def test_unknown_population_gives_no_rate(divisions):
    township = make_township(county=divisions["431027000000"], number=1)
    village = make_village(parent=township, number=1)
    make_household(village=village, status=HouseholdStatus.REGISTERED)
    incidence = selectors.poverty_incidence(village)
    assert incidence.poor_persons == 3
    assert incidence.rate is None and incidence.below_threshold is None


def test_west_region_threshold_is_three_percent(divisions):
    county = Division.objects.filter(parent_id="433100000000").first()
    assert selectors.poverty_incidence(county).threshold == Decimal("3")


def test_thresholds_come_from_the_parameters(users, divisions):
    from assessments.parameters import parameter_set

    parameter_set(
        actor=users["province_hunan"], key="incidence_threshold", qualifier="central_east",
        scope_code="430000000000", value="1.5",
    )  # fmt: skip
    assert selectors.poverty_incidence(divisions[LIAN]).threshold == Decimal("1.5")
    assert selectors.poverty_incidence(divisions["371702000000"]).threshold == Decimal("2")


def test_incidence_of_many_divisions_takes_a_fixed_number_of_queries(divisions):
    counties = list(Division.objects.filter(level="county", code__startswith="43"))
    with CaptureQueriesContext(connection) as few:
        west = [c for c in counties if c.parent_id == "433100000000"][:1]
        selectors.poverty_incidence_for(counties[:2] + west)
    with CaptureQueriesContext(connection) as many:
        selectors.poverty_incidence_for(counties)
    assert len(many) == len(few) <= 4  # poor persons, populations, counties, the thresholds


def test_ancestors_stop_at_the_users_jurisdiction(users, divisions):
    chain = selectors.division_ancestors(user=users["county_jianghua"], division=divisions[LIAN])
    assert [d.code for d in chain] == [JIANGHUA, DAXI]
    chain = selectors.division_ancestors(user=users["province_hunan"], division=divisions[LIAN])
    assert [d.code for d in chain] == ["430000000000", "431100000000", JIANGHUA, DAXI]


def test_roots_are_the_users_divisions(users):
    assert [d.code for d in selectors.division_roots_for_user(user=users["township_daxi"])] == [DAXI]
    assert {d.code for d in selectors.division_roots_for_user(user=users["admin"])} == {
        "430000000000",
        "370000000000",
    }
