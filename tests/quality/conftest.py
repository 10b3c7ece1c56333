"""A village with one planted defect per quality rule, and a clean set that none may flag.

Built once for the package inside a transaction that is rolled back at its end; each test
runs in a savepoint within it, as usual. Clean data goes through the real services;
defects the services refuse (a wrong check digit, a second current ID) are planted with
``update()``, the way an edit made behind the application's back or a legacy import
would leave them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest
from django.db import transaction

from households.choices import Relationship
from households.models import CrossCheckEntry, CrossCheckImport, Household, Member
from households.services import household_pair_helper, household_update, member_add
from tests.factories import make_household, make_id_number, make_village
from villages.models import Division, Helper
from villages.services import helper_create

DAXI = "431129203000"
#: The year the planted assessments judge (a year with a national poverty line).
YEAR = 2019


@dataclass
class Planted:
    village: Division
    helper: Helper
    #: rule code → the (household id, member id or None) it must find, and nothing else.
    expected: dict[str, set[tuple[int, int | None]]] = field(default_factory=dict)
    clean: list[Household] = field(default_factory=list)

    def plant(self, code: str, household: Household, member: Member | None = None) -> None:
        self.expected.setdefault(code, set()).add((household.pk, member.pk if member else None))


def members(household: Household) -> tuple[Member, Member]:
    """Return the head and the first son the factory creates."""
    rows = list(household.members.order_by("id"))
    return rows[0], rows[1]


def build(village: Division) -> Planted:
    helper = helper_create(
        actor=None, division=village, name="李帮扶", unit="县农业农村局", phone="13900000001",
        id_number=make_id_number(birth="19750101"),
    )  # fmt: skip
    planted = Planted(village=village, helper=helper)

    def household(*, assess: dict | None = None, status: str = "registered", pair: bool = True, **changes):
        h = make_household(village=village, status="registered", persons=3)
        h = household_update(
            actor=None, household=h,
            changes={"main_cause": "lack_skills", "housing_grade": "B", "road_distance_km": 1, **changes},
        )  # fmt: skip
        if pair:
            h = household_pair_helper(actor=None, household=h, helper=helper)
        if assess is not None:
            from assessments.services import assessment_record

            data = {"wage_income": 20000, "assessed_on": date(YEAR, 11, 1), **assess}
            assessment_record(actor=None, household=h, year=YEAR, data=data)
        if status != "registered":
            Household.objects.filter(pk=h.pk).update(status=status)
            h.refresh_from_db()
        return h

    def child(h: Household, **extra) -> Member:
        data = {
            "name": "孙子", "id_number": make_id_number(birth="20120301"), "relationship": "grandchild",
            "ethnicity": "13", "student_status": "primary", **extra,
        }  # fmt: skip
        return member_add(actor=None, household=h, data=data, kind="birth", event_date=date(2012, 3, 1))

    def edit(member: Member, **values) -> None:
        Member.objects.filter(pk=member.pk).update(**values)

    # The clean set: every shape of household the rules look at, with nothing wrong.
    planted.clean.append(household())
    planted.clean.append(household(assess={}))
    planted.clean.append(household(assess={}, status="exited"))
    h = household(main_cause="illness")
    edit(members(h)[1], chronic_disease=True, serious_illness_insurance=True)
    planted.clean.append(h)
    h = household(attribute="dibao")
    edit(members(h)[1], dibao_recipient=True)
    planted.clean.append(h)
    h = household(main_cause="education")
    child(h)
    planted.clean.append(h)
    h = household(assess={"wage_income": 15000})
    edit(members(h)[1], migrant_work="in_county", migrant_months=6)
    planted.clean.append(h)
    poor_head = members(planted.clean[0])[0]

    # Resident ID numbers.
    h = household()
    son = members(h)[1]
    edit(son, id_number=son.id_number[:17])
    planted.plant("id_length", h, son)
    h = household()
    son = members(h)[1]
    wrong = "0" if son.id_number[17] != "0" else "1"
    edit(son, id_number=son.id_number[:17] + wrong)
    planted.plant("id_check_digit", h, son)
    h = household()
    head = members(h)[0]
    edit(head, birth_date=date(1980, 1, 2))
    planted.plant("id_birth_mismatch", h, head)
    h = household()
    head = members(h)[0]
    edit(head, sex="2")
    planted.plant("id_sex_mismatch", h, head)
    first, second = household(), household()
    original, copy = members(first)[1], members(second)[1]
    edit(copy, id_number=original.id_number, current=False)
    planted.plant("duplicate_id_active", first, original)
    planted.plant("duplicate_id_active", second, copy)

    # Required fields.
    h = household()
    edit(members(h)[0], relationship=Relationship.OTHER)
    planted.plant("missing_head", h)
    h = household()
    edit(members(h)[1], ethnicity="")
    planted.plant("missing_ethnicity", h, members(h)[1])
    h = household()
    edit(members(h)[1], education="")
    planted.plant("missing_education", h, members(h)[1])
    h = household()
    pupil = child(h)
    edit(pupil, student_status="")
    planted.plant("missing_student_status", h, pupil)
    h = household()
    edit(members(h)[1], labour_ability="")
    planted.plant("missing_labour_ability", h, members(h)[1])
    h = household()
    Household.objects.filter(pk=h.pk).update(main_cause="")
    planted.plant("missing_main_cause", h)

    # Causes and attributes against the members.
    planted.plant("cause_illness_all_healthy", household(main_cause="illness"))
    planted.plant("cause_school_no_student", household(main_cause="education"))
    planted.plant("cause_disability_no_disabled", household(main_cause="disability"))
    planted.plant("dibao_without_benefit", household(attribute="dibao"))
    planted.plant("tekun_without_benefit", household(attribute="tekun"))
    h = household()
    edit(members(h)[1], dibao_recipient=True)
    planted.plant("benefit_without_attribute", h)
    h = household()
    edit(members(h)[1], labour_ability="none")
    planted.plant("healthy_working_age_no_labour", h, members(h)[1])

    # Income and work.
    planted.plant("income_out_of_range", household(assess={"wage_income": 0}))
    planted.plant("operating_income_without_costs", household(assess={"operating_income": 5000}))
    h = household()
    edit(members(h)[1], migrant_work="out_of_province", migrant_months=0)
    planted.plant("migrant_months_out_of_range", h, members(h)[1])
    h = household(assess={"wage_income": 0, "property_income": 9000})
    edit(members(h)[1], migrant_work="in_county", migrant_months=6)
    planted.plant("migrant_without_wage", h, members(h)[1])

    # Helpers.
    planted.plant("no_helper", household(pair=False))
    poor_helper = helper_create(
        actor=None, division=village, name="王帮扶", unit="乡政府", phone="13900000002",
        id_number=make_id_number(birth="19700101"),
    )  # fmt: skip
    h = household(pair=False)
    household_pair_helper(actor=None, household=h, helper=poor_helper)
    Helper.objects.filter(pk=poor_helper.pk).update(id_number=poor_head.id_number)
    planted.plant("helper_is_poor", h)

    # Plausibility.
    h = household()
    edit(members(h)[1], relationship=Relationship.DAUGHTER)
    planted.plant("relationship_sex_mismatch", h, members(h)[1])
    planted.plant("implausible_land", household(cultivated_land_mu=500))
    planted.plant("implausible_road_distance", household(road_distance_km=80))
    h = household()
    edit(members(h)[1], student_status="primary")
    planted.plant("student_level_age", h, members(h)[1])

    # Exit, insurance, deaths.
    planted.plant("exited_fails_exit_rules", household(assess={"food_secure": False}, status="exited"))
    h = household(main_cause="illness")
    edit(members(h)[1], chronic_disease=True)
    planted.plant("illness_without_insurance", h, members(h)[1])
    h = household()
    batch = CrossCheckImport.objects.create(source="县公安局", file_name="deaths.csv", scope_code=village.code)
    CrossCheckEntry.objects.create(
        batch=batch, id_number=members(h)[1].id_number, category="death", scope_code=village.code
    )
    planted.plant("deceased_still_active", h, members(h)[1])
    return planted


@pytest.fixture(scope="package")
def planted(django_db_setup, django_db_blocker) -> Planted:
    """Return the planted village; its data is rolled back after the package's tests."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            village = make_village(parent=Division.objects.get(pk=DAXI), number=77, name="核查村")
            yield build(village)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
