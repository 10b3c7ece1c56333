"""Household and member services: validation, database invariants, edits, membership, helpers."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from households import errors
from households.choices import MemberEventKind, MemberStatus, Relationship
from households.exclusions import mask_id
from households.models import Household, Member, MemberEvent
from households.services import (
    household_apply,
    household_pair_helper,
    household_update,
    member_add,
    member_leave,
    member_update,
)
from registry.errors import PERMISSION_DENIED, ApplicationError
from registry.idnumber import ID_BAD_CHECK_DIGIT
from registry.models import AuditEntry
from tests.factories import household_data, make_applied, make_household, member_data
from villages import services as village_services

LIAN = "431129203201"
SHETIAN = "430523104201"


def refused_apply(users, divisions, members, household=None, username="team_lian") -> ApplicationError:
    counts = (Household.objects.count(), Member.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ApplicationError) as info:
        household_apply(
            actor=users[username],
            village=divisions[LIAN],
            household=household or household_data(),
            members=members,
        )
    assert (Household.objects.count(), Member.objects.count(), AuditEntry.objects.count()) == counts
    return info.value


def test_apply_registers_household_and_members(users, divisions):
    head = member_data(name="盘老大")
    head["sex"], head["birth_date"] = "", None
    household = household_apply(
        actor=users["team_lian"],
        village=divisions[LIAN],
        household=household_data(other_causes=["lack_skills"], housing_grade="C", cultivated_land_mu=Decimal("1.5")),
        members=[head, member_data(name="盘小妹", relationship="daughter", birth="20100304", sex="2")],
    )
    assert household.registry_number.startswith(LIAN) and len(household.registry_number) == 16
    assert household.county_code == "431129"
    assert (household.status, household.step) == ("applied", "application")
    head_row = household.members.get(relationship=Relationship.HEAD)
    assert (head_row.sex, head_row.birth_date) == ("1", date(1980, 1, 1))  # derived from the ID number
    entry = AuditEntry.objects.latest("id")
    assert entry.action == "household.apply" and len(entry.after["members"]) == 2
    second = make_applied(village=divisions[LIAN])
    assert int(second.registry_number[12:]) == int(household.registry_number[12:]) + 1


def test_bad_id_number_names_the_member_field(users, divisions):
    bad = member_data()
    bad["id_number"] = bad["id_number"][:17] + ("0" if bad["id_number"][17] != "0" else "1")
    error = refused_apply(users, divisions, [bad])
    assert error.fields == {"members.0.id_number": [str(ID_BAD_CHECK_DIGIT)]}


def test_sex_and_birth_must_agree_with_the_id_number(users, divisions):
    error = refused_apply(users, divisions, [member_data(sex="1", birth="19800101") | {"sex": "2"}])
    assert str(error) == str(errors.ID_SEX_MISMATCH % {"id_sex": "男", "sex": "女"})
    wrong_birth = member_data(birth="19800101") | {"birth_date": date(1980, 1, 2)}
    assert "members.0.birth_date" in refused_apply(users, divisions, [wrong_birth]).fields


def test_exactly_one_head(users, divisions):
    assert str(refused_apply(users, divisions, [member_data(relationship="son")])) == str(errors.HEAD_EXACTLY_ONE)
    two = [member_data(), member_data(name="又一户主")]
    assert str(refused_apply(users, divisions, two)) == str(errors.HEAD_EXACTLY_ONE)
    assert str(refused_apply(users, divisions, [])) == str(errors.HOUSEHOLD_NEEDS_MEMBERS)


def test_a_person_is_in_one_current_household_only(users, divisions):
    first = make_applied(village=divisions[LIAN])
    taken = first.members.first()
    again = member_data(name=taken.name) | {"id_number": taken.id_number}
    error = refused_apply(users, divisions, [again])
    assert error.status == 409
    assert str(error) == str(errors.ID_ALREADY_REGISTERED % {"name": taken.name, "household": first.registry_number})
    same_form = member_data()
    error = refused_apply(users, divisions, [same_form, same_form | {"relationship": "son"}])
    assert "members.1.id_number" in error.fields


def test_the_database_refuses_a_second_current_household_and_a_second_head(divisions):
    first = make_applied(village=divisions[LIAN])
    second = make_applied(village=divisions[LIAN])
    taken = first.members.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=second.members.exclude(relationship="head").first().pk).update(
            id_number=taken.id_number
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(household=second).update(relationship=Relationship.HEAD)


@pytest.mark.parametrize(
    ("field", "value"),
    [("cultivated_land_mu", -1), ("forest_land_mu", -0.5), ("housing_area", -10), ("road_distance_km", -1)],
)
def test_negative_areas_are_refused_by_service_and_database(users, divisions, field, value):
    refused_apply(users, divisions, [member_data()], household=household_data(**{field: Decimal(str(value))}))
    household = make_applied(village=divisions[LIAN])
    with pytest.raises(IntegrityError), transaction.atomic():
        Household.objects.filter(pk=household.pk).update(**{field: Decimal(str(value))})


def test_migrant_months_between_0_and_12(users, divisions):
    refused_apply(users, divisions, [member_data(migrant_work="out_of_province", migrant_months=13)])
    household = make_applied(village=divisions[LIAN])
    with pytest.raises(IntegrityError), transaction.atomic():
        household.members.update(migrant_months=13)


def test_other_causes_at_most_two_and_not_the_main(users, divisions):
    for causes in (["illness"], ["lack_land", "lack_water", "lack_skills"], ["lack_land", "lack_land"], ["bogus"]):
        error = refused_apply(users, divisions, [member_data()], household=household_data(other_causes=causes))
        assert str(error) == str(errors.OTHER_CAUSES_INVALID)


def test_group_must_belong_to_the_village(users, divisions):
    village_services.villager_group_create(actor=None, village=divisions[SHETIAN], number=1)
    group = divisions[SHETIAN].villager_groups.get()
    error = refused_apply(users, divisions, [member_data()], household=household_data(group=group))
    assert str(error) == str(errors.GROUP_NOT_IN_VILLAGE)


@pytest.mark.parametrize("username", ["auditor_hunan", "province_hunan", "prefecture_yongzhou", "api_hunan"])
def test_read_only_roles_cannot_register(users, divisions, username):
    assert str(refused_apply(users, divisions, [member_data()], username=username)) == str(PERMISSION_DENIED)


# Edits -----------------------------------------------------------------------------------


def test_update_audits_the_diff_and_bumps_the_version(users, divisions):
    household = make_applied(village=divisions[LIAN])
    updated = household_update(
        actor=users["team_lian"], household=household, changes={"housing_grade": "D"}, expected_version=1
    )
    assert updated.version == 2
    entry = AuditEntry.objects.latest("id")
    assert (entry.action, entry.before, entry.after) == (
        "household.update",
        {"housing_grade": ""},
        {"housing_grade": "D"},
    )


def test_stale_edit_is_refused(users, divisions):
    household = make_applied(village=divisions[LIAN])
    household_update(
        actor=users["team_lian"], household=household, changes={"phone": "13700000000"}, expected_version=1
    )
    with pytest.raises(ApplicationError) as info:
        household_update(
            actor=users["county_jianghua"], household=household, changes={"phone": "1"}, expected_version=1
        )
    assert info.value.status == 409
    assert str(info.value) == str(errors.VERSION_CONFLICT % {"current": 2, "expected": 1})
    assert Household.objects.get(pk=household.pk).phone == "13700000000"


def test_status_cannot_be_edited_directly(users, divisions):
    household = make_applied(village=divisions[LIAN])
    with pytest.raises(ApplicationError):
        household_update(actor=users["county_jianghua"], household=household, changes={"status": "registered"})
    assert Household.objects.get(pk=household.pk).status == "applied"


def test_member_update_rechecks_the_id_number(users, divisions):
    household = make_applied(village=divisions[LIAN])
    head = household.members.get(relationship="head")
    child = household.members.exclude(relationship="head").first()
    other = make_applied(village=divisions[LIAN]).members.get(relationship="head")
    with pytest.raises(ApplicationError) as info:
        member_update(actor=users["team_lian"], member=head, changes={"id_number": other.id_number})
    assert info.value.status == 409 and "id_number" in info.value.fields
    with pytest.raises(ApplicationError) as info:
        member_update(actor=users["team_lian"], member=child, changes={"id_number": other.id_number})
    assert "birth_date" in info.value.fields
    member_update(actor=users["team_lian"], member=child, changes={"student_status": "primary"})
    assert Member.objects.get(pk=child.pk).student_status == "primary"
    with pytest.raises(ApplicationError):
        member_update(actor=users["team_lian"], member=child, changes={"relationship": "head"})


def test_member_update_marks_the_household_updated(users, divisions):
    """Households nest their members, so a sync by updated_since must see a member's edit."""
    household = make_applied(village=divisions[LIAN])
    Household.objects.filter(pk=household.pk).update(updated_at=datetime(2019, 1, 1, tzinfo=timezone.utc))
    child = household.members.exclude(relationship="head").first()
    member_update(actor=users["team_lian"], member=child, changes={"student_status": "primary"})
    assert Household.objects.get(pk=household.pk).updated_at > datetime(2020, 1, 1, tzinfo=timezone.utc)


# Membership events -------------------------------------------------------------------------


def test_birth_adds_a_member_with_an_event(users, divisions):
    household = make_applied(village=divisions[LIAN])
    baby = member_data(name="新生儿", relationship="grandchild", birth="20240105", sex="2")
    member = member_add(
        actor=users["team_lian"],
        household=household,
        data=baby,
        kind=MemberEventKind.BIRTH,
        event_date=date(2024, 1, 5),
    )
    assert MemberEvent.objects.get(member=member).kind == "birth"
    assert AuditEntry.objects.latest("id").action == "member.birth"
    with pytest.raises(ApplicationError):
        member_add(
            actor=users["team_lian"],
            household=household,
            data=member_data(relationship="head"),
            kind=MemberEventKind.BIRTH,
            event_date=date(2024, 1, 5),
        )
    with pytest.raises(ApplicationError):
        member_add(
            actor=users["team_lian"], household=household, data=member_data(), kind="death", event_date=date.today()
        )


def test_death_of_the_head_needs_a_new_head(users, divisions):
    household = make_applied(village=divisions[LIAN])
    head = household.members.get(relationship="head")
    son = household.members.exclude(relationship="head").first()
    with pytest.raises(ApplicationError) as info:
        member_leave(actor=users["team_lian"], member=head, kind=MemberEventKind.DEATH, event_date=date(2024, 2, 1))
    assert "new_head" in info.value.fields
    assert Member.objects.get(pk=head.pk).status == MemberStatus.ACTIVE
    member_leave(
        actor=users["team_lian"], member=head, kind=MemberEventKind.DEATH, event_date=date(2024, 2, 1), new_head=son
    )
    head.refresh_from_db()
    son.refresh_from_db()
    assert (head.status, head.status_date, head.current) == ("deceased", date(2024, 2, 1), False)
    assert son.relationship == Relationship.HEAD


def test_last_member_cannot_leave(users, divisions):
    household = make_applied(village=divisions[LIAN], persons=1)
    with pytest.raises(ApplicationError) as info:
        member_leave(
            actor=users["team_lian"],
            member=household.members.get(),
            kind=MemberEventKind.MOVE_OUT,
            event_date=date.today(),
        )
    assert "自然减少" in str(info.value)


# Helpers --------------------------------------------------------------------------------------


def test_pair_helper_checks_area_and_poverty(users, divisions):
    household = make_household(village=divisions[LIAN], status="registered")
    helper = village_services.helper_create(
        actor=users["county_jianghua"], division=divisions["431129203000"], name="邓帮扶", unit="乡政府", phone="1"
    )
    household_pair_helper(actor=users["team_lian"], household=household, helper=helper)
    assert Household.objects.get(pk=household.pk).helper == helper
    assert AuditEntry.objects.latest("id").action == "household.pair_helper"

    far = village_services.helper_create(
        actor=users["county_shaoyang"], division=divisions[SHETIAN], name="远方", unit="县委", phone="2"
    )
    with pytest.raises(ApplicationError) as info:
        household_pair_helper(actor=users["county_jianghua"], household=household, helper=far)
    assert str(info.value) == str(errors.HELPER_OUT_OF_AREA % {"helper": "远方"})


def test_mask_id_keeps_only_the_ends():
    assert mask_id("43112919800101123X") == "4311**********123X"


def test_future_dates_and_unknown_event_kinds_are_refused(users, divisions):
    from datetime import timedelta

    from households.errors import DATE_IN_FUTURE

    tomorrow = date.today() + timedelta(days=1)
    with pytest.raises(ApplicationError) as info:
        make_applied(village=divisions[LIAN], on_date=tomorrow)
    assert str(info.value) == str(DATE_IN_FUTURE)
    household = make_applied(village=divisions[LIAN])
    son = household.members.exclude(relationship="head").first()
    with pytest.raises(ApplicationError) as info:
        member_leave(actor=users["team_lian"], member=son, kind=MemberEventKind.MOVE_OUT, event_date=tomorrow)
    assert info.value.fields == {"event_date": [str(DATE_IN_FUTURE)]}
    with pytest.raises(ApplicationError) as info:
        member_leave(actor=users["team_lian"], member=son, kind="abduction", event_date=date.today())
    assert "abduction" in str(info.value)


def test_new_head_is_saved_with_a_new_version_and_timestamp(users, divisions):
    household = make_applied(village=divisions[LIAN])
    head = household.members.get(relationship="head")
    son = household.members.exclude(relationship="head").first()
    member_leave(
        actor=users["team_lian"], member=head, kind=MemberEventKind.DEATH, event_date=date.today(), new_head=son
    )
    promoted = Member.objects.get(pk=son.pk)
    assert (promoted.relationship, promoted.version) == ("head", son.version + 1)
    assert promoted.updated_at > son.updated_at


def test_member_search_upgrades_fifteen_digit_numbers(users, divisions):
    from households.filtersets import members_with_id_number

    old = "431129800101151"
    upgraded = member_data() | {"id_number": old, "birth_date": None, "sex": ""}
    household = household_apply(
        actor=users["team_lian"], village=divisions[LIAN], household=household_data(), members=[upgraded]
    )
    found = members_with_id_number(Member.objects.all(), old)
    assert list(found) == [household.members.get()]
